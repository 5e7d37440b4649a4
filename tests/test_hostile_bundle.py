"""Hostile evidence bundles (docs/evidence.md, "Malformed input"): a corpus made by
mutating a real export, checked through both Python entry points, ``ledger
verify-bundle``'s (``ledger.evidence.verifier``, bytes in) and the bundled
``verify_bundle.py``'s (``ledger.evidence.standalone.main``, a file or folder, as a
script is run). Since decision 0017 both run the script's checks; the browser joins
them on the named corpus in tests/test_tamper_corpus.py.

For every input both give the same verdict, as exit codes: 0 verified, 1
verification failed, 2 not a bundle they can read, 3 consistent but not
authenticated (no trusted key). Neither raises anything else (a traceback fails
the test). And neither passes a mutated bundle whose signed
content changed: the entries, the disclosures, the key files the custody entry
covers, the checkpoint's signed body.

The corpus: named cases (the container, the manifest, the content), then
Hypothesis mutations of bytes, of members and of manifest fields (each 60
examples; LEDGER_HOSTILE_EXAMPLES sets more), then a few cases end to end through the CLI and the script as a
separate process.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import struct
import subprocess
import sys
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.cli import main
from ledger.config import Settings
from ledger.domain.vault import Vault
from ledger.evidence import export as evidence
from ledger.evidence import layout, standalone
from ledger.evidence.container import Limits, read_members
from ledger.evidence.report import VERIFY_SCRIPT
from ledger.evidence.verifier import BundleError, UnreadableBundle, verify_bundle
from ledger.log import entry_types
from ledger.log.merkle_verify import verify_consistency, verify_inclusion
from ledger.signing.keys import Signer, parse_vkey
from ledger.signing.note import sign
from tests import rfc9162_reference as ref
from tests.conftest import (
    BAOTOU,
    HOHHOT,
    ORIGIN,
    PERSON,
    REGIONAL,
    DomainLedger,
    FixedClock,
    bootstrap,
    make_keyring,
    open_store,
    register_programmes,
)

# LEDGER_HOSTILE_EXAMPLES=2000 for a deeper run by hand; the suite keeps 60.
HYPOTHESIS = settings(max_examples=int(os.environ.get("LEDGER_HOSTILE_EXAMPLES", "60")), deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class World:
    old: bytes  # a bundle of one subject
    new: bytes  # a later bundle of the same subject, with a consistency proof from old's size
    vkey: str  # the log's verifier key
    tmp: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return build_world(tmp_path_factory.mktemp("hostile"))


def build_world(tmp: Path) -> World:
    """Two real exports of one subject from a SQLite log begun in v1, continued in v2
    (also tests/tamper_corpus.py's starting point)."""
    with open_store("sqlite", tmp) as store:
        ring, clock = make_keyring(), FixedClock()
        bootstrap(store.engine, ring, clock, (HOHHOT, BAOTOU, REGIONAL))
        register_programmes(store.engine, ring, clock)
        d = DomainLedger(store, ring, clock)
        d.vault = Vault(bytes(range(32)))
        p = d.subject(PERSON, "张三")
        d.honor(p)
        d.grant(p)
        sanction = d.sanction(p)
        s = Settings(origin=ORIGIN, vkey_dir=tmp / "vkeys")
        old = evidence.export(d.engine, ring, d.vault, s, case="(2026)内01行初9号", requested_by="法院",
                              subjects=[p], seqs=[], clock=clock)
        d.record("sanction.amended", p, {"effective_until": "2028-12-31", "reason": "复核",
                                         "decision_date": "2026-08-01", "deciding_body": "人社局"}, refs=[sanction.seq])
        new = evidence.export(d.engine, ring, d.vault, s, case="(2026)内01行初9号", requested_by="法院",
                              subjects=[p], seqs=[], clock=clock, consistency_from=old.manifest["tree_size"])
    return World(old.data, new.data, ring.log.verifier.vkey(), tmp)


# --- the two verdicts --------------------------------------------------------------------

def ledger_verdict(w: World, data: bytes, *, trusted: bool = True, against: bytes | None = None) -> int:
    try:
        r = verify_bundle(data, parse_vkey(w.vkey) if trusted else None, against)
    except BundleError:
        return 1
    except UnreadableBundle:
        return 2
    return 0 if r.authenticated else 3  # 3: consistent, not authenticated (no trusted key)


def script_verdict(w: World, data: bytes, *, trusted: bool = True, against: bytes | None = None) -> int:
    """``python3 verify_bundle.py FILE [--log-vkey K] [--against OLD]``, in this process."""
    path = w.tmp / f"{uuid.uuid4().hex}.zip"
    path.write_bytes(data)
    args = [str(path), *(["--log-vkey", w.vkey] if trusted else [])]
    if against is not None:
        (older := w.tmp / f"{uuid.uuid4().hex}.zip").write_bytes(against)
        args += ["--against", str(older)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = standalone.main(args)
    path.unlink()
    assert out.getvalue().startswith({0: "OK:", 1: "FAIL:", 2: "UNREADABLE:", 3: "CONSISTENT, NOT AUTHENTICATED:"}[code]), \
        out.getvalue()
    return code


def verdicts(w: World, data: bytes, **kw) -> tuple[int, int]:
    return ledger_verdict(w, data, **kw), script_verdict(w, data, **kw)


# --- building mutants ------------------------------------------------------------------

def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def rezip(files: dict[str, bytes] | list[tuple[str, bytes]], *, rehash: bool = False,
          compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of these members (a list may repeat names); ``rehash``: the manifest's hashes
    are brought up to date, as a careful forger would."""
    items = list(files.items()) if isinstance(files, dict) else list(files)
    if rehash:
        items = _rehashed(items)
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", compression) as z:
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        for name, body in items:
            z.writestr(zipfile.ZipInfo(name, (2000, 1, 1, 0, 0, 0)), body, compress_type=compression)
    return buf.getvalue()


def _rehashed(items: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    try:
        m = json.loads(dict(items)["manifest.json"])
        m["files"] = {n: hashlib.sha256(b).hexdigest() for n, b in items if n != "manifest.json"}
    except (KeyError, ValueError, TypeError):
        return items
    return [(n, json.dumps(m, ensure_ascii=False).encode() if n == "manifest.json" else b) for n, b in items]


def with_manifest(data: bytes, edit, *, raw: bytes | None = None) -> bytes:
    files = members(data)
    if raw is not None:
        files["manifest.json"] = raw
    else:
        m = json.loads(files["manifest.json"])
        edit(m)
        files["manifest.json"] = json.dumps(m, ensure_ascii=False).encode()
    return rezip(files)


def patch_member(data: bytes, name: str, *, local: dict[int, bytes], central: dict[int, bytes]) -> bytes:
    """Overwrite bytes at offsets of ``name``'s local header and central-directory record."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
    lh = info.header_offset
    cd = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02"))  # first central record
    while data[cd + 46:cd + 46 + len(name.encode())] != name.encode():
        cd = data.index(b"PK\x01\x02", cd + 4)
    for offset, value in local.items():
        out[lh + offset:lh + offset + len(value)] = value
    for offset, value in central.items():
        out[cd + offset:cd + offset + len(value)] = value
    return bytes(out)


def signed_view(data: bytes, content: list[str]) -> dict[str, bytes]:
    """What a pass authenticates: entries, disclosures, the content files, the checkpoint's signed body."""
    files = members(data)
    view = {n: b for n, b in files.items() if n.startswith(("entries/", "subjects/")) or n in content}
    view["checkpoint body"] = files["checkpoint.txt"].rsplit(b"\n\n", 1)[0]
    return view


def assert_agree_and_sound(w: World, base: bytes, mutant: bytes, **kw) -> int:
    a, b = verdicts(w, mutant, **kw)
    assert a == b, f"ledger verify-bundle says {a}, verify_bundle.py says {b}"
    if a == 0:
        content = json.loads(members(base)["manifest.json"])["content"]
        assert signed_view(mutant, content) == signed_view(base, content), "a pass with changed signed content"
    return a


# --- the named corpus ------------------------------------------------------------------

def _entry_name(files: dict[str, bytes], kind: str) -> str:
    return next(n for n, b in sorted(files.items()) if n.startswith("entries/") and kind.encode() in b)


def container_cases(w: World) -> dict[str, bytes]:
    b = w.old
    files = members(b)
    big = rezip({**files, "report.html": files["report.html"]})
    return {
        "not a zip": b"hello, court",
        "empty file": b"",
        "a PDF, not a zip": b"%PDF-1.4\n" + bytes(200),
        "truncated to half": b[: len(b) // 2],
        "truncated by 10 bytes": b[:-10],
        "truncated to its first 100 bytes": b[:100],
        "path traversal ../": rezip({**files, "../evil.json": b"{}"}),
        "path traversal inside a folder": rezip({**files, "entries/../../evil.json": b"{}"}),
        "absolute path": rezip({**files, "/etc/cron.d/evil": b"x"}),
        "drive letter": rezip({**files, "C:/evil": b"x"}),
        "backslash": rezip({**files, "entries\\..\\evil": b"x"}),
        "empty segment": rezip({**files, "entries//1.json": b"x"}),
        "dot segment": rezip({**files, "./manifest.json": b"x"}),
        "control character": rezip({**files, "report\n.html": b"x"}),
        "duplicate manifest": rezip([*files.items(), ("manifest.json", files["manifest.json"])]),
        "duplicate entry, other bytes": rezip([*files.items(), (_entry_name(files, "sanction"), b"{}")]),
        "duplicate ignoring case": rezip({**files, "REPORT.HTML": files["report.html"]}),
        "declared size over the bound": patch_member(big, "report.html", local={22: struct.pack("<I", 2**31)},
                                                     central={24: struct.pack("<I", 2**31)}),
        "declared size smaller than the data": patch_member(big, "report.html", local={22: struct.pack("<I", 10)},
                                                            central={24: struct.pack("<I", 10)}),
        "encrypted flag": patch_member(big, "report.html", local={6: b"\x01\x00"}, central={8: b"\x01\x00"}),
        "bzip2 compression": rezip(files, compression=zipfile.ZIP_BZIP2),
        "symbolic link": _symlink(files),
        "no manifest": rezip({n: d for n, d in files.items() if n != "manifest.json"}),
    }


def _symlink(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in files.items():
            info = zipfile.ZipInfo(name, (2000, 1, 1, 0, 0, 0))
            if name == "report.html":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                body = b"/etc/passwd"
            z.writestr(info, body)
    return buf.getvalue()


def manifest_cases(w: World) -> dict[str, bytes]:
    b, m = w.old, json.loads(members(w.old)["manifest.json"])
    text = members(b)["manifest.json"].decode()

    def set_(key, value):
        return with_manifest(b, lambda m: m.__setitem__(key, value))

    return {
        "no log_key": with_manifest(b, lambda m: m.pop("log_key")),
        "no files": with_manifest(b, lambda m: m.pop("files")),
        "an extra member": set_("signed", True),
        "duplicate key": with_manifest(b, None, raw=("{" + '"case":"x",' + text.lstrip()[1:]).encode()),
        "tree_size as text": set_("tree_size", str(m["tree_size"])),
        "tree_size as a float": with_manifest(b, None, raw=text.replace(f'"tree_size": {m["tree_size"]}',
                                                                         f'"tree_size": {m["tree_size"]}.0').encode()),
        "custody_seq true": set_("custody_seq", True),
        "negative tree_size": set_("tree_size", -1),
        "NaN": with_manifest(b, None, raw=text.replace(f'"tree_size": {m["tree_size"]}', '"tree_size": NaN').encode()),
        "files as a list": set_("files", list(m["files"])),
        "a hash that is not hex": set_("files", {**m["files"], "report.html": "zz" * 32}),
        "a traversal name in files": set_("files", {**m["files"], "../x": "00" * 32}),
        "content names twice": set_("content", [*m["content"], m["content"][0]]),
        "content as text": set_("content", "entries/1.json"),
        "log_key with a space": set_("log_key", "test log"),
        "version 2": set_("version", 2),
        "another format": set_("format", "zip"),
        "a list, not an object": with_manifest(b, None, raw=b"[]"),
        "not UTF-8": with_manifest(b, None, raw=b"\xff\xfe{}"),
        "a byte-order mark": with_manifest(b, None, raw=b"\xef\xbb\xbf" + text.encode()),
        "nested 100000 deep": with_manifest(b, None, raw=b"[" * 100_000 + b"]" * 100_000),
        "huge integer": with_manifest(b, None, raw=text.replace(f'"tree_size": {m["tree_size"]}',
                                                                '"tree_size": ' + "9" * 5000).encode()),
    }


def content_cases(w: World) -> dict[str, bytes]:
    b = w.old
    files = members(b)
    m = json.loads(files["manifest.json"])
    sanction = _entry_name(files, "sanction.imposed")
    proof = "proofs/" + sanction.split("/")[1].replace(".json", ".tlog-proof")
    subject = next(n for n in files if n.startswith("subjects/"))
    disclosure = json.loads(files[subject])

    def edited(name, body, rehash=True):
        return rezip({**files, name: body}, rehash=rehash)

    def without(*names, rehash=True):
        return rezip({n: d for n, d in files.items() if n not in names}, rehash=rehash)

    def manifest(**changes):
        return with_manifest(b, lambda mm: mm.update(changes))

    return {
        "an entry's amount changed": edited(sanction, files[sanction].replace(b'"severity":"serious"',
                                                                               b'"severity":"minor"'), rehash=False),
        "an entry changed and re-hashed": edited(sanction, files[sanction].replace(b'"severity":"serious"',
                                                                                    b'"severity":"minor"')),
        "an entry that is not JSON": edited(sanction, b"{not json"),
        "an entry not canonical": edited(sanction, files[sanction] + b" "),
        # Both formats end in "v":1} or "v":2} (RFC 8785 sorts "v" last): the version as a fraction.
        "an entry with a float": edited(sanction, files[sanction][:-1] + b".0}"),
        "an entry with seq as text": edited(sanction, files[sanction].replace(b'"seq":', b'"seq":"', 1)),
        "a listed file missing": without(proof, rehash=False),
        "a proof removed and re-hashed": without(proof),
        "an entry removed, its proof left": without(sanction),
        "an extra unlisted file": rezip({**files, "entries/999.json": b"{}"}),
        "an extra listed entry name": rezip({**files, "entries/0999.json": b"{}"}, rehash=True),
        "checkpoint removed": without("checkpoint.txt"),
        "checkpoint not UTF-8": edited("checkpoint.txt", b"\xff" + files["checkpoint.txt"]),
        "checkpoint by another key": edited("checkpoint.txt", sign(
            files["checkpoint.txt"].decode().split("\n\n")[0] + "\n",
            Signer.from_seed("test-log", b"forger")).render().encode()),
        "log key file removed": without(f"keys/{m['log_key']}.vkey"),
        "log key file replaced": edited(f"keys/{m['log_key']}.vkey",
                                        (Signer.from_seed("test-log", b"x").verifier.vkey() + "\n").encode()),
        "a proof that is not a proof": edited(proof, b"hello"),
        "a proof not UTF-8": edited(proof, b"\xff\xfe"),
        "a disclosure with duplicate keys": edited(subject, b'{"ref":"a","ref":"b"}'),
        "a disclosure salt with spaces": edited(subject, json.dumps(
            {**disclosure, "salt": " ".join(disclosure["salt"][i:i + 2] for i in range(0, 32, 2))}).encode()),
        "a disclosure of another number": edited(subject, json.dumps({**disclosure, "id": "150102199001010027"}).encode()),
        "a disclosure id with a lone surrogate": edited(subject, json.dumps({**disclosure, "id": "\ud800"}).encode()),
        "manifest case changed": manifest(case="(2026)内01行初1号"),
        "manifest requester changed": manifest(requested_by="某人"),
        "manifest export time changed": manifest(exported_at="2020-01-01T00:00:00.000000Z"),
        "manifest content digest changed": manifest(content_sha256="00" * 32),
        "manifest tree size changed": manifest(tree_size=m["tree_size"] + 1),
        "manifest origin changed": manifest(origin="other.example/log"),
        "manifest custody seq changed": manifest(custody_seq=m["custody_seq"] - 1),
        "manifest custody seq beyond": manifest(custody_seq=10**9),
        "manifest content names a missing file": manifest(content=[*m["content"], "keys/ghost.vkey"]),
        "manifest content without a key": manifest(content=[c for c in m["content"] if not c.startswith("keys/")]),
    }


def passing_cases(w: World) -> dict[str, bytes]:
    """Mutations that change nothing signed: both verifiers pass them."""
    files = members(w.old)
    return {
        "the original": w.old,
        "stored, not deflated": rezip(files, compression=zipfile.ZIP_STORED),
        "members in reverse order": rezip(dict(reversed(list(files.items())))),
        "with folder entries": rezip({"entries/": b"", "proofs/": b"", **files}),
        "junk before the zip": b"MZ" + bytes(100) + w.old,
        "report edited and re-hashed (not authenticated)": rezip(
            {**files, "report.html": files["report.html"].replace("张三".encode(), "李四".encode())}, rehash=True),
    }


CASES = {"container": (container_cases, 2), "manifest": (manifest_cases, 2), "content": (content_cases, 1),
         "passing": (passing_cases, 0)}


@pytest.mark.parametrize("group", list(CASES))
def test_named_cases(world, group):
    """Every case of the group gets the group's verdict from both verifiers."""
    make, expected = CASES[group]
    got = {name: verdicts(world, data) for name, data in make(world).items()}
    wrong = {name: v for name, v in got.items() if v != (expected, expected)}
    assert not wrong, f"want {expected} from both; (ledger, script) got {wrong}"


def test_the_corpus_carries_both_formats(world):
    """The fixture's log is begun in v1 and continued in v2 (docs/contracts.md §2.7), so
    every mutation above is of a bundle holding both."""
    versions = {json.loads(b)["v"] for n, b in members(world.old).items() if n.startswith("entries/")}
    assert versions == {1, 2}, versions


def test_the_corpus_is_large_enough(world):
    sizes = {group: len(make(world)) for group, (make, _) in CASES.items()}
    assert sum(sizes.values()) >= 80, sizes


def test_a_later_bundle_against_an_earlier_one(world):
    w = world
    assert verdicts(w, w.new, against=w.old) == (0, 0)
    files = members(w.new)
    c = json.loads(files["consistency.json"])
    bad = {**files, "consistency.json": json.dumps({**c, "proof": ["00" * 32] + c["proof"][1:]}).encode()}
    assert verdicts(w, rezip(bad, rehash=True), against=w.old) == (1, 1)
    dup = {**files, "consistency.json": b'{"old_size":1,"old_size":2,"new_size":3,"proof":[]}'}
    assert verdicts(w, rezip(dup, rehash=True), against=w.old) == (1, 1)
    assert verdicts(w, w.new, against=b"not a zip") == (2, 2)
    assert verdicts(w, w.new, against=w.old[:-30]) == (2, 2)
    no_checkpoint = rezip({n: d for n, d in members(w.old).items() if n != "checkpoint.txt"})
    assert verdicts(w, w.new, against=no_checkpoint) == (1, 1)
    assert verdicts(w, w.old, against=w.new) == (1, 1)  # the older one does not extend the newer


def test_without_a_trusted_key_both_check_internal_consistency(world):
    w = world
    assert verdicts(w, w.old, trusted=False) == (3, 3)  # consistent, not authenticated: never a plain OK
    files = members(w.old)
    name = json.loads(files["manifest.json"])["log_key"]
    impostor = {**files, f"keys/{name}.vkey": (Signer.from_seed(name, b"impostor").verifier.vkey() + "\n").encode()}
    assert verdicts(w, rezip(impostor, rehash=True), trusted=False) == (1, 1)
    # A pinned key written with uppercase hex is the same key to both.
    prefix, kid, rest = w.vkey.split("+", 2)
    upper = World(w.old, w.new, f"{prefix}+{kid.upper()}+{rest}", w.tmp)
    assert verdicts(upper, w.old) == (0, 0)


def test_too_many_members_at_the_default_bound(world):
    files = members(world.old)
    extra = [(f"x/{i}", b"") for i in range(layout.MAX_MEMBERS + 1 - len(files))]
    assert verdicts(world, rezip([*files.items(), *extra], compression=zipfile.ZIP_STORED)) == (2, 2)


def test_the_decompressed_bound_holds_whatever_the_headers_say(world):
    """With a small bound: declared sizes over it are refused before reading."""
    files = members(world.old)
    with pytest.raises(UnreadableBundle, match="decompressed"):
        read_members(rezip({**files, "bomb": bytes(2_000_000)}), Limits(max_bytes=1_000_000))
    with pytest.raises(UnreadableBundle, match="members"):
        read_members(world.old, Limits(max_members=5))
    with pytest.raises(UnreadableBundle, match="a zip of at most"):
        read_members(world.old, Limits(max_zip_bytes=1000))


# --- Hypothesis: mutations of bytes, members and manifest fields -----------------------------

@HYPOTHESIS
@given(st.data())
def test_byte_mutations(world, data):
    b = bytearray(world.old)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        at = data.draw(st.integers(0, len(b) - 1), label="at")
        op = data.draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate"]), label="op")
        if op == "flip":
            b[at] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set":
            b[at] = data.draw(st.integers(0, 255))
        elif op == "delete":
            del b[at:at + data.draw(st.integers(1, 64))]
        elif op == "insert":
            b[at:at] = data.draw(st.binary(min_size=1, max_size=64))
        else:
            del b[at:]
        if not b:
            break
    assert_agree_and_sound(world, world.old, bytes(b), trusted=data.draw(st.booleans(), label="trusted"))


HOSTILE_NAMES = ["../x", "/abs", "entries/../m", "C:/x", "a\\b", "entries//1.json", "./x", "x\x00y",
                 "entries/1.json", "proofs/1.tlog-proof", "subjects/x.json", "keys/evil.vkey", "consistency.json",
                 "MANIFEST.JSON", "entries/01.json", "readme.txt"]


@HYPOTHESIS
@given(st.data())
def test_member_mutations(world, data):
    files = members(world.old)
    items = list(files.items())
    i = data.draw(st.integers(0, len(items) - 1), label="member")
    name, body = items[i]
    op = data.draw(st.sampled_from(["replace", "flip", "truncate", "append", "delete", "duplicate", "rename",
                                    "add"]), label="op")
    if op == "replace":
        items[i] = (name, data.draw(st.binary(max_size=200)))
    elif op == "flip" and body:
        at = data.draw(st.integers(0, len(body) - 1))
        items[i] = (name, body[:at] + bytes([body[at] ^ (1 << data.draw(st.integers(0, 7)))]) + body[at + 1:])
    elif op == "truncate":
        items[i] = (name, body[:data.draw(st.integers(0, max(0, len(body) - 1)))])
    elif op == "append":
        items[i] = (name, body + data.draw(st.binary(min_size=1, max_size=50)))
    elif op == "delete":
        del items[i]
    elif op == "duplicate":
        items.append((name, data.draw(st.sampled_from([body, b"{}"]))))
    elif op == "rename":
        items[i] = (data.draw(st.sampled_from(HOSTILE_NAMES) | st.text(min_size=1, max_size=20)), body)
    else:
        items.append((data.draw(st.sampled_from(HOSTILE_NAMES)), data.draw(st.binary(max_size=50))))
    try:
        mutant = rezip(items, rehash=data.draw(st.booleans(), label="rehash"))
    except (ValueError, UnicodeEncodeError):  # zipfile refuses to write some names (NUL, surrogates)
        return
    assert_agree_and_sound(world, world.old, mutant, trusted=data.draw(st.booleans(), label="trusted"))


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=3), max_leaves=6)


@HYPOTHESIS
@given(st.data())
def test_manifest_field_mutations(world, data):
    files = members(world.old)
    m = json.loads(files["manifest.json"])
    key = data.draw(st.sampled_from([*sorted(m), "extra"]), label="field")
    if data.draw(st.booleans(), label="delete") and key in m:
        del m[key]
    elif key == "files" and data.draw(st.booleans(), label="one file"):
        name = data.draw(st.sampled_from(sorted(m["files"])))
        m["files"][name] = data.draw(JSON_VALUES | st.just(hashlib.sha256(b"x").hexdigest()))
    else:
        m[key] = data.draw(JSON_VALUES, label="value")
    files["manifest.json"] = json.dumps(m, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert_agree_and_sound(world, world.old, rezip(files))


# --- the Merkle checks of the script against the ledger's -------------------------------------

@settings(max_examples=80, deadline=None)
@given(st.integers(1, 40), st.data())
def test_the_scripts_proof_checks_agree_with_the_ledgers(size, data):
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(size)]
    tree = [ref.HASH(b"\x00" + x) for x in leaves]
    root = ref.MTH(leaves)
    index = data.draw(st.integers(0, size))
    path = ref.PATH(index, leaves) if index < size else []
    if data.draw(st.booleans(), label="mutate"):
        path = data.draw(st.lists(st.sampled_from([*path, bytes(32), root]), max_size=len(path) + 1))
    leaf = tree[min(index, size - 1)]
    try:
        verify_inclusion(index, size, leaf, path, root)
        ledger_ok = True
    except Exception:  # noqa: BLE001 - any ProofError is a rejection
        ledger_ok = False
    assert (standalone.root_from(index, size, leaf, path) == root) is ledger_ok
    old = data.draw(st.integers(0, size))
    proof = ref.PROOF(old, leaves) if 0 < old < size else []
    if data.draw(st.booleans(), label="mutate consistency"):
        proof = data.draw(st.lists(st.sampled_from([*proof, bytes(32)]), max_size=len(proof) + 1))
    old_root = ref.MTH(leaves[:old])
    try:
        verify_consistency(old, size, old_root, root, proof)
        ledger_ok = True
    except Exception:  # noqa: BLE001
        ledger_ok = False
    assert standalone.consistent(old, size, old_root, root, proof) is ledger_ok


# --- end to end: the CLI, the bundled script as a process --------------------------------------

def test_the_bundled_script_is_the_standalone_module_and_imports_nothing_of_the_ledger(world):
    shipped = members(world.old)["verify_bundle.py"].decode()
    assert shipped == VERIFY_SCRIPT == Path(standalone.__file__).read_text(encoding="utf-8")
    assert "from ledger" not in shipped and "import ledger" not in shipped


def test_the_scripts_entry_types_are_the_ledgers():
    by = {n: entry_types.get(n).signed_by for n in entry_types.names()}
    assert standalone.LOG_SIGNED == {n for n, s in by.items() if s == "log"}
    assert standalone.AUTHORITY_SIGNED == {n for n, s in by.items() if s == "authority"}
    assert (standalone.MAX_MEMBERS, standalone.MAX_BYTES, standalone.MAX_ZIP_BYTES) == (
        layout.MAX_MEMBERS, layout.MAX_BUNDLE_BYTES, layout.MAX_ZIP_BYTES)
    assert (standalone.FORMAT, standalone.VERSION) == (layout.FORMAT, layout.VERSION)


@pytest.mark.parametrize(("case", "expected"), [("the original", 0), ("no log_key", 2), ("not a zip", 2),
                                                ("path traversal ../", 2), ("an entry changed and re-hashed", 1),
                                                ("manifest case changed", 1)])
def test_end_to_end_exit_codes(world, tmp_path, case, expected):
    everything = {k: v for make, _ in CASES.values() for k, v in make(world).items()}
    bundle = tmp_path / "case.zip"
    bundle.write_bytes(everything[case])
    (tmp_path / "log.vkey").write_text(world.vkey + "\n")
    cli = CliRunner().invoke(main, ["verify-bundle", str(bundle), "--trusted-vkey", str(tmp_path / "log.vkey")])
    assert cli.exit_code == expected, cli.output
    assert "Traceback" not in cli.output
    script = tmp_path / "verify_bundle.py"
    script.write_text(VERIFY_SCRIPT, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), str(bundle), "--log-vkey", str(tmp_path / "log.vkey")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == expected and "Traceback" not in run.stderr, run.stdout + run.stderr


def test_an_unzipped_folder_ignores_only_the_hand_checks_leftovers(world, tmp_path):
    for name, body in members(world.old).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(body)
    (tmp_path / "SHA256SUMS").write_text("left by VERIFY.md step 1\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert standalone.main([str(tmp_path), "--log-vkey", world.vkey]) == 0
    assert "Ignored (not in the bundle): SHA256SUMS" in out.getvalue()
    (tmp_path / "entries" / "999.json").write_text("{}")
    with contextlib.redirect_stdout(io.StringIO()):
        assert standalone.main([str(tmp_path), "--log-vkey", world.vkey]) == 1
    (tmp_path / "entries" / "999.json").unlink()
    (tmp_path / "keys" / "link.vkey").symlink_to("/etc/passwd")
    with contextlib.redirect_stdout(io.StringIO()):
        assert standalone.main([str(tmp_path), "--log-vkey", world.vkey]) == 2


# --- bundles built from scratch, signed by a forger's own keys -------------------------------
# Without a pinned key a bundle proves only its own consistency, so a forger controls
# every byte: entries of any shape, proven and signed. Both verifiers must still agree
# on each (and pass only what is consistent); this reaches the checks past the proofs.

FORGED_LOG = Signer.from_seed("forged-log", b"forged-log")
FORGED_AUTHORITY = Signer.from_seed("forged-a", b"forged-a")


def _entry(seq: int, type_: str, body: dict, signer: Signer, authority: str = "op") -> dict:
    return {"v": 1, "seq": seq, "prev": "0" * 64, "type": type_, "recorded_at": f"2026-01-01T00:00:0{seq}.000000Z",
            "authority": {"id": authority, "region": "150000"}, "actor": "a", "subject": None, "refs": [],
            "request_id": f"r{seq}", "body": body, "signer": signer.name}


def _encode(value) -> bytes:
    from ledger.log import canonical

    try:
        return canonical.encode(value)
    except Exception:  # noqa: BLE001 - a value RFC 8785 refuses: written plainly, as a forger would
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8",
                                                                                                  "surrogatepass")


def _signed(e: dict, signer: Signer) -> dict:
    import base64

    unsigned = {k: v for k, v in e.items() if k != "sig"}
    return {**e, "sig": base64.b64encode(signer.sign(_encode(unsigned))).decode()}


def forged_bundle(entries: list[dict], *, case: str = "case-1", custody_edit: tuple | None = None) -> bytes:
    """A bundle around ``entries`` (all but the custody entry, appended here), every
    entry proven against a checkpoint signed by FORGED_LOG."""
    import base64

    from ledger.evidence.layout import content_digest
    from ledger.log.tlog_proof import TlogProof

    files = {f"entries/{i}.json": _encode(e) for i, e in enumerate(entries)}
    files[f"keys/{FORGED_LOG.name}.vkey"] = (FORGED_LOG.verifier.vkey() + "\n").encode()
    content = sorted(files)
    digest = content_digest(files, content)
    n = len(entries)
    custody_body = {"case": case, "requested_by": "r", "seqs": list(range(n)), "subjects": [], "content_sha256": digest}
    if custody_edit is not None:
        custody_body[custody_edit[0]] = custody_edit[1]
    custody = _signed(_entry(n, "evidence.exported", custody_body, FORGED_LOG), FORGED_LOG)
    files[f"entries/{n}.json"] = _encode(custody)
    leaves = [files[f"entries/{i}.json"] for i in range(n + 1)]
    body = f"forged.example/log\n{n + 1}\n{base64.b64encode(ref.MTH(leaves)).decode()}\n"
    note = sign(body, FORGED_LOG).render()
    files["checkpoint.txt"] = note.encode()
    for i, leaf in enumerate(leaves):
        files[f"proofs/{i}.tlog-proof"] = TlogProof(i, tuple(ref.PATH(i, leaves)), note, leaf).render().encode()
    manifest = {"format": layout.FORMAT, "version": layout.VERSION, "case": case, "requested_by": "r",
                "exported_at": custody["recorded_at"], "origin": "forged.example/log", "tree_size": n + 1,
                "custody_seq": n, "log_key": FORGED_LOG.name, "content": content, "content_sha256": digest,
                "files": {p: hashlib.sha256(b).hexdigest() for p, b in sorted(files.items())}}
    files["manifest.json"] = json.dumps(manifest).encode()
    return rezip(files)


def forged_entries() -> list[dict]:
    log, a = FORGED_LOG, FORGED_AUTHORITY
    return [_signed(_entry(0, "log.initialized", {"log_key": log.verifier.vkey()}, log), log),
            _signed(_entry(1, "key.registered", {"vkey": a.verifier.vkey(), "authority_id": "A"}, log), log),
            _signed(_entry(2, "note.recorded", {"text": "t"}, a, authority="A"), a),
            _signed(_entry(3, "key.revoked", {"name": a.name}, log), log),
            _signed(_entry(4, "note.recorded", {"text": "after revocation"}, a, authority="A"), a)]


def test_a_forged_but_consistent_bundle_passes_both_only_without_a_pin(world):
    good = forged_bundle(forged_entries()[:3])
    assert verdicts(world, good, trusted=False) == (3, 3)  # consistent, not authenticated
    assert verdicts(world, good) == (1, 1)  # the pinned log key is not the forger's
    revoked = forged_bundle(forged_entries())  # entry 4 is signed after its key's revocation
    assert verdicts(world, revoked, trusted=False) == (1, 1)


ENVELOPE_FIELDS = ["v", "seq", "prev", "type", "recorded_at", "authority", "actor", "subject", "refs", "request_id",
                   "body", "signer", "sig", "extra"]


@HYPOTHESIS
@given(st.data())
def test_forged_entry_mutations(world, data):
    entries = forged_entries()[:data.draw(st.integers(2, 5), label="entries")]
    i = data.draw(st.integers(0, len(entries) - 1), label="entry")
    e = dict(entries[i])
    where = data.draw(st.sampled_from(["envelope", "body", "authority", "custody"]), label="where")
    value = data.draw(JSON_VALUES | st.sampled_from([FORGED_AUTHORITY.verifier.vkey(), FORGED_LOG.verifier.vkey(),
                                                     "forged-a", "forged-log", "A", "key.revoked", 1.5]), label="value")
    if where == "envelope":
        key = data.draw(st.sampled_from(ENVELOPE_FIELDS), label="field")
        if data.draw(st.booleans(), label="delete") and key in e:
            del e[key]
        else:
            e[key] = value
    elif where == "body":
        key = data.draw(st.sampled_from(["log_key", "vkey", "authority_id", "name", "text"]), label="field")
        e["body"] = {**e["body"], key: value}
    elif where == "authority":
        e["authority"] = {**e["authority"], data.draw(st.sampled_from(["id", "region", "x"])): value}
    custody_edit = None
    if where == "custody":
        field = data.draw(st.sampled_from(["case", "requested_by", "seqs", "subjects", "content_sha256"]))
        custody_edit = (field, data.draw(st.sampled_from([[0, 1], [0, 1, 2, 3, 4, 5], [], ["x"], [True], value])))
    if data.draw(st.booleans(), label="re-sign"):
        e = _signed(e, data.draw(st.sampled_from([FORGED_LOG, FORGED_AUTHORITY]), label="signer"))
    entries[i] = e
    try:
        bundle = forged_bundle(entries, custody_edit=custody_edit)
    except (TypeError, ValueError, KeyError, UnicodeEncodeError):  # the builder itself cannot write it
        return
    a, b = verdicts(world, bundle, trusted=False)
    assert a == b, f"ledger verify-bundle says {a}, verify_bundle.py says {b}"

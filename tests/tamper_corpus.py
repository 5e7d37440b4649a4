"""The shared tamper corpus (docs/evidence.md, "Verdicts"): every tampering kind the
bundle tests know, the two falsifications a court's route once passed, malformed
zips and manifests, each with the verdict all three verifiers must give.

A case is ``(bundle bytes, trusted, exit code, check)``: ``trusted`` says whether the
verifier is given the log key (else it may at best say "consistent, not
authenticated", exit 3); ``check`` is the name of the failing check
(``ledger.evidence.standalone.CHECKS``), or None when the bundle passes.

Built from ``tests/test_hostile_bundle.py``'s real export (``World``): a SQLite log
begun in v1 and continued in v2, real Ed25519 keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from ledger.signing.keys import Signer
from tests import test_hostile_bundle as hb


@dataclass(frozen=True)
class Case:
    data: bytes
    exit_code: int
    check: str | None  # the failing check's name; None when it passes (exit 0 or 3)
    trusted: bool = True


def _sanction(files: dict[str, bytes]) -> str:
    return hb._entry_name(files, "sanction.imposed")


def falsifications(w: hb.World) -> dict[str, Case]:
    """What a careful forger does: change what the log vouches for, and re-hash or edit the
    unsigned manifest to match. Only the custody entry (log-signed, in the tree) catches it."""
    files = hb.members(w.old)
    m = json.loads(files["manifest.json"])
    subject = next(n for n in files if n.startswith("subjects/"))
    disclosure = json.loads(files[subject])
    renamed = {**files, subject: json.dumps({**disclosure, "name": "某某科技有限公司"}, ensure_ascii=False).encode()}

    sanction = _sanction(files)
    proof = sanction.replace("entries/", "proofs/").replace(".json", ".tlog-proof")
    kept = {n: b for n, b in files.items() if n not in (sanction, proof)}
    edited = dict(m)
    edited["content"] = [c for c in m["content"] if c != sanction]
    edited["files"] = {n: hashlib.sha256(b).hexdigest() for n, b in kept.items() if n != "manifest.json"}
    kept["manifest.json"] = json.dumps(edited, ensure_ascii=False).encode()

    one_byte = {**files, sanction: files[sanction].replace(b'"serious"', b'"Serious"')}
    # The audit path's first hash flipped in one bit (its base64 line rewritten).
    lines = files[proof].decode().split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("index ")) + 1
    lines[at] = base64.b64encode(bytes([base64.b64decode(lines[at])[0] ^ 1]) + base64.b64decode(lines[at])[1:]).decode()
    path_changed = {**files, proof: "\n".join(lines).encode()}
    authority_key = next(n for n in files if n.startswith("keys/") and n != f"keys/{m['log_key']}.vkey")
    swapped = {**files, authority_key: (Signer.from_seed(authority_key[5:-5], b"swap").verifier.vkey() + "\n").encode()}
    custody = f"entries/{m['custody_seq']}.json"
    no_custody = {n: b for n, b in files.items() if n not in (custody, custody.replace("entries/", "proofs/")
                                                                 .replace(".json", ".tlog-proof"))}
    return {
        "an audit path hash changed, re-hashed": Case(hb.rezip(path_changed, rehash=True), 1, "inclusion"),
        "an authority's key file swapped, re-hashed": Case(hb.rezip(swapped, rehash=True), 1, "custody"),
        "the custody entry and its proof removed, re-hashed": Case(hb.rezip(no_custody, rehash=True), 1, "custody"),
        "a disclosed name changed, manifest re-hashed": Case(hb.rezip(renamed, rehash=True), 1, "custody"),
        "a sanction entry and its proof removed, manifest edited": Case(hb.rezip(kept), 1, "custody"),
        "one entry byte changed, manifest re-hashed": Case(hb.rezip(one_byte, rehash=True), 1, "entry"),
    }


def without_a_key(w: hb.World) -> dict[str, Case]:
    files = hb.members(w.old)
    name = json.loads(files["manifest.json"])["log_key"]
    impostor = {**files, f"keys/{name}.vkey": (Signer.from_seed(name, b"impostor").verifier.vkey() + "\n").encode()}
    return {
        "no trusted key: consistent, not authenticated": Case(w.old, 3, None, trusted=False),
        # The impostor key is consistent with the manifest, not with the checkpoint's signature.
        "no trusted key: another log key, re-hashed": Case(hb.rezip(impostor, rehash=True), 1, "checkpoint_signature",
                                                           trusted=False),
        "no trusted key: not a zip": Case(b"PK\x03\x04 not really", 2, "zip", trusted=False),
    }


# The check that must catch each content case of tests/test_hostile_bundle.py (its group
# fixes only the exit code). Container cases are all "zip" (but a zip without a manifest),
# manifest cases all "manifest_format", passing cases none.
CONTENT_CHECKS = {
    "an entry's amount changed": "manifest",  # not re-hashed: the manifest's SHA-256 differs first
    "an entry changed and re-hashed": "entry",  # the proof's extra line holds the logged bytes
    "an entry that is not JSON": "entry",
    "an entry not canonical": "entry",
    "an entry with a float": "entry",
    "an entry with seq as text": "entry",
    "a listed file missing": "manifest",
    "a proof removed and re-hashed": "inclusion",
    "an entry removed, its proof left": "manifest",  # the content the custody entry covers names it
    "an extra unlisted file": "manifest",
    "an extra listed entry name": "entry",
    "checkpoint removed": "checkpoint_format",
    "checkpoint not UTF-8": "checkpoint_format",
    "checkpoint by another key": "checkpoint_signature",
    "log key file removed": "manifest",
    "log key file replaced": "key",
    "a proof that is not a proof": "proof_format",
    "a proof not UTF-8": "proof_format",
    "a disclosure with duplicate keys": "disclosure",
    "a disclosure salt with spaces": "disclosure",
    "a disclosure of another number": "disclosure",
    "a disclosure id with a lone surrogate": "disclosure",
    "manifest case changed": "custody",
    "manifest requester changed": "custody",
    "manifest export time changed": "custody",
    "manifest content digest changed": "custody",
    "manifest tree size changed": "checkpoint_origin",
    "manifest origin changed": "checkpoint_origin",
    "manifest custody seq changed": "custody",
    "manifest custody seq beyond": "custody",
    "manifest content names a missing file": "manifest",
    "manifest content without a key": "custody",
}


def _check_of(group: str, name: str) -> str | None:
    if group == "container":
        return "manifest_format" if name == "no manifest" else "zip"
    if group == "passing":
        return None
    return "manifest_format" if group == "manifest" else CONTENT_CHECKS[name]


def encodings(w: hb.World) -> dict[str, Case]:
    """Where Python and JavaScript could read the same bytes differently: member-name
    encodings and what counts as white space in a key name."""
    files = hb.members(w.old)
    cp437 = hb.rezip({**files, "zz_ascii_a": b"x"}).replace(b"zz_ascii_a", b"zz_ascii_\xe9")  # no UTF-8 flag

    def log_key(name: str) -> bytes:
        return hb.with_manifest(w.old, lambda m: m.__setitem__("log_key", name))

    return {
        "encoding: a member name neither ASCII nor flagged UTF-8": Case(cp437, 2, "zip"),
        "encoding: a flagged UTF-8 member name, listed": Case(hb.rezip({**files, "附件.txt": b"x"}, rehash=True), 0, None),
        "encoding: log_key with an information separator": Case(log_key("test\x1clog"), 2, "manifest_format"),
        "encoding: log_key with a byte-order mark": Case(log_key("\ufefftest-log"), 2, "manifest_format"),
        "encoding: log_key with a next-line character": Case(log_key("test\x85log"), 2, "manifest_format"),
    }


def corpus(w: hb.World) -> dict[str, Case]:
    """Every case by name, with the verdict all three verifiers must give."""
    out: dict[str, Case] = {}
    for group, (make, code) in hb.CASES.items():
        for name, data in make(w).items():
            out[f"{group}: {name}"] = Case(data, code, _check_of(group, name))
    for make in (falsifications, without_a_key, encodings):
        out.update(make(w))
    return out

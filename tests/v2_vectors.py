"""Entry format v2 test vectors (docs/contracts.md §2.7), built from the spec alone.

Scope: a tiny builder of v1 and v2 logs, their signed checkpoint and evidence
bundles around them, and the named vectors (an honest log and its mutations)
written to ``tests/data/v2_vectors.json``. The three readers that must not
share the ledger's code are tested on exactly these bytes:
``tests/independent_verifier.py`` (the whole log), ``verify_bundle.py``
(``ledger/evidence/standalone.py``) and the console's browser verifier (a
bundle around each log). Non-scope: the ledger's own writer; nothing here
imports ``ledger``.

How the bytes are made (second implementations, not the ledger's):

- RFC 8785 by the ``rfc8785`` package; Ed25519 by ``cryptography``, keys
  derived from fixed seeds (SHA-256 of a label), so the file is reproducible
  byte for byte (Ed25519 signing is deterministic);
- statements signed over ``b"integrity-ledger/statement/v2\\n" + RFC8785(statement)``;
  v1 entries over RFC8785(entry without ``sig``) (§2.1);
- Merkle tree, audit paths and leaf hashes by ``tests/rfc9162_reference.py``;
- checkpoints as C2SP tlog-checkpoint + signed-note (key ID =
  SHA-256(name || 0x0A || 0x01 || key)[:4]), proofs as c2sp.org/tlog-proof@v1.

Each vector is a whole log that ends with a log-signed ``evidence.exported``
entry (so the same bytes also make a bundle) and a checkpoint over it.
``want`` is ``accept`` or ``reject``; each rejected vector changes one thing
of the honest log (entries after the changed one are re-chained, so ``prev``
is never the reason unless it is the change).

Regenerate: ``python -m tests.v2_vectors`` (tests/test_v2_readers.py checks the
checked-in file equals a regeneration).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests import rfc9162_reference as ref

PATH = Path(__file__).resolve().parent / "data" / "v2_vectors.json"
PREFIX = b"integrity-ledger/statement/v2\n"  # §2.7: signed bytes = PREFIX || RFC8785(statement)
SKEW = timedelta(minutes=5)  # signed_at may be at most this much later than recorded_at
ORIGIN = "v2-vectors.example/log"
GENESIS_PREV = "0" * 64
EM_DASH = "\u2014"
OPERATOR = {"id": "ledger-operator", "region": "150000"}
AUTH_A = {"id": "auth-a", "region": "150100"}
AUTH_B = {"id": "auth-b", "region": "150200"}
SUBJECT = hashlib.sha256(b"v2-vectors subject").hexdigest()
T0 = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)


# --- keys ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    name: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> bytes:
        # c2sp.org/signed-note: key ID = SHA-256(name || 0x0A || 0x01 || key)[:4]
        return hashlib.sha256(self.name.encode() + b"\n\x01" + self.public).digest()[:4]

    @property
    def vkey(self) -> str:
        material = b"\x01" + self.public  # signature type 0x01 (Ed25519) || key
        return f"{self.name}+{self.key_id.hex()}+{b64(material)}"

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def key(name: str) -> Key:
    seed = hashlib.sha256(b"integrity-ledger v2 vectors: " + name.encode()).digest()
    return Key(name, Ed25519PrivateKey.from_private_bytes(seed))


LOG, A, A2, B, X = key("v2vec-log"), key("v2vec-a"), key("v2vec-a2"), key("v2vec-b"), key("v2vec-x")
KEY_FILES = (LOG, A, A2, B)  # keys/<name>.vkey in every bundle (X is never registered)


# --- encodings ----------------------------------------------------------------------

def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def jcs(value: Any) -> bytes:
    return rfc8785.dumps(value)


def stamp(moment: datetime) -> str:
    """RFC 3339 UTC with six fractional digits (§2.1 recorded_at)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()  # RFC 9162 §2.1.1


def signed_bytes(statement: dict) -> bytes:
    return PREFIX + jcs(statement)


# --- items: what a log holds, before chaining -------------------------------------------

def v1(type_: str, authority: dict, signer: Key, body: dict, recorded: datetime, *, subject: str | None = None,
       refs: tuple[int, ...] = (), request_id: str | None = None) -> dict:
    """A v1 entry to be (§2.1): signed at assembly, once ``seq`` and ``prev`` are known."""
    return {"v": 1, "type": type_, "authority": dict(authority), "actor": "vectors", "subject": subject,
            "refs": list(refs), "request_id": request_id or f"{type_}:{recorded.isoformat()}", "body": body,
            "recorded_at": stamp(recorded), "signer": signer}


def v2(type_: str, authority: dict, signer: Key, body: dict, recorded: datetime, *, subject: str | None = None,
       refs: tuple[int, ...] = (), request_id: str | None = None, signed: datetime | None = None) -> dict:
    """A v2 entry to be (§2.7): a statement signed by ``signer``, recorded at ``recorded``."""
    statement = {"v": 2, "type": type_, "authority": dict(authority), "actor": "vectors", "subject": subject,
                 "refs": list(refs), "request_id": request_id or f"{type_}:{recorded.isoformat()}", "body": body,
                 "signed_at": stamp(signed or recorded - timedelta(seconds=30)), "key": signer.name}
    return {"v": 2, "statement": statement, "signer": signer, "recorded_at": stamp(recorded)}


def assemble(items: list[dict], *, edit: dict[int, Callable[[dict], None]] | None = None,
             raw: dict[int, Callable[[bytes], bytes]] | None = None) -> list[bytes]:
    """Chain and sign ``items`` into canonical entries. ``edit[seq]`` changes that
    entry's object after it is signed; ``raw[seq]`` its bytes. Later entries chain
    to whatever the earlier bytes are."""
    out: list[bytes] = []
    prev = GENESIS_PREV
    for seq, item in enumerate(items):
        if item["v"] == 1:
            e = {k: v for k, v in item.items() if k not in ("signer", "sign_with", "sig_over")}
            e.update(seq=seq, prev=prev, signer=item["signer"].name)
            e["sig"] = b64((item.get("sign_with") or item["signer"]).sign(jcs(e)))
        else:
            over = item.get("sig_over", signed_bytes)
            message = over(item.get("signed_statement", item["statement"]))
            sig = b64((item.get("sign_with") or item["signer"]).sign(message))
            e = {"v": 2, "seq": seq, "prev": prev, "recorded_at": item["recorded_at"],
                 "statement": copy.deepcopy(item["statement"]), "sig": sig}
        if edit and seq in edit:
            edit[seq](e)
        data = jcs(e)
        if raw and seq in raw:
            data = raw[seq](data)
        out.append(data)
        prev = leaf_hash(data).hex()
    return out


# --- the honest logs --------------------------------------------------------------------

def _note(authority: dict, signer: Key, minute: float, text: str, version: int = 2, **kw) -> dict:
    return (v2 if version == 2 else v1)("note.recorded", authority, signer, {"text": text}, at(minute), **kw)


def mixed_log() -> list[dict]:
    """v1 entries (seq 0-3) then v2 (seq 4-10): keys registered under v1 stay valid
    under v2, keys registered and revoked by v2 statements, both authorities."""
    return [
        v1("log.initialized", OPERATOR, LOG, {"origin": ORIGIN, "log_key": LOG.vkey}, at(0)),
        v1("authority.registered", OPERATOR, LOG, {"authority_id": AUTH_A["id"], "name": "甲机关",
                                                   "region": AUTH_A["region"]}, at(1)),
        v1("key.registered", OPERATOR, LOG, {"vkey": A.vkey, "authority_id": AUTH_A["id"], "purpose": "records"}, at(2)),
        _note(AUTH_A, A, 3, "v1 note by A", version=1, subject=SUBJECT),
        v2("key.registered", OPERATOR, LOG, {"vkey": A2.vkey, "authority_id": AUTH_A["id"], "purpose": "records"},
           at(4)),
        _note(AUTH_A, A, 5, "v2 statement by A (key registered in v1)", subject=SUBJECT, refs=(3,)),
        v2("authority.registered", OPERATOR, LOG, {"authority_id": AUTH_B["id"], "name": "乙机关",
                                                   "region": AUTH_B["region"]}, at(6)),
        v2("key.registered", OPERATOR, LOG, {"vkey": B.vkey, "authority_id": AUTH_B["id"], "purpose": "records"}, at(7)),
        v2("key.revoked", OPERATOR, LOG, {"name": A.name, "reason": "rotated to v2vec-a2"}, at(8), refs=(2,)),
        _note(AUTH_A, A2, 9, "v2 statement by A2", subject=SUBJECT, refs=(5,)),
        v2("note.recorded", AUTH_B, B, {"text": "草原 \u2028 \"quoted\" \\ é 😀",
                                        "category": "utf-16 order", "\U0001f600": 1, "\ufb33": 2, "\ue000": 3,
                                        "n": [0, -1, 2**53 - 1, None, True, {"": ""}]}, at(10)),
    ]


def genesis_v2_log() -> list[dict]:
    """A log written in v2 from its first entry."""
    return [
        v2("log.initialized", OPERATOR, LOG, {"origin": ORIGIN, "log_key": LOG.vkey}, at(0)),
        v2("key.registered", OPERATOR, LOG, {"vkey": A.vkey, "authority_id": AUTH_A["id"]}, at(1)),
        _note(AUTH_A, A, 2, "first authority statement", subject=SUBJECT),
    ]


# --- closing a log: the custody entry, the checkpoint, a bundle -----------------------------

CASE, REQUESTED_BY = "(2026)v2-vectors", "vectors"
CUSTODY_AT = at(60)


def key_files() -> dict[str, bytes]:
    return {f"keys/{k.name}.vkey": (k.vkey + "\n").encode() for k in KEY_FILES}


def content_digest(files: dict[str, bytes]) -> str:
    """docs/evidence.md: SHA-256 of RFC 8785 {path: sha256 hex} over the content files."""
    return hashlib.sha256(jcs({p: hashlib.sha256(b).hexdigest() for p, b in sorted(files.items())})).hexdigest()


def close(items: list[dict], entries: list[bytes], version: int) -> list[bytes]:
    """Append the log-signed ``evidence.exported`` entry (format ``version``) recording
    a bundle of every entry and the key files."""
    content = {f"entries/{i}.json": e for i, e in enumerate(entries)} | key_files()
    body = {"case": CASE, "requested_by": REQUESTED_BY, "seqs": list(range(len(entries))), "subjects": [],
            "content_sha256": content_digest(content)}
    custody = (v2 if version == 2 else v1)("evidence.exported", OPERATOR, LOG, body, CUSTODY_AT,
                                           request_id=f"{CASE}:{body['content_sha256']}")
    return entries + assemble([*items, custody], raw={i: (lambda _, d=d: d) for i, d in enumerate(entries)})[-1:]


def checkpoint(entries: list[bytes]) -> str:
    """c2sp.org/tlog-checkpoint over the tree of ``entries``, signed by LOG (c2sp.org/signed-note)."""
    body = f"{ORIGIN}\n{len(entries)}\n{b64(ref.MTH(entries))}\n"
    return f"{body}\n{EM_DASH} {LOG.name} {b64(LOG.key_id + LOG.sign(body.encode()))}\n"


def tlog_proof(entries: list[bytes], index: int, note: str) -> str:
    lines = ["c2sp.org/tlog-proof@v1", f"extra {b64(entries[index])}", f"index {index}",
             *(b64(h) for h in ref.PATH(index, entries))]
    return "\n".join(lines) + "\n\n" + note


def bundle_files(vector: dict) -> dict[str, bytes]:
    """The files of an evidence bundle (docs/evidence.md) around a vector's log."""
    entries = list(vector["entries"])
    note = vector["checkpoint"]
    custody = len(entries) - 1
    files = {f"entries/{i}.json": e for i, e in enumerate(entries)} | key_files()
    content = sorted(n for n in files if n != f"entries/{custody}.json")
    files["checkpoint.txt"] = note.encode()
    for i in range(len(entries)):
        files[f"proofs/{i}.tlog-proof"] = tlog_proof(entries, i, note).encode()
    manifest = {"format": "integrity-ledger/evidence-bundle", "version": 1, "case": CASE,
                "requested_by": REQUESTED_BY, "exported_at": stamp(CUSTODY_AT), "origin": ORIGIN,
                "tree_size": len(entries), "custody_seq": custody, "log_key": LOG.name, "content": content,
                "content_sha256": content_digest({p: files[p] for p in content}),
                "files": {p: hashlib.sha256(b).hexdigest() for p, b in sorted(files.items())}}
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    return files


def bundle_zip(vector: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(bundle_files(vector).items()):
            z.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


# --- the vectors ----------------------------------------------------------------------------

def vector(name: str, want: str, why: str, items: list[dict], **assemble_kw) -> dict:
    entries = assemble(items, **assemble_kw)
    last_version = json.loads(entries[-1])["v"] if entries else 2
    entries = close(items, entries, 2 if last_version != 1 else 1)
    try:
        texts = [e.decode("utf-8") for e in entries]
    except UnicodeDecodeError as err:  # the file stores text: every vector must be UTF-8
        raise ValueError(f"vector {name}: entries must be UTF-8") from err
    return {"name": name, "want": want, "why": why, "log": texts, "checkpoint": checkpoint(entries)}


AUTH_SEQ, LOG_SEQ, LATE_SEQ = 5, 4, 9  # a v2 authority statement, a v2 log statement, one after the revocation
STATEMENT_FIELDS = ("v", "type", "authority", "actor", "subject", "refs", "request_id", "body", "signed_at", "key")
ENTRY_FIELDS = ("v", "seq", "prev", "recorded_at", "statement", "sig")


def _with(seq: int, change: Callable[[dict], None], base: Callable[[], list[dict]] = mixed_log) -> list[dict]:
    items = base()
    change(items[seq])
    return items


def _resigned(field: str, value: Any) -> Callable[[dict], None]:
    """Change a statement member; its authority signs the changed statement."""
    def change(item: dict) -> None:
        if value is _MISSING:
            del item["statement"][field]
        else:
            item["statement"][field] = value
    return change


def _changed_after_signing(path: tuple[str, ...], value: Any) -> Callable[[dict], None]:
    """Change a statement member after the authority signed the original."""
    def change(item: dict) -> None:
        item["signed_statement"] = copy.deepcopy(item["statement"])
        target = item["statement"]
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
    return change


def _entry_set(field: str, value: Any) -> Callable[[dict], None]:
    def change(e: dict) -> None:
        if value is _MISSING:
            del e[field]
        else:
            e[field] = value
    return change


_MISSING = object()
OTHER_SUBJECT = hashlib.sha256(b"another subject").hexdigest()


def _signed_by(k: Key, *, name: str | None = None) -> Callable[[dict], None]:
    def change(item: dict) -> None:
        item["statement"]["key"] = name or k.name
        item["signer"] = k
    return change


def _flip_sig(e: dict) -> None:
    raw = bytearray(base64.b64decode(e["sig"]))
    raw[10] ^= 0x01
    e["sig"] = b64(bytes(raw))


def _v1_form(item: dict) -> None:
    """The same content as a v1 entry signed by the same key (v1 after v2)."""
    s = item.pop("statement")
    item.update(v=1, type=s["type"], authority=s["authority"], actor=s["actor"], subject=s["subject"],
                refs=s["refs"], request_id=s["request_id"], body=s["body"])


def vectors() -> list[dict]:
    out: list[dict] = []
    acc, rej = "accept", "reject"

    def add(name: str, want: str, why: str, items: list[dict] | None = None, **kw) -> None:
        out.append(vector(name, want, why, items if items is not None else mixed_log(), **kw))

    # --- accepted -------------------------------------------------------------------------
    add("mixed-v1-then-v2", acc, "v1 entries, then v2 statements by authority and log keys")
    add("v1-only", acc, "format 1 throughout (the custody entry too)", mixed_log()[:4])
    add("v2-from-genesis", acc, "a log written in v2 from seq 0", genesis_v2_log())
    late_recorded = datetime.fromisoformat(mixed_log()[LATE_SEQ]["recorded_at"])
    add("signed_at-at-the-skew-bound", acc, "signed_at = recorded_at + skew exactly",
        _with(LATE_SEQ, _resigned("signed_at", stamp(late_recorded + SKEW))))
    add("signed_at-a-day-before", acc, "signed long before it was recorded (no lower bound)",
        _with(LATE_SEQ, _resigned("signed_at", stamp(late_recorded - timedelta(days=1)))))
    add("recorded_at-equal-to-previous", acc, "recorded_at is non-decreasing, not increasing",
        _with(AUTH_SEQ, lambda i: i.update(recorded_at=mixed_log()[AUTH_SEQ - 1]["recorded_at"])))

    # --- the entry's own members --------------------------------------------------------------
    s = AUTH_SEQ
    for field, value, why in [
        ("v", 1, "v 1 with a v2 body"), ("v", 3, "an unknown version"), ("v", "2", "v as text"),
        ("seq", s + 1, "seq is not the leaf index"), ("seq", -1, "negative seq"),
        ("prev", "0" * 64, "prev is not the previous leaf hash"),
        ("prev", None, "prev null"),
        ("recorded_at", "2026-02-01T08:05:00Z", "recorded_at without microseconds"),
        ("recorded_at", "2026-02-01T16:05:00.000000+08:00", "recorded_at not in UTC"),
        ("recorded_at", stamp(at(3.5)), "recorded_at before the previous entry's"),
        ("sig", "AAAA", "a signature of 3 bytes"), ("sig", "not base64!", "sig not base64"),
        ("statement", "{}", "statement as text"),
        ("signer", A.name, "a v1 member added (signer)"), ("type", "note.recorded", "a v1 member added (type)"),
    ]:
        add(f"entry-{field}-{value!s:.24}", rej, why, edit={s: _entry_set(field, value)})
    for field in ENTRY_FIELDS:
        add(f"entry-without-{field}", rej, f"{field} missing from the entry", edit={s: _entry_set(field, _MISSING)})
    add("entry-prev-one-digit-changed", rej, "prev differs from the previous leaf hash in one digit",
        edit={s: lambda e: e.update(prev=e["prev"][:-1] + ("0" if e["prev"][-1] != "0" else "1"))})
    add("entry-prev-uppercase", rej, "prev in uppercase hex", edit={s: lambda e: e.update(prev=e["prev"].upper())})
    add("entry-not-canonical-space", rej, "a space after a colon",
        raw={s: lambda d: d.replace(b'"v":2', b'"v": 2', 1)})
    add("entry-not-canonical-order", rej, "members not in RFC 8785 order",
        raw={s: lambda d: json.dumps(dict(reversed(json.loads(d).items())), ensure_ascii=False,
                                     separators=(",", ":")).encode()})
    add("entry-not-canonical-escape", rej, "a character escaped that RFC 8785 writes raw",
        raw={s: lambda d: d.replace(b'"prev":', b'"\\u0070rev":', 1)})
    add("entry-float-version", rej, "v written as 2.0", raw={s: lambda d: d.replace(b'"v":2}', b'"v":2.0}')})
    add("entry-duplicate-member", rej, "a duplicated member",
        raw={s: lambda d: d.replace(b'{"prev"', b'{"prev":"x","prev"', 1)})

    # --- the signature ----------------------------------------------------------------------
    add("sig-one-bit-flipped", rej, "the signature with one bit changed", edit={s: _flip_sig})
    add("sig-by-another-key", rej, "signed by an unregistered key, naming A's",
        _with(s, lambda i: i.update(sign_with=X)))
    add("sig-by-the-log-key", rej, "an authority statement signed by the log key, naming A's",
        _with(s, lambda i: i.update(sign_with=LOG)))
    add("sig-without-prefix", rej, "Ed25519 over RFC8785(statement) alone",
        _with(s, lambda i: i.update(sig_over=jcs)))
    add("sig-wrong-prefix", rej, "prefix integrity-ledger/statement/v1",
        _with(s, lambda i: i.update(sig_over=lambda st: b"integrity-ledger/statement/v1\n" + jcs(st))))
    add("sig-prefix-without-newline", rej, "prefix without its final newline",
        _with(s, lambda i: i.update(sig_over=lambda st: PREFIX[:-1] + jcs(st))))
    add("sig-over-non-canonical-statement", rej, "prefix then json.dumps with spaces",
        _with(s, lambda i: i.update(sig_over=lambda st: PREFIX + json.dumps(st, sort_keys=True).encode())))
    add("sig-over-the-entry-v1-style", rej, "over the entry without sig, as v1 signs",
        edit={s: lambda e: e.update(sig=b64(A.sign(jcs({k: v for k, v in e.items() if k != "sig"}))))})

    # --- every statement member changed after signing ---------------------------------------------
    for path, value in [(("v",), 3), (("type",), "sanction.imposed"), (("authority", "id"), AUTH_B["id"]),
                        (("authority", "region"), "150200"), (("actor",), "someone else"),
                        (("subject",), OTHER_SUBJECT), (("subject",), None), (("refs",), [3, 4]), (("refs",), []),
                        (("request_id",), "another request"), (("body", "text"), "another text"),
                        (("signed_at",), stamp(at(4.9))), (("key",), A2.name)]:
        shown = json.dumps(value, ensure_ascii=False)[:16]
        add(f"statement-{'.'.join(path)}-changed-to-{shown}", rej, f"statement {'.'.join(path)} changed after signing",
            _with(s, _changed_after_signing(path, value)))

    # --- statement shape, signed by the right key -----------------------------------------------
    for field in STATEMENT_FIELDS:
        add(f"statement-without-{field}", rej, f"statement without {field}, signed",
            _with(s, _resigned(field, _MISSING)))
    for field, value, why in [
        ("seq", s, "an extra member (seq)"), ("v", 1, "statement v 1"), ("v", "2", "statement v as text"),
        ("authority", {"id": AUTH_A["id"]}, "authority without region"),
        ("authority", {**AUTH_A, "name": "x"}, "authority with an extra member"),
        ("authority", AUTH_A["id"], "authority as text"),
        ("actor", None, "actor null"), ("subject", 7, "subject a number"), ("refs", [s], "refs naming its own seq"),
        ("refs", [s + 3], "refs beyond the head"), ("refs", [-1], "a negative ref"), ("refs", ["3"], "a ref as text"),
        ("refs", 3, "refs not a list"), ("request_id", 5, "request_id a number"), ("body", [1], "body a list"),
        ("type", "no.such.type", "an unknown type"),
        ("signed_at", "2026-02-01 08:04:30Z", "signed_at with a space"),
        ("signed_at", "2026-02-01T16:04:30.000000+08:00", "signed_at not in UTC"),
        ("signed_at", "yesterday", "signed_at not a time"),
    ]:
        add(f"statement-{field}-{json.dumps(value, ensure_ascii=False):.24}", rej, why,
            _with(s, _resigned(field, value)))
    add("signed_at-beyond-skew", rej, "signed_at = recorded_at + skew + 1 µs",
        _with(LATE_SEQ, _resigned("signed_at", stamp(late_recorded + SKEW + timedelta(microseconds=1)))))
    add("signed_at-an-hour-late", rej, "signed_at an hour after recorded_at",
        _with(LATE_SEQ, _resigned("signed_at", stamp(late_recorded + timedelta(hours=1)))))

    # --- which key may sign ---------------------------------------------------------------------
    add("key-revoked", rej, "A signs at seq 9, after its key.revoked at seq 8", _with(LATE_SEQ, _signed_by(A)))
    add("key-unregistered", rej, "a key never registered", _with(s, _signed_by(X)))
    add("key-of-another-authority", rej, "B's key signs for authority A", _with(LATE_SEQ, _signed_by(B)))
    add("key-before-its-registration", rej, "B (registered at seq 7) signs at seq 5 for B",
        _with(s, lambda i: (_signed_by(B)(i), i["statement"].update(authority=dict(AUTH_B)))))
    add("key-the-log-key-for-an-authority", rej, "an authority statement signed by the log key",
        _with(s, _signed_by(LOG)))
    add("key-named-for-another-key", rej, "key names A2 but A signed", _with(LATE_SEQ, lambda i: i.update(
        sign_with=A) or i["statement"].update(key=A2.name)))
    add("log-statement-by-an-authority-key", rej, "key.registered signed by A", _with(LOG_SEQ, _signed_by(A)))
    add("log-statement-for-another-authority", rej, "key.registered by the log key for authority A",
        _with(LOG_SEQ, lambda i: i["statement"].update(authority=dict(AUTH_A))))
    add("key-registered-twice", rej, "a v2 key.registered of a name already registered",
        _with(LOG_SEQ, lambda i: i["statement"]["body"].update(vkey=A.vkey)))
    add("key-revoked-unknown", rej, "a v2 key.revoked of a key never registered",
        _with(8, lambda i: i["statement"]["body"].update(name=X.name)))

    # --- versions in order ------------------------------------------------------------------------
    add("v1-after-v2-at-the-end", rej, "a v1 entry after v2 entries (v1 after v2 is never allowed)",
        [*mixed_log(), _note(AUTH_A, A2, 11, "v1 after v2", version=1)])
    add("v1-after-v2-in-the-middle", rej, "seq 9 written as v1 between v2 entries", _with(LATE_SEQ, _v1_form))
    return out


# --- seeded random mutants (not in the file): the readers must agree on each ---------------------

def _pool() -> list[Any]:
    return [None, True, 0, -1, 3, 5, 11, 2**53 - 1, "", "x", "150100", A.name, A2.name, B.name, LOG.name, X.name,
            AUTH_A["id"], AUTH_B["id"], OPERATOR["id"], "note.recorded", "key.registered", "key.revoked",
            "log.initialized", "evidence.exported", [], [2], [3], [5], [9], {}, dict(AUTH_A), dict(OPERATOR),
            stamp(at(3)), stamp(at(9)), stamp(at(14.5)), stamp(at(60)), A.vkey, X.vkey, {"text": "t"}]


def random_mutant(rng) -> dict:
    """One change to one v2 entry of the honest mixed log: a member of the entry,
    the statement, its authority or body set to a value from a small pool (or
    removed), signed again by one of the keys or left with the old signature."""
    items = mixed_log()
    seq = rng.randrange(4, len(items))
    item, pool = items[seq], _pool()
    where = rng.choice(["statement", "statement", "authority", "body", "entry"])
    value = rng.choice(pool)
    remove = rng.random() < 0.15
    edit: dict[int, Callable[[dict], None]] = {}
    resign = rng.choice([None, item["signer"], item["signer"], A, A2, B, LOG, X])
    if resign is None:
        item["signed_statement"] = copy.deepcopy(item["statement"])
    else:
        item["signer"] = resign
    if where == "entry":
        member = rng.choice(ENTRY_FIELDS)
        edit[seq] = _entry_set(member, _MISSING if remove else value)
        label = f"entry.{member}"
    else:
        target = {"statement": item["statement"], "authority": item["statement"]["authority"],
                  "body": item["statement"]["body"]}[where]
        member = rng.choice({"statement": STATEMENT_FIELDS, "authority": ("id", "region"),
                             "body": ("vkey", "authority_id", "name", "text", "log_key")}[where])
        if remove:
            target.pop(member, None)
        else:
            target[member] = value
        label = f"{where}.{member}"
    what = f"{label} {'removed' if remove else json.dumps(value, ensure_ascii=False)[:30]}"
    signer = "old signature" if resign is None else f"signed by {resign.name}"
    v = vector(f"seq {seq}: {what}, {signer}", "?", "random", items, edit=edit)
    v["entries"] = [t.encode("utf-8") for t in v.pop("log")]
    return v


def document() -> dict:
    """The file: each vector's ``log`` lists its entries by leaf hash (hex); ``entries``
    maps each leaf hash to the entry's exact text (its canonical bytes, UTF-8)."""
    found = vectors()
    pool: dict[str, str] = {}
    for v in found:
        hashes = [leaf_hash(t.encode("utf-8")).hex() for t in v["log"]]
        pool.update(zip(hashes, v["log"], strict=True))
        v["log"] = hashes
    return {
        "about": "Entry format v2 vectors (docs/contracts.md 2.7), generated by tests/v2_vectors.py from the spec "
                 "alone (rfc8785, cryptography Ed25519, tests/rfc9162_reference.py); checked by "
                 "tests/independent_verifier.py, ledger/evidence/standalone.py and the console's browser verifier.",
        "origin": ORIGIN, "log_vkey": LOG.vkey, "skew_seconds": int(SKEW.total_seconds()),
        "signed_bytes_prefix": PREFIX.decode(), "keys": {k.name: k.vkey for k in (LOG, A, A2, B, X)},
        "vectors": found, "entries": dict(sorted(pool.items())),
    }


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=1) + "\n"


def load() -> dict:
    """The checked-in file, each vector's ``entries`` resolved to bytes."""
    doc = json.loads(PATH.read_text(encoding="utf-8"))
    for v in doc["vectors"]:
        v["entries"] = [doc["entries"][h].encode("utf-8") for h in v["log"]]
    return doc


if __name__ == "__main__":
    PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {PATH}")

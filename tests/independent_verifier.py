"""A second, independent verifier for the ledger's public formats.

Written from the specifications alone, importing nothing from ``ledger``:

- c2sp.org/signed-note (notes, signature lines, key IDs, verifier keys);
- c2sp.org/tlog-checkpoint (checkpoint bodies);
- c2sp.org/tlog-cosignature (``cosignature/v1``, signature type 0x04);
- c2sp.org/tlog-proof (``c2sp.org/tlog-proof@v1`` files);
- RFC 9162 §2.1.3.2 (verifying an inclusion proof);
- docs/formats.md §4 / decision 0003 (``extra`` carries the entry's bytes);
- docs/contracts.md §2.1 and §2.7 (entries, format v1 and v2, and a whole log:
  :func:`verify_log`), with RFC 8785 from the ``rfc8785`` package.

Every check raises ``ValueError`` with a reason; nothing is silently repaired.
The module also has a small signer (:func:`sign_note`, :func:`cosign_note`)
so tests can go the other way: notes made here, verified by the ledger.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "TYPE_ED25519", "TYPE_COSIGNATURE_V1", "EM_DASH",
    "b64", "unb64", "compute_key_id", "format_vkey", "parse_vkey",
    "split_note", "verify_note", "parse_checkpoint",
    "leaf_hash", "node_hash", "verify_inclusion", "parse_tlog_proof", "verify_tlog_proof",
    "public_bytes", "sign_note", "cosign_note",
    "STATEMENT_PREFIX", "DEFAULT_SKEW", "LOG_SIGNED", "AUTHORITY_SIGNED",
    "parse_canonical", "LogReport", "verify_log", "verify_log_checkpoint",
]

TYPE_ED25519 = 0x01        # signed-note: Ed25519 over the note text
TYPE_COSIGNATURE_V1 = 0x04  # tlog-cosignature: timestamped Ed25519 over "cosignature/v1\ntime N\n" + text
EM_DASH = "\u2014"
MAX_SIGNATURES = 64          # signed-note: MUST accept at least 16
PROOF_HEADER = "c2sp.org/tlog-proof@v1"
HASH_LEN = 32


# --- encodings -----------------------------------------------------------------

def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 §4), padded, with nothing outside the alphabet and
    canonical padding bits: the text must be exactly what re-encoding gives back."""
    if not text:
        raise ValueError(f"{what}: empty base64")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as e:  # binascii.Error is a ValueError
        raise ValueError(f"{what}: not base64: {e}") from e
    if b64(raw) != text:
        raise ValueError(f"{what}: non-canonical base64")
    return raw


def _decimal(text: str, what: str) -> int:
    """ASCII decimal, no sign, no leading zeroes except for "0"."""
    if not text or any(c not in "0123456789" for c in text):
        raise ValueError(f"{what}: {text!r} is not an ASCII decimal")
    if len(text) > 1 and text[0] == "0":
        raise ValueError(f"{what}: {text!r} has a leading zero")
    value = int(text)
    if value >= 1 << 64:
        raise ValueError(f"{what}: {text!r} does not fit in 64 bits")
    return value


# --- keys ------------------------------------------------------------------------

def _valid_name(name: str) -> bool:
    # signed-note: non-empty, no Unicode spaces, no '+'.
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def compute_key_id(name: str, sig_type: int, public: bytes) -> bytes:
    """signed-note: SHA-256(name || 0x0A || type || public key)[:4]."""
    h = hashlib.sha256()
    h.update(name.encode("utf-8"))
    h.update(b"\x0a")
    h.update(bytes([sig_type]))
    h.update(public)
    return h.digest()[:4]


def format_vkey(name: str, public: bytes, sig_type: int = TYPE_ED25519) -> str:
    if not _valid_name(name):
        raise ValueError(f"key name {name!r} is not allowed")
    return "+".join([name, compute_key_id(name, sig_type, public).hex(), b64(bytes([sig_type]) + public)])


def parse_vkey(text: str) -> tuple[str, bytes, int, bytes]:
    """``name+hex(key ID)+base64(type || key)`` -> (name, key ID, type, 32-byte public key).

    Only the first two '+' separate fields: base64 itself may contain '+'.
    """
    first = text.find("+")
    second = text.find("+", first + 1) if first >= 0 else -1
    if first < 0 or second < 0:
        raise ValueError("vkey: want name+keyid+key")
    name, id_hex, key_b64 = text[:first], text[first + 1:second], text[second + 1:]
    if not _valid_name(name):
        raise ValueError(f"vkey: bad key name {name!r}")
    if len(id_hex) != 8 or any(c not in "0123456789abcdefABCDEF" for c in id_hex):
        raise ValueError(f"vkey: key ID {id_hex!r} is not 8 hex digits")
    material = unb64(key_b64, "vkey key")
    if len(material) != 1 + 32:
        raise ValueError(f"vkey: key material is {len(material)} bytes, want 33")
    sig_type, public = material[0], material[1:]
    if sig_type not in (TYPE_ED25519, TYPE_COSIGNATURE_V1):
        raise ValueError(f"vkey: unsupported signature type 0x{sig_type:02x}")
    key_id = bytes.fromhex(id_hex)
    if compute_key_id(name, sig_type, public) != key_id:
        raise ValueError("vkey: key ID does not match name, type and key")
    return name, key_id, sig_type, public


# --- signed notes ------------------------------------------------------------------

def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """A signed note -> (text with its final newline, [(key name, decoded signature)])."""
    if not isinstance(note, str):
        raise ValueError("note: want str")
    for c in note:
        if c < " " and c != "\n":
            raise ValueError(f"note: control character U+{ord(c):04X}")
    if not note.endswith("\n"):
        raise ValueError("note: does not end in a newline")
    # The text is separated from the signatures by the *last* empty line.
    cut = note.rfind("\n\n")
    if cut < 0:
        raise ValueError("note: no blank line before the signatures")
    text, block = note[:cut + 1], note[cut + 2:]
    sig_lines = block.split("\n")[:-1]  # block ends with "\n": drop the trailing ""
    if not sig_lines:
        raise ValueError("note: no signature lines")
    if len(sig_lines) > MAX_SIGNATURES:
        raise ValueError(f"note: more than {MAX_SIGNATURES} signatures")
    sigs = []
    prefix = EM_DASH + " "
    for line in sig_lines:
        if not line.startswith(prefix):
            raise ValueError(f"note: signature line {line!r} does not start with em dash and space")
        rest = line[len(prefix):]
        name, space, sig_b64 = rest.partition(" ")
        if not space or " " in sig_b64:
            raise ValueError(f"note: signature line {line!r}: want exactly name, space, signature")
        if not _valid_name(name):
            raise ValueError(f"note: bad key name {name!r} in signature line")
        raw = unb64(sig_b64, "signature")
        if len(raw) < 5:
            raise ValueError("note: signature shorter than key ID plus one byte")
        sigs.append((name, raw))
    return text, sigs


def _as_key(k) -> tuple[str, bytes, int, bytes]:
    return parse_vkey(k) if isinstance(k, str) else tuple(k)


def _check_one(key: tuple[str, bytes, int, bytes], text: str, sig: bytes) -> None:
    name, _, sig_type, public = key
    body = sig[4:]
    pub = Ed25519PublicKey.from_public_bytes(public)
    if sig_type == TYPE_ED25519:
        if len(body) != 64:
            raise ValueError(f"signature by {name}: {len(body)} bytes, want 64")
        message = text.encode("utf-8")
        signature = body
    elif sig_type == TYPE_COSIGNATURE_V1:
        # struct { u64 timestamp; opaque ed25519_signature[64]; }
        if len(body) != 8 + 64:
            raise ValueError(f"cosignature by {name}: {len(body)} bytes, want 72")
        timestamp = int.from_bytes(body[:8], "big")
        if timestamp > (1 << 63) - 1:
            raise ValueError(f"cosignature by {name}: timestamp out of range")
        message = b"cosignature/v1\n" + b"time " + str(timestamp).encode() + b"\n" + text.encode("utf-8")
        signature = body[8:]
    else:  # parse_vkey refuses other types already
        raise ValueError(f"key {name}: unsupported type 0x{sig_type:02x}")
    try:
        pub.verify(signature, message)
    except InvalidSignature as e:
        raise ValueError(f"signature by known key {name} does not verify") from e


def verify_note(note: str, vkeys) -> list[str]:
    """Verify ``note`` against the known keys ``vkeys`` (vkey strings or parsed tuples).

    Signatures from unknown keys (name or key ID differ) are ignored; a known
    key's signature that fails rejects the whole note; at least one known key
    must have verified. Returns the names of the known keys that verified, in
    the order their lines appear.
    """
    known = {}
    for k in vkeys:
        key = _as_key(k)
        known[(key[0], key[1])] = key
    text, sigs = split_note(note)
    verified: list[str] = []
    for name, sig in sigs:
        key = known.get((name, sig[:4]))
        if key is None:
            continue
        _check_one(key, text, sig)
        if name not in verified:
            verified.append(name)
    if not verified:
        raise ValueError("note: no signature from a known key")
    return verified


# --- checkpoints --------------------------------------------------------------------

def parse_checkpoint(body: str) -> tuple[str, int, bytes]:
    """A tlog-checkpoint body (the note text) -> (origin, size, root hash).

    Extension lines after the root are allowed (opaque, non-empty) and not returned.
    """
    if not body.endswith("\n"):
        raise ValueError("checkpoint: body does not end in a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise ValueError("checkpoint: want at least origin, size and root lines")
    origin, size_line, root_line, *extensions = lines
    if not origin:
        raise ValueError("checkpoint: empty origin")
    size = _decimal(size_line, "checkpoint size")
    root = unb64(root_line, "checkpoint root")
    if len(root) != HASH_LEN:
        raise ValueError(f"checkpoint: root is {len(root)} bytes, want {HASH_LEN}")
    for ext in extensions:
        if not ext:
            raise ValueError("checkpoint: empty extension line")
    return origin, size, root


# --- Merkle inclusion (RFC 9162 §2.1) -------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, proof, root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, step for step. True iff the path leads from ``leaf`` to ``root``."""
    if not (0 <= index < size):
        return False
    if len(leaf) != HASH_LEN or len(root) != HASH_LEN or any(len(p) != HASH_LEN for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- tlog-proof -------------------------------------------------------------------------

def parse_tlog_proof(text: str) -> tuple[bytes | None, int, list[bytes], str]:
    """-> (extra or None, index, inclusion path, checkpoint note verbatim)."""
    head, sep, checkpoint_note = text.partition("\n\n")
    if not sep:
        raise ValueError("tlog-proof: no blank line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != PROOF_HEADER:
        raise ValueError(f"tlog-proof: first line must be {PROOF_HEADER!r}")
    pos = 1
    extra = None
    if pos < len(lines) and lines[pos].startswith("extra "):
        extra = unb64(lines[pos][len("extra "):], "tlog-proof extra")
        pos += 1
    if pos >= len(lines) or not lines[pos].startswith("index "):
        raise ValueError("tlog-proof: missing index line")
    index = _decimal(lines[pos][len("index "):], "tlog-proof index")
    path = []
    for line in lines[pos + 1:]:
        h = unb64(line, "tlog-proof hash")
        if len(h) != HASH_LEN:
            raise ValueError(f"tlog-proof: proof hash is {len(h)} bytes")
        path.append(h)
    return extra, index, path, checkpoint_note


def verify_tlog_proof(text: str, log_vkey, entry_bytes: bytes | None = None, *,
                      witness_vkeys=(), origin: str | None = None) -> tuple[int, int]:
    """Verify a c2sp.org/tlog-proof@v1 file; return (index, checkpoint size).

    The leaf is ``entry_bytes`` if given, else the ``extra`` data (the ledger puts
    the entry's canonical bytes there); if both are present they must be equal.
    The checkpoint must carry a valid signature by ``log_vkey``; any listed
    witness whose line appears must verify too.
    """
    extra, index, path, checkpoint_note = parse_tlog_proof(text)
    log_key = _as_key(log_vkey)
    witnesses = [_as_key(w) for w in witness_vkeys]
    # The log key alone must vouch for the checkpoint; then every listed
    # witness line present must verify too (verify_note raises on a bad one).
    verify_note(checkpoint_note, [log_key])
    if witnesses:
        verify_note(checkpoint_note, [log_key, *witnesses])
    cp_text, _ = split_note(checkpoint_note)
    cp_origin, size, root = parse_checkpoint(cp_text)
    if origin is not None and cp_origin != origin:
        raise ValueError(f"tlog-proof: origin {cp_origin!r}, want {origin!r}")
    if entry_bytes is not None and extra is not None and entry_bytes != extra:
        raise ValueError("tlog-proof: the entry given differs from the proof's extra data")
    data = entry_bytes if entry_bytes is not None else extra
    if data is None:
        raise ValueError("tlog-proof: no entry bytes (no extra line and none given)")
    if index >= size:
        raise ValueError(f"tlog-proof: index {index} not below checkpoint size {size}")
    if not verify_inclusion(index, size, leaf_hash(data), path, root):
        raise ValueError("tlog-proof: inclusion proof does not lead to the checkpoint root")
    return index, size


# --- signing (the other direction: notes made here, checked by the ledger) -----------------

def public_bytes(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign_note(text: str, name: str, private: Ed25519PrivateKey) -> str:
    """A signed note with one Ed25519 (type 0x01) signature."""
    if not text.endswith("\n"):
        raise ValueError("note text must end in a newline")
    kid = compute_key_id(name, TYPE_ED25519, public_bytes(private))
    sig = private.sign(text.encode("utf-8"))
    return f"{text}\n{EM_DASH} {name} {b64(kid + sig)}\n"


def cosign_note(note: str, name: str, private: Ed25519PrivateKey, timestamp: int) -> str:
    """Append a cosignature/v1 (type 0x04) line to a signed checkpoint note."""
    text, _ = split_note(note)
    kid = compute_key_id(name, TYPE_COSIGNATURE_V1, public_bytes(private))
    message = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text.encode("utf-8")
    sig = private.sign(message)
    return f"{note}{EM_DASH} {name} {b64(kid + timestamp.to_bytes(8, 'big') + sig)}\n"


# --- entries and whole logs (docs/contracts.md §2.1 v1, §2.7 v2) ---------------------------

STATEMENT_PREFIX = b"integrity-ledger/statement/v2\n"  # §2.7: signed bytes = prefix || RFC 8785(statement)
# §2.7: "signed_at later than recorded_at plus a small documented skew" is refused. The
# default here is 5 minutes; pass ``skew`` to verify_log for another documented value.
DEFAULT_SKEW = timedelta(minutes=5)
MAX_SAFE = 2**53 - 1  # RFC 8785 §3.2.2.3 / I-JSON: integers beyond are not exact
GENESIS = "0" * 64
# docs/entry-types.md, "Signed by": the log's own records, and the authorities' records.
LOG_SIGNED = frozenset({"authority.registered", "evidence.exported", "key.registered", "key.revoked",
                        "log.initialized", "reconciliation.completed", "subject.erased", "token.issued",
                        "token.revoked"})
AUTHORITY_SIGNED = frozenset({"clawback.ordered", "clawback.recovered", "clawback.waived", "eligibility.checked",
                              "entry.corrected", "exemption.granted", "honor.granted", "honor.revoked",
                              "note.recorded", "programme.registered", "sanction.amended", "sanction.ended",
                              "sanction.imposed", "subject.linked", "subsidy.granted"})
V1_FIELDS = frozenset({"v", "seq", "prev", "type", "recorded_at", "authority", "actor", "subject", "refs",
                       "request_id", "body", "signer", "sig"})
V2_FIELDS = frozenset({"v", "seq", "prev", "recorded_at", "statement", "sig"})
STATEMENT_FIELDS = frozenset({"v", "type", "authority", "actor", "subject", "refs", "request_id", "body",
                              "signed_at", "key"})
_RECORDED_AT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z")  # §2.1: UTC, microseconds
_SIGNED_AT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")  # §2.7: RFC 3339 UTC
_HEX64 = re.compile(r"[0-9a-f]{64}")


def parse_canonical(data: bytes):
    """The JSON value of ``data`` if the bytes are exactly its RFC 8785 form: UTF-8,
    no duplicate members, no fractions or exponents, integers within ±(2^53-1)."""
    def unique(pairs):
        names = [k for k, _ in pairs]
        if len(set(names)) != len(names):
            raise ValueError("duplicate member")
        return dict(pairs)

    def integer(token: str) -> int:
        if len(token) > 17 or abs(int(token)) > MAX_SAFE:
            raise ValueError(f"integer {token[:20]} outside ±(2^53-1)")
        return int(token)

    def not_integer(token: str):
        raise ValueError(f"number {token} is not an integer")

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=unique, parse_int=integer,
                           parse_float=not_integer, parse_constant=not_integer)
        again = rfc8785.dumps(value)
    except (ValueError, RecursionError, rfc8785.CanonicalizationError) as e:  # UnicodeDecodeError is a ValueError
        raise ValueError(f"not RFC 8785 JSON: {e}") from e
    if again != data:
        raise ValueError("bytes are not the RFC 8785 form of their value")
    return value


def _nanoseconds(text, pattern: re.Pattern, what: str) -> int:
    """An RFC 3339 UTC time as integer nanoseconds since the epoch (exact: no float)."""
    m = pattern.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"{what} {str(text)[:40]!r} is not RFC 3339 UTC ({pattern.pattern})")
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        moment = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=UTC)
    except ValueError as e:
        raise ValueError(f"{what} {text!r}: {e}") from e
    seconds = int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    return seconds * 10**9 + int((frac or "").ljust(9, "0"))


@dataclass(frozen=True)
class LogReport:
    size: int
    root: bytes  # RFC 9162 MTH of the entries
    versions: dict[int, int]  # format version -> number of entries


@dataclass
class _Key:
    key: tuple[str, bytes, int, bytes]  # parse_vkey
    authority: str
    registered: int
    revoked: int | None = None

    def valid_at(self, seq: int) -> bool:
        # A key signs strictly after its key.registered and strictly before its key.revoked.
        return self.registered < seq and (self.revoked is None or seq < self.revoked)


@dataclass
class _State:
    trusted: tuple[str, bytes, int, bytes] | None
    skew_ns: int
    prev: str = GENESIS
    recorded_ns: int = -1
    seen_v2: bool = False
    log_key: tuple[str, bytes, int, bytes] | None = None
    operator: str | None = None  # the authority of the log's own records (seq 0's)
    keys: dict[str, _Key] = field(default_factory=dict)
    leaves: list[bytes] = field(default_factory=list)
    versions: dict[int, int] = field(default_factory=dict)


def _common(obj: dict, seq: int) -> None:
    """Members v1 entries and v2 statements share (§2.1), by type."""
    a = obj["authority"]
    if not (isinstance(a, dict) and set(a) == {"id", "region"} and all(isinstance(a[k], str) for k in a)):
        raise ValueError("authority must be {id, region}, both text")
    for k in ("type", "actor", "request_id"):
        if not isinstance(obj[k], str):
            raise ValueError(f"{k} must be text")
    if not (obj["subject"] is None or isinstance(obj["subject"], str)):
        raise ValueError("subject must be text or null")
    if not isinstance(obj["body"], dict):
        raise ValueError("body must be an object")
    refs = obj["refs"]
    if not isinstance(refs, list) or not all(type(r) is int and 0 <= r < seq for r in refs):
        raise ValueError(f"refs must be a list of earlier seqs (below {seq}): {str(refs)[:60]}")


def _v1(e: dict, seq: int) -> tuple[dict, str, bytes]:
    """§2.1: -> (the stated content, the signing key's name, the signed bytes)."""
    if set(e) != V1_FIELDS:
        raise ValueError(f"v1 envelope members: want {sorted(V1_FIELDS)}, found {sorted(e)}")
    _common(e, seq)
    if not isinstance(e["signer"], str):
        raise ValueError("signer must be text")
    return e, e["signer"], rfc8785.dumps({k: v for k, v in e.items() if k != "sig"})


def _v2(e: dict, seq: int, recorded_ns: int, skew_ns: int) -> tuple[dict, str, bytes]:
    """§2.7: -> (the statement, its key's name, the signed bytes prefix || RFC 8785(statement))."""
    if set(e) != V2_FIELDS:
        raise ValueError(f"v2 entry members: want {sorted(V2_FIELDS)}, found {sorted(e)}")
    st = e["statement"]
    if not isinstance(st, dict) or set(st) != STATEMENT_FIELDS:
        found = sorted(st) if isinstance(st, dict) else type(st).__name__
        raise ValueError(f"statement members: want {sorted(STATEMENT_FIELDS)}, found {found}")
    if type(st["v"]) is not int or st["v"] != 2:
        raise ValueError(f"statement v is {st['v']!r}, want 2")
    _common(st, seq)
    if not isinstance(st["key"], str):
        raise ValueError("statement key must be text")
    signed_ns = _nanoseconds(st["signed_at"], _SIGNED_AT, "signed_at")
    if signed_ns > recorded_ns + skew_ns:  # §2.7: not later than recorded_at plus the skew
        raise ValueError(f"signed_at {st['signed_at']} is later than recorded_at {e['recorded_at']} "
                         f"plus the skew of {skew_ns // 10**9} s")
    return st, st["key"], STATEMENT_PREFIX + rfc8785.dumps(st)


def _signing_key(s: _State, seq: int, v: int, stated: dict, name: str):
    """Which key must have signed: the log key for the log's own records, else the key
    registered for the stated authority and valid at ``seq``."""
    kind = stated["type"]
    if kind in LOG_SIGNED:
        if kind == "log.initialized" and seq == 0:
            key = parse_vkey(stated["body"].get("log_key") if isinstance(stated["body"].get("log_key"), str) else "")
            if s.trusted is not None and key[:2] + key[3:] != s.trusted[:2] + s.trusted[3:]:
                raise ValueError(f"log key {stated['body']['log_key']} is not the trusted key")
        elif s.log_key is None:
            raise ValueError("no log.initialized entry at seq 0")
        else:
            key = s.log_key
        if name != key[0]:
            raise ValueError(f"a {kind} record is signed by the log key {key[0]!r}, not {name!r}")
        if v == 2 and s.operator is not None and stated["authority"]["id"] != s.operator:
            # §2.7: the log's own records are statements by the log operator's authority.
            raise ValueError(f"a {kind} statement by {stated['authority']['id']!r}, not the operator {s.operator!r}")
        return key
    if kind not in AUTHORITY_SIGNED:
        raise ValueError(f"unknown entry type {kind!r}")
    rec = s.keys.get(name)
    if rec is None:
        raise ValueError(f"key {name!r} is not registered")
    if rec.authority != stated["authority"]["id"]:
        raise ValueError(f"key {name!r} is registered to {rec.authority!r}, not {stated['authority']['id']!r}")
    if not rec.valid_at(seq):
        raise ValueError(f"key {name!r} is not valid at seq {seq} (registered at {rec.registered}, "
                         f"revoked at {rec.revoked})")
    return rec.key


def _apply(s: _State, seq: int, stated: dict) -> None:
    """The key history: log.initialized names the log key, key.registered / key.revoked."""
    kind, body = stated["type"], stated["body"]
    if kind == "log.initialized":
        if seq != 0:
            raise ValueError("log.initialized after seq 0")
        s.log_key, s.operator = parse_vkey(body["log_key"]), stated["authority"]["id"]
    elif kind == "key.registered":
        k = parse_vkey(body["vkey"]) if isinstance(body.get("vkey"), str) else None
        if k is None or k[2] != TYPE_ED25519 or not isinstance(body.get("authority_id"), str):
            raise ValueError("key.registered: want an Ed25519 vkey and an authority_id")
        if k[0] in s.keys or (s.log_key is not None and k[0] == s.log_key[0]):
            raise ValueError(f"key.registered: the name {k[0]!r} is already registered")
        s.keys[k[0]] = _Key(k, body["authority_id"], seq)
    elif kind == "key.revoked":
        rec = s.keys.get(body.get("name")) if isinstance(body.get("name"), str) else None
        if rec is None or rec.revoked is not None or stated["refs"] != [rec.registered]:
            raise ValueError(f"key.revoked: {body.get('name')!r} is not a registered, unrevoked key "
                             "whose key.registered the entry refs")
        rec.revoked = seq


def _entry(s: _State, seq: int, data: bytes) -> None:
    e = parse_canonical(data)
    if not isinstance(e, dict):
        raise ValueError("an entry is a JSON object")
    v = e.get("v")
    if type(v) is not int or v not in (1, 2):
        raise ValueError(f"format version {v!r}, want 1 or 2")
    if v == 1 and s.seen_v2:
        raise ValueError("a v1 entry after a v2 entry (§2.7: v1 then v2, never the reverse)")
    if type(e.get("seq")) is not int or e["seq"] != seq:
        raise ValueError(f"seq {e.get('seq')!r}, want its position {seq}")
    if not isinstance(e.get("prev"), str) or not _HEX64.fullmatch(e["prev"]) or e["prev"] != s.prev:
        raise ValueError(f"prev {str(e.get('prev'))[:70]!r}, want the previous leaf hash {s.prev}")
    recorded = _nanoseconds(e.get("recorded_at"), _RECORDED_AT, "recorded_at")
    if recorded < s.recorded_ns:
        raise ValueError(f"recorded_at {e['recorded_at']} is before the previous entry's")
    stated, name, message = _v1(e, seq) if v == 1 else _v2(e, seq, recorded, s.skew_ns)
    try:  # RFC 4648 §4 alphabet and padding, as the ledger and verify_bundle.py read it
        sig = base64.b64decode(e["sig"].encode("ascii"), validate=True) if isinstance(e["sig"], str) else b""
    except (ValueError, UnicodeEncodeError) as err:
        raise ValueError(f"sig is not base64: {err}") from err
    if len(sig) != 64:
        raise ValueError(f"sig is {len(sig)} bytes, want a 64-byte Ed25519 signature")
    key = _signing_key(s, seq, v, stated, name)
    try:
        Ed25519PublicKey.from_public_bytes(key[3]).verify(sig, message)
    except InvalidSignature as err:
        what = "prefix || RFC 8785(statement)" if v == 2 else "RFC 8785(entry without sig)"
        raise ValueError(f"the signature by {name!r} does not verify over {what}") from err
    _apply(s, seq, stated)
    s.prev, s.recorded_ns, s.seen_v2 = leaf_hash(data).hex(), recorded, s.seen_v2 or v == 2
    s.versions[v] = s.versions.get(v, 0) + 1


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 over leaf hashes: split at the largest power of two below n."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def verify_log(entries: Iterable[bytes], log_vkey=None, *, skew: timedelta = DEFAULT_SKEW) -> LogReport:
    """Verify a whole log from seq 0, entry by entry (docs/contracts.md §2.1, §2.7).

    Each entry: exactly RFC 8785; format 1 or 2, never 1 after 2; ``seq`` its
    position; ``prev`` the previous leaf hash; ``recorded_at`` RFC 3339 UTC with
    microseconds, non-decreasing. v1: the §2.1 envelope, signed over RFC 8785 of
    the entry without ``sig`` by ``signer``. v2: exactly ``{v, seq, prev,
    recorded_at, statement, sig}``, a statement of exactly the §2.7 members,
    ``refs`` below ``seq``, ``signed_at`` RFC 3339 UTC no later than
    ``recorded_at + skew``, signed over ``STATEMENT_PREFIX || RFC 8785(statement)``
    by ``statement.key``. The signing key: the log key (entry 0's ``log_key``;
    ``log_vkey`` if given must be it) for the log's own record types (v2: stated
    by the operator's authority, entry 0's), else a key registered by a
    ``key.registered`` entry (v1 or v2) to the stated authority, valid at that
    seq. Raises ``ValueError("seq N: …")`` at the first problem.
    """
    s = _State(_as_key(log_vkey) if log_vkey is not None else None, skew // timedelta(microseconds=1) * 1000)
    for seq, data in enumerate(entries):
        try:
            _entry(s, seq, bytes(data))
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"seq {seq}: malformed entry ({type(e).__name__}: {e})") from e
        except ValueError as e:
            raise ValueError(f"seq {seq}: {e}") from e
        s.leaves.append(leaf_hash(bytes(data)))
    return LogReport(len(s.leaves), _mth(s.leaves), dict(s.versions))


def verify_log_checkpoint(entries: list[bytes], note: str, log_vkey, *, skew: timedelta = DEFAULT_SKEW,
                          origin: str | None = None) -> LogReport:
    """verify_log, then the checkpoint: signed by ``log_vkey``, over exactly these entries."""
    report = verify_log(entries, log_vkey, skew=skew)
    verify_note(note, [log_vkey])
    cp_origin, size, root = parse_checkpoint(split_note(note)[0])
    if origin is not None and cp_origin != origin:
        raise ValueError(f"checkpoint: origin {cp_origin!r}, want {origin!r}")
    if (size, root) != (report.size, report.root):
        raise ValueError(f"checkpoint: size {size} root {root.hex()}, the log has {report.size} {report.root.hex()}")
    return report

"""A second, independent verifier for the ledger's public formats.

Written from the specifications alone, importing nothing from ``ledger``:

- c2sp.org/signed-note (notes, signature lines, key IDs, verifier keys);
- c2sp.org/tlog-checkpoint (checkpoint bodies);
- c2sp.org/tlog-cosignature (``cosignature/v1``, signature type 0x04);
- c2sp.org/tlog-proof (``c2sp.org/tlog-proof@v1`` files);
- RFC 9162 §2.1.3.2 (verifying an inclusion proof);
- docs/formats.md §4 / decision 0003 (``extra`` carries the entry's bytes).

Every check raises ``ValueError`` with a reason; nothing is silently repaired.
The module also has a small signer (:func:`sign_note`, :func:`cosign_note`)
so tests can go the other way: notes made here, verified by the ledger.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "TYPE_ED25519", "TYPE_COSIGNATURE_V1", "EM_DASH",
    "b64", "unb64", "compute_key_id", "format_vkey", "parse_vkey",
    "split_note", "verify_note", "parse_checkpoint",
    "leaf_hash", "node_hash", "verify_inclusion", "parse_tlog_proof", "verify_tlog_proof",
    "public_bytes", "sign_note", "cosign_note",
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

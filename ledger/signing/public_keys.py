"""Public keys generated elsewhere, as an admin pastes them to enrol them (``key.registered``). Pure.

An authority's key is made where it is used (``ledger keys generate`` on the
authority's machine, a browser's WebCrypto, a hardware token), so the log host
only ever sees its public half. Accepted encodings, each an Ed25519 public key:

- a C2SP verifier key ``name+keyid+base64(0x01 || key)`` (c2sp.org/signed-note;
  what ``ledger keys generate`` writes): its name is the key's name;
- raw: base64 (standard or URL-safe, padding optional) of the 32 key bytes
  (RFC 8032 §5.1.5; WebCrypto ``exportKey("raw")``);
- SPKI: base64 of the DER SubjectPublicKeyInfo (RFC 8410 §4; WebCrypto
  ``exportKey("spki")``), or the same as a PEM ``PUBLIC KEY`` block.

The last two carry no name: the caller gives one, else it is derived from the
authority and the key's fingerprint, so two keys never share a name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from ledger.errors import KeyFormatError
from ledger.signing.keys import ED25519_TYPE, VerifierKey, check_key_name, parse_vkey

PUBLIC_KEY_BYTES = 32  # RFC 8032 §5.1.5
# RFC 8410 §4: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (32 bytes) }
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
_VKEY = re.compile(r"[^+\s]+\+[0-9a-fA-F]{8}\+[A-Za-z0-9+/]{44}")  # 33 bytes: type, then the key
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", re.S)
MAX_TEXT = 4096  # a pasted key, with room for a PEM block; anything longer is not one


def fingerprint(public: bytes) -> str:
    """SHA-256 of the raw key, hex: what an officer reads out to the admin who enrols it."""
    return hashlib.sha256(public).hexdigest()


def default_name(authority_id: str, public: bytes) -> str:
    """A name for a key that came without one: its authority and 8 fingerprint digits."""
    return f"{authority_id}-{fingerprint(public)[:8]}"


def parse_public_key(text: str, authority_id: str, name: str | None = None) -> VerifierKey:
    """The Ed25519 key in ``text`` (one of the encodings above), named ``name``.

    Raises ``KeyFormatError`` saying which encodings are accepted. A verifier key
    string carries its own name; ``name``, if given, must be that name (the key ID
    is computed over it, so it cannot be renamed)."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise KeyFormatError(f"public key: want a C2SP verifier key, or base64 of the {PUBLIC_KEY_BYTES} raw key "
                             "bytes or of its SPKI DER, or a PEM PUBLIC KEY block")
    text = text.strip()
    if name is not None:
        check_key_name(name)
    if _VKEY.fullmatch(text):  # raw and SPKI base64 are too short, or start too fixed, to match
        key = parse_vkey(text)
        if key.sig_type != ED25519_TYPE:
            raise KeyFormatError(f"verifier key {key.name}: a record-signing key has type 0x01 (Ed25519)")
        if name is not None and name != key.name:
            raise KeyFormatError(f"verifier key is named {key.name!r}, not {name!r} (its key ID covers the name)")
        return key
    pem = _PEM.fullmatch(text)
    raw = _base64("".join(pem.group(1).split()) if pem else text)
    if len(raw) == len(SPKI_PREFIX) + PUBLIC_KEY_BYTES and raw.startswith(SPKI_PREFIX):
        raw = raw[len(SPKI_PREFIX):]
    elif pem or len(raw) != PUBLIC_KEY_BYTES:
        raise KeyFormatError(f"public key: {len(raw)} bytes, want {PUBLIC_KEY_BYTES} raw bytes or an Ed25519 "
                             "SPKI (RFC 8410)")
    return VerifierKey(name or default_name(authority_id, raw), raw, ED25519_TYPE)


def _base64(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional (WebCrypto users emit either)."""
    s = text.replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as e:
        raise KeyFormatError("public key: not a verifier key and not base64") from e

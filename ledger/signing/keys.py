"""Ed25519 keys in C2SP formats (docs/contracts.md §2.3). Pure: no files, no clock.

- key name: non-empty UTF-8 with no Unicode space and no ``+`` (c2sp.org/signed-note);
- key ID: ``SHA-256(name || 0x0A || 0x01 || public key)[:4]`` (c2sp.org/signed-note,
  signature type 0x01 = Ed25519);
- verifier key string: ``<name>+<key ID as 8 hex digits>+<base64(0x01 || public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import KeyFormatError, SignatureError

ED25519_TYPE = 0x01  # c2sp.org/signed-note: Ed25519 note signature
COSIGNATURE_TYPE = 0x04  # c2sp.org/tlog-cosignature: Ed25519 cosignature/v1


def check_key_name(name: str) -> None:
    if not name or any(ch.isspace() for ch in name) or "+" in name:
        raise KeyFormatError(f"key name {name!r}: must be non-empty with no spaces and no '+'")


def key_id(name: str, public: bytes, sig_type: int = ED25519_TYPE) -> bytes:
    """c2sp.org/signed-note: key ID = SHA-256(name || 0x0A || type || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A named Ed25519 public key."""

    name: str
    public: bytes  # 32 raw bytes
    sig_type: int = ED25519_TYPE  # 0x01 note signer, 0x04 witness (cosignature/v1)

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public, self.sig_type)

    def vkey(self) -> str:
        body = base64.b64encode(bytes([self.sig_type]) + self.public).decode()
        return f"{self.name}+{self.id.hex()}+{body}"

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise ``SignatureError`` unless ``signature`` is this key's over ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError) as e:
            raise SignatureError(f"signature by {self.name} does not verify") from e


def parse_vkey(text: str) -> VerifierKey:
    """Parse ``name+hexid+base64``; the base64 part may itself contain '+'."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise KeyFormatError(f"verifier key {text!r}: want name+keyid+key")
    name, hex_id, b64 = parts
    check_key_name(name)
    try:
        raw = base64.b64decode(b64, validate=True)
        want_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as e:
        raise KeyFormatError(f"verifier key {name}: bad hex or base64") from e
    if len(hex_id) != 8 or len(raw) != 33 or raw[0] not in (ED25519_TYPE, COSIGNATURE_TYPE):
        raise KeyFormatError(f"verifier key {name}: want 8 hex digits and 0x01 or 0x04 || 32-byte Ed25519 key")
    key = VerifierKey(name, raw[1:], raw[0])
    if key.id != want_id:
        raise KeyFormatError(f"verifier key {name}: key ID {hex_id} does not match key ({key.id.hex()})")
    return key


class SigningKey(Protocol):
    """What signs a statement: a key file's :class:`Signer`, or a key on a hardware
    token (``ledger.signing.token_key.TokenKey``), whose private half never leaves it."""

    name: str
    verifier: VerifierKey

    def sign(self, message: bytes) -> bytes: ...


class Signer:
    """A named Ed25519 private key. Keep instances out of logs and reprs."""

    def __init__(self, name: str, private: Ed25519PrivateKey, sig_type: int = ED25519_TYPE):
        check_key_name(name)
        self.name = name
        self._private = private
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = VerifierKey(name, public, sig_type)

    @classmethod
    def generate(cls, name: str, sig_type: int = ED25519_TYPE) -> Signer:
        return cls(name, Ed25519PrivateKey.generate(), sig_type)

    @classmethod
    def from_seed(cls, name: str, seed: bytes, sig_type: int = ED25519_TYPE) -> Signer:
        """Deterministic keys for tests and vectors only."""
        return cls(name, Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest()), sig_type)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return self._private

    def __repr__(self) -> str:
        return f"Signer({self.name!r})"

"""C2SP signed-note (c2sp.org/signed-note), Ed25519 signatures. Pure.

A note is UTF-8 text ending in a newline, a blank line, then one or more
signature lines ``— <name> <base64(key ID || signature)>``. The signature is
over the text (through its final newline). Verification follows the spec:
signatures by unknown keys are ignored; a signature by a known key that does
not verify rejects the note; at least one known key must have signed.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ledger.errors import KeyFormatError, SignatureError
from ledger.signing.keys import COSIGNATURE_TYPE, Signer, VerifierKey, check_key_name

EM_DASH = "\u2014"


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes  # 4 bytes
    signature: bytes  # the rest (64 bytes for Ed25519; 72 for a cosignature)

    def render(self) -> str:
        return f"{EM_DASH} {self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    text: str  # ends with "\n"
    signatures: tuple[SignatureLine, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.render() for s in self.signatures)


def sign(text: str, signer: Signer) -> Note:
    if not text.endswith("\n"):
        raise ValueError("note text must end with a newline")
    sig = signer.sign(text.encode())
    return Note(text, (SignatureLine(signer.name, signer.verifier.id, sig),))


def add_signature(note: Note, line: SignatureLine) -> Note:
    others = tuple(s for s in note.signatures if (s.name, s.key_id) != (line.name, line.key_id))
    return Note(note.text, others + (line,))


def parse(data: str) -> Note:
    """Split a note into text and signature lines; raise ``KeyFormatError`` if malformed."""
    if "\n\n" not in data or not data.endswith("\n"):
        raise KeyFormatError("note: want text, a blank line, then signature lines ending in newline")
    # c2sp.org/signed-note: no control characters other than newline.
    bad = next((ch for ch in data if (ord(ch) < 0x20 and ch != "\n") or ord(ch) == 0x7F), None)
    if bad is not None:
        raise KeyFormatError(f"note: control character U+{ord(bad):04X} is not allowed")
    cut = data.rindex("\n\n")
    text, block = data[: cut + 1], data[cut + 2 :]
    lines = block[:-1].split("\n")
    sigs = []
    for line in lines:
        if not line.startswith(EM_DASH + " "):
            raise KeyFormatError(f"note: signature line does not start with '{EM_DASH} ': {line!r}")
        parts = line[2:].split(" ")
        if len(parts) != 2:
            raise KeyFormatError(f"note: malformed signature line {line!r}")
        name, b64 = parts
        check_key_name(name)
        try:
            raw = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError) as e:  # ValueError: non-ASCII input
            raise KeyFormatError(f"note: signature by {name} is not base64") from e
        if len(raw) < 5:
            raise KeyFormatError(f"note: signature by {name} is too short")
        sigs.append(SignatureLine(name, raw[:4], raw[4:]))
    if not sigs:
        raise KeyFormatError("note: no signature lines")
    return Note(text, tuple(sigs))


def cosignature_message(text: str, timestamp: int) -> bytes:
    """c2sp.org/tlog-cosignature: "cosignature/v1\n" "time <T>\n" then the checkpoint body."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(text: str, witness: Signer, timestamp: int) -> SignatureLine:
    """A cosignature/v1 line: key ID with type 0x04; signature = u64 BE timestamp || Ed25519 sig."""
    if witness.verifier.sig_type != COSIGNATURE_TYPE:
        raise KeyFormatError(f"key {witness.name} is not a witness (cosignature) key")
    sig = witness.sign(cosignature_message(text, timestamp))
    return SignatureLine(witness.name, witness.verifier.id, timestamp.to_bytes(8, "big") + sig)


def cosignature_time(line: SignatureLine) -> int:
    return int.from_bytes(line.signature[:8], "big")


def verify(note: Note, known: list[VerifierKey]) -> list[VerifierKey]:
    """Return the known keys that signed ``note``; raise if none did or one failed.

    Keys of type 0x04 are witnesses: their lines are cosignature/v1 signatures.
    """
    by_id = {(k.name, k.id): k for k in known}
    verified = []
    for line in note.signatures:
        key = by_id.get((line.name, line.key_id))
        if key is None:
            continue  # c2sp.org/signed-note: unknown keys are ignored
        if key.sig_type == COSIGNATURE_TYPE:
            if len(line.signature) != 72:
                raise SignatureError(f"cosignature by {key.name} is {len(line.signature)} bytes, want 72")
            key.verify(line.signature[8:], cosignature_message(note.text, cosignature_time(line)))
        else:
            key.verify(line.signature, note.text.encode())  # a bad known signature rejects the note
        verified.append(key)
    if not verified:
        names = ", ".join(s.name for s in note.signatures)
        raise SignatureError(f"note is not signed by any known key (signed by: {names})")
    return verified

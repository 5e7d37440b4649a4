"""Checkpoints: C2SP tlog-checkpoint bodies signed as C2SP signed-notes. Pure:
the format only; signing the stored tree head is ``ledger.log.publish``.

Body (c2sp.org/tlog-checkpoint)::

    <origin>\\n
    <tree size, decimal>\\n
    <base64 root hash>\\n
    [extension lines\\n]
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ledger.errors import KeyFormatError
from ledger.signing import note
from ledger.signing.keys import VerifierKey


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_body(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise KeyFormatError("checkpoint: want origin, size and root lines, each ending in newline")
    origin, size_text, root_text, *ext = lines[:-1]
    if not origin or not (size_text.isascii() and size_text.isdigit()) or (size_text != "0" and size_text.startswith("0")):
        raise KeyFormatError(f"checkpoint: bad origin or size line {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError) as e:  # ValueError: non-ASCII input
        raise KeyFormatError("checkpoint: root is not base64") from e
    if len(root) != 32:
        raise KeyFormatError(f"checkpoint: root is {len(root)} bytes, want 32")
    if any(not line for line in ext):
        raise KeyFormatError("checkpoint: empty extension line")
    return Checkpoint(origin, int(size_text), root, tuple(ext))


def open_checkpoint(signed: str, log_key: VerifierKey, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint note with ``log_key``; return its body."""
    n = note.parse(signed)
    note.verify(n, [log_key])
    cp = parse_body(n.text)
    if origin is not None and cp.origin != origin:
        raise KeyFormatError(f"checkpoint origin {cp.origin!r}, want {origin!r}")
    return cp

"""C2SP tlog-proof (c2sp.org/tlog-proof@v1): an offline-verifiable proof that an
entry is in the log. Pure.

::

    c2sp.org/tlog-proof@v1
    extra <base64 of the entry's canonical bytes>
    index <seq>
    <base64 proof hash>          (zero or more, leaf's sibling first)

    <the signed checkpoint note, verbatim, with any cosignatures>

We always put the entry's canonical bytes in ``extra``: the spec allows extra
data "necessary to reconstruct the record hash", and it is authenticated by the
inclusion proof itself (its leaf hash must lead to the signed root), so a
verifier needs nothing but the proof file and the log's verifier key.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ledger.errors import KeyFormatError, ProofError, SignatureError
from ledger.log.checkpoint import Checkpoint, open_checkpoint
from ledger.log.merkle import leaf_hash
from ledger.log.merkle_verify import verify_inclusion
from ledger.signing import note
from ledger.signing.keys import VerifierKey

HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class TlogProof:
    index: int
    proof: tuple[bytes, ...]
    checkpoint: str  # signed note, verbatim
    extra: bytes | None = None  # the entry's canonical bytes

    def render(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode() for h in self.proof]
        return "\n".join(lines) + "\n\n" + self.checkpoint


def parse(text: str) -> TlogProof:
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise KeyFormatError("tlog-proof: no blank line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise KeyFormatError(f"tlog-proof: first line is {lines[0]!r}, want {HEADER!r}")
    rest = lines[1:]
    extra = None
    try:
        if rest and rest[0].startswith("extra "):
            extra = base64.b64decode(rest.pop(0)[6:], validate=True)
        if not rest or not rest[0].startswith("index "):
            raise KeyFormatError("tlog-proof: missing index line")
        index_text = rest.pop(0)[6:]
        if not _is_decimal(index_text):
            raise KeyFormatError(f"tlog-proof: index {index_text!r} is not a decimal without leading zeroes")
        proof = tuple(base64.b64decode(line, validate=True) for line in rest)
    except (binascii.Error, ValueError) as e:  # ValueError: non-ASCII input
        raise KeyFormatError("tlog-proof: a line is not base64") from e
    return TlogProof(int(index_text), proof, checkpoint, extra)


def _is_decimal(text: str) -> bool:
    """ASCII digits only, no leading zero (str.isdigit would admit '٢' and '²')."""
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


def verify(p: TlogProof, log_key: VerifierKey, entry: bytes | None = None, *, origin: str | None = None,
           witnesses: list[VerifierKey] | None = None, quorum: int = 0) -> Checkpoint:
    """Raise unless the checkpoint is signed by ``log_key`` (and ``quorum`` of
    ``witnesses``) and the entry is included at ``p.index``; return the checkpoint."""
    cp = open_checkpoint(p.checkpoint, log_key, origin)
    if quorum:
        signed = note.parse(p.checkpoint)
        cosigners = {k for k in note.verify(signed, [log_key, *(witnesses or [])]) if k != log_key}  # distinct witnesses
        if len(cosigners) < quorum:
            raise SignatureError(f"checkpoint has {len(cosigners)} valid witness cosignatures, want {quorum}")
    data = entry if entry is not None else p.extra
    if data is None:
        raise ProofError("no entry bytes: pass the entry or use a proof with extra data")
    if entry is not None and p.extra is not None and entry != p.extra:
        raise ProofError("the entry given differs from the entry carried in the proof's extra line")
    verify_inclusion(p.index, cp.size, leaf_hash(data), list(p.proof), cp.root)
    return cp

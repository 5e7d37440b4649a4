"""One exception tree for the whole ledger.

::

    LedgerError
    ├── InputError              the request is bad; nothing was written
    │   ├── ValidationError     one or more (field, rule) problems
    │   ├── UnknownEntryType
    │   ├── RequestConflict     request_id reused with different content
    │   ├── Barred              the award guard refused an honour or grant
    │   └── NotFound
    ├── Forbidden               role or jurisdiction does not allow it (API)
    ├── Unauthenticated         no valid bearer token (API)
    ├── ConfigError             missing key, passphrase, database URL …
    │   └── OriginMismatch      a configured origin that is not the log's own
    ├── KeyFormatError          a vkey / signature line that does not parse
    ├── SignatureError          a signature that does not verify, or an unknown/revoked signer
    ├── ProofError              an inclusion or consistency proof that does not verify
    │   ├── IndexBeyondSize
    │   ├── WrongProofLength
    │   ├── RootMismatch
    │   └── ForkDetected        two signed checkpoints that cannot both be true
    └── IntegrityError          FATAL: the stored log does not verify; stop appending

Edges (CLI, API, DAGs) translate these into exit codes, union results or task
failures with ``raise … from e``; the core never prints.
"""

from __future__ import annotations

from dataclasses import dataclass


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""


class InputError(LedgerError):
    """The request is bad. Nothing was written."""

    code = "invalid_input"


@dataclass(frozen=True)
class Problem:
    """One violated rule: ``field`` is a dotted path (``body.amount_fen``)."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class ValidationError(InputError):
    """One or more fields break their rules; ``problems`` lists every one.

    ``index`` is the item of a batch (from 0); ``line`` the line of a JSON-lines
    input (from 1), when the problems come from one."""

    code = "validation"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], *, index: int | None = None,
                 line: int | None = None):
        self.problems = tuple(problems)
        self.index = index
        self.line = line
        where = f"line {line}: " if line is not None else f"item {index}: " if index is not None else ""
        super().__init__(where + "; ".join(str(p) for p in self.problems))


class UnknownEntryType(InputError):
    code = "unknown_type"

    def __init__(self, type_name: str):
        self.type_name = type_name
        super().__init__(f"type: unknown entry type {type_name!r}")


class RequestConflict(InputError):
    """A ``request_id`` already used for an entry with different content."""

    code = "conflict"

    def __init__(self, request_id: str, seq: int):
        self.request_id = request_id
        self.seq = seq
        super().__init__(
            f"request_id: {request_id!r} was already used by entry {seq} with different content"
        )


class Barred(InputError):
    """The award guard: the subject is barred for this benefit (Art. 66)."""

    code = "barred"

    def __init__(self, subject: str, blocking: list[int], detail: str):
        self.subject, self.blocking = subject, blocking
        super().__init__(f"subject: barred ({detail}); to award anyway, give body.override with approver and reason")


class AnchorMismatch(InputError):
    """A reconciliation for this as-of date was anchored with a different result."""

    code = "anchor_mismatch"


class NotFound(InputError):
    code = "not_found"


class Forbidden(LedgerError):
    """The caller's role or jurisdiction does not allow this. Nothing was written."""

    code = "forbidden"


class Unauthenticated(LedgerError):
    """No token, an unknown token, or an expired or revoked one."""

    code = "unauthenticated"


class ConfigError(LedgerError):
    """The ledger is not configured well enough to do what was asked."""


class OriginMismatch(ConfigError):
    """A configured checkpoint origin that differs from the one the log's genesis
    entry fixed (docs/contracts.md §2.3: the origin names the log; it never changes)."""

    def __init__(self, configured: str, logged: str, setting: str = "LEDGER_ORIGIN"):
        self.configured, self.logged, self.setting = configured, logged, setting
        super().__init__(f"{setting}={configured!r}, but this log's origin is {logged!r} (fixed by its genesis "
                         f"entry, seq 0); nothing was signed: unset {setting} or set it to the log's origin "
                         "(a log's origin never changes; docs/operations.md)")


class KeyFormatError(LedgerError):
    """A verifier key, signature line or key file does not parse."""


class SignatureError(LedgerError):
    """A signature does not verify, or its signer is unknown or revoked."""


class ProofError(LedgerError):
    """An inclusion or consistency proof does not verify."""


class IndexBeyondSize(ProofError):
    def __init__(self, what: str, index: int, size: int):
        self.what, self.index, self.size = what, index, size
        super().__init__(f"{what} {index} is beyond tree size {size}")


class WrongProofLength(ProofError):
    def __init__(self, got: int, want: int):
        self.got, self.want = got, want
        super().__init__(f"wrong proof size {got}, want {want}")


class RootMismatch(ProofError):
    def __init__(self, computed: bytes, expected: bytes, what: str = "root"):
        self.computed, self.expected = computed, expected
        super().__init__(
            f"{what} mismatch: computed {computed.hex()}, expected {expected.hex()}"
        )


class ForkDetected(ProofError):
    """Two validly signed checkpoints that cannot both be true (split view)."""

    def __init__(self, message: str, evidence_path: str | None = None):
        self.evidence_path = evidence_path
        super().__init__(message + (f"; evidence written to {evidence_path}" if evidence_path else ""))


class IntegrityError(LedgerError):
    """FATAL: the stored log fails verification at ``seq``. Stop appending."""

    def __init__(self, seq: int | None, kind: str, detail: str):
        self.seq, self.kind, self.detail = seq, kind, detail
        where = f"seq {seq}" if seq is not None else "log"
        super().__init__(f"{where}: {kind}: {detail}")

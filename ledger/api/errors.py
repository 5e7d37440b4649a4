"""Expected failures as union members (docs/api.md, Results and errors): each has a machine-readable
``code``; clients branch on ``__typename`` or ``code``. Unexpected errors are
not here: they surface as a masked GraphQL error and are logged."""

from __future__ import annotations

import strawberry

from ledger import errors as E


@strawberry.interface(description="An expected failure. Nothing was written.")
class Error:
    code: str
    message: str


@strawberry.type
class FieldProblem:
    field: str = strawberry.field(description="The input field, e.g. body.amount_fen.")
    rule: str = strawberry.field(description="The rule it breaks, in plain words.")


@strawberry.type(description="The input breaks one or more rules; every problem is listed.")
class ValidationFailed(Error):
    problems: list[FieldProblem]


@strawberry.type(description="The award guard (Art. 66): the subject is barred for this benefit.")
class Barred(Error):
    blocking: list[int] = strawberry.field(description="Seqs of the sanctions that bar the subject.")


@strawberry.type
class NotFound(Error):
    pass


@strawberry.type(description="The request_id was used before for different content.")
class Conflict(Error):
    request_id: str
    seq: int | None = strawberry.field(description="The entry recorded under that request_id, if any.")


@strawberry.type(description="The token's role or jurisdiction does not allow this.")
class Forbidden(Error):
    pass


ERROR_TYPES = (ValidationFailed, Barred, NotFound, Conflict, Forbidden)


def to_error(e: E.LedgerError):
    """The union member for an expected ledger error, or None (then it is unexpected)."""
    msg = str(e)
    if isinstance(e, E.ValidationError):
        return ValidationFailed(code="validation", message=msg,
                                problems=[FieldProblem(field=p.field, rule=p.rule) for p in e.problems])
    if isinstance(e, E.Barred):
        return Barred(code="barred", message=msg, blocking=list(e.blocking))
    if isinstance(e, E.RequestConflict):
        return Conflict(code="conflict", message=msg, request_id=e.request_id, seq=e.seq if e.seq >= 0 else None)
    if isinstance(e, E.NotFound):
        return NotFound(code="not_found", message=msg)
    if isinstance(e, E.Forbidden):
        return Forbidden(code="forbidden", message=msg)
    if isinstance(e, E.IndexBeyondSize):
        return ValidationFailed(code="validation", message=msg, problems=[FieldProblem(field=e.what, rule=msg)])
    if isinstance(e, E.InputError):
        return ValidationFailed(code="validation", message=msg, problems=[FieldProblem(field="input", rule=msg)])
    return None

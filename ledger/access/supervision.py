"""The supervision page's one service (docs/console.md, Supervision; decision 0026):
who may read the figures, at which tree size, and nothing else. The figures are
``ledger.domain.supervision`` (pure), over rows ``ledger.domain.supervision_rows``
reads at one tree size.

- ``figures``: ``Action.read_supervision`` (auditors, admins); a token with a
  region gets the figures under it (GB/T 2260 prefix). The override rows (the
  drill-down) are kept only for roles that read entries (``read_entries``): an
  admin sees counts and seqs, never subject references or reasons.
- ``override_entries``: the drill-down of one authority (and officer): both
  actions, or ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import Engine

from ledger.access.policy import GRANTS, Action, Principal, require
from ledger.domain import supervision, supervision_rows
from ledger.errors import Problem, ValidationError
from ledger.store import log_store


def figures(engine: Engine, principal: Principal, as_of: date, tree_size: int | None = None) -> supervision.Figures:
    """The supervision figures as of ``as_of`` over the log's first ``tree_size`` entries (default: all)."""
    require(principal, Action.read_supervision)
    with engine.connect() as conn:
        size = log_store.size(conn)
        if tree_size is not None:
            if not 0 <= tree_size <= size:
                raise ValidationError([Problem("tree_size", f"must be between 0 and the log's size {size}")])
            size = tree_size
        rows = supervision_rows.read(conn, size)
    f = supervision.figures(as_of, rows.size, rows.grants, rows.clawbacks, rows.moves, rows.sanctions, rows.overrides,
                            rows.nights, jurisdiction=principal.region)
    return f if may_drill_down(principal) else replace(f, override_rows=())


def may_drill_down(principal: Principal) -> bool:
    """The override entries (subject references, reasons) are entry content: ``read_entries`` too."""
    return principal.role in GRANTS[Action.read_supervision] and principal.role in GRANTS[Action.read_entries]


def override_entries(engine: Engine, principal: Principal, as_of: date, authority_id: str, officer: str | None,
                     tree_size: int | None = None) -> tuple[supervision.Figures, tuple[supervision.Override, ...]]:
    """The overrides of ``authority_id`` (and ``officer``, when given), with the figures they were read with."""
    require(principal, Action.read_supervision)
    require(principal, Action.read_entries)
    f = figures(engine, principal, as_of, tree_size)
    return f, supervision.overrides_of(f, authority_id, officer)

"""The award guard's overrides as an insert-only projection (decision 0026).

Revision ID: 0008

The supervision page counts the honours and grants awarded despite a bar and
the checks decided ``override`` (Art. 68). They lived only in the signed bodies,
so every request decoded every ``honor.granted``, ``subsidy.granted`` and
``eligibility.checked`` entry. ``overrides`` keeps one row per such entry,
written by the append path with the other projections and, like them,
insert-only (triggers as in revision 0006) and checked against the log by
``ledger verify`` and before a night is anchored (decision 0019).

The rows of the entries already in the log are written here, from the entries'
bytes, by a copy of the rule as it stands at this revision (``_row``), so that
this revision stays what it was when the rule changes later. On PostgreSQL,
every role that may insert into ``grants`` (the application role granted by
an earlier ``ledger db upgrade --app-role``) may select and insert here too:
the appends that write a grant now write its override, and an upgrade alone
keeps them working. A crash mid-revision leaves the previous revision (one
transaction: ``ledger.store.migrate.upgrade``).
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TYPES = ("honor.granted", "subsidy.granted", "eligibility.checked")
BATCH = 5_000


def upgrade() -> None:
    table = op.create_table(
        "overrides",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("authority_id", sa.String(128), nullable=False),
        sa.Column("approver", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("officer", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("on_date", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("amount_fen", sa.BigInteger, nullable=True),
    )
    _backfill(table)
    if op.get_bind().dialect.name == "postgresql":
        _postgres()
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER overrides_no_{action.lower()} BEFORE {action} ON overrides "
                       f"BEGIN SELECT RAISE(ABORT, 'overrides is insert-only: {action} refused'); END")


def _backfill(table: sa.Table) -> None:
    conn = op.get_bind()
    entries = sa.table("entries", sa.column("seq"), sa.column("type"), sa.column("canonical"))
    query = sa.select(entries.c.canonical).where(entries.c.type.in_(TYPES)).order_by(entries.c.seq)
    rows: list[dict[str, Any]] = []
    for (data,) in conn.execute(query):
        row = _row(json.loads(bytes(data)))
        if row is not None:
            rows.append(row)
        if len(rows) >= BATCH:
            conn.execute(table.insert(), rows)
            rows = []
    if rows:
        conn.execute(table.insert(), rows)


def _row(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The override row of one entry (formats v1 and v2, docs/contracts.md §2.1, §2.7), or None."""
    st = obj["statement"] if obj.get("v") == 2 else obj
    b = st["body"]
    row = {"seq": obj["seq"], "type": st["type"], "authority_id": st["authority"]["id"], "actor": st["actor"],
           "region": b["region"], "subject": st["subject"]}
    if st["type"] == "eligibility.checked":
        if b["decision"] != "override":
            return None
        return row | {"kind": "check", "approver": b.get("approver", ""), "officer": b["officer"],
                      "reason": b.get("reason", ""), "on_date": b["on"], "amount_fen": None}
    if "override" in b:
        return row | {"kind": "award", "approver": b["override"]["approver"], "officer": None,
                      "reason": b["override"]["reason"], "on_date": b["decision_date"], "amount_fen": b.get("amount_fen")}
    return None


def _postgres() -> None:
    # ledger_append_only() is revision 0001's function: it names the table and the operation.
    op.execute("CREATE TRIGGER overrides_append_only BEFORE UPDATE OR DELETE ON overrides "
               "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
    op.execute("CREATE TRIGGER overrides_no_truncate BEFORE TRUNCATE ON overrides "
               "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()")
    op.execute("""
        DO $$
        DECLARE r record;
        BEGIN
          FOR r IN SELECT DISTINCT g.grantee
                   FROM information_schema.role_table_grants g
                   JOIN pg_catalog.pg_tables t ON t.schemaname = g.table_schema AND t.tablename = g.table_name
                   WHERE g.table_schema = current_schema() AND g.table_name = 'grants'
                     AND g.privilege_type = 'INSERT' AND g.grantee <> t.tableowner
          LOOP
            EXECUTE format('GRANT SELECT, INSERT ON overrides TO %s',
                           CASE WHEN r.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(r.grantee) END);
          END LOOP;
        END $$
        """)


def downgrade() -> None:
    raise NotImplementedError("the projections are insert-only; there is no downgrade")

"""The domain projections become insert-only, like the log (decision 0019).

Revision ID: 0006

The nightly reconciliation reads ``grants``, ``clawbacks``, ``money_moves``,
``exits`` and ``sanction_versions``; the award guard reads them too. Rows were
already only ever inserted (a sanction's amendment is a new version row, read as
the latest), so nothing is rewritten here: UPDATE and DELETE are refused by
triggers on both engines, and on PostgreSQL every role but the owner loses
UPDATE, DELETE and TRUNCATE on them (``ledger db upgrade --app-role`` grants the
application role SELECT and INSERT only from now on). A crash mid-revision
leaves the previous revision (one transaction: ``ledger.store.migrate.upgrade``).

The table names are written out (not imported from ``schema``) so this revision
stays what it was when later revisions change the tables.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("sanction_versions", "grants", "honors", "clawbacks", "money_moves", "exits", "links")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgres()
    else:
        _sqlite()


def _sqlite() -> None:
    # As for the log (revision 0001): whoever holds the file can drop these; there the
    # night's check against the log (ledger.domain.projection_check) is what catches it.
    for table in TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is insert-only: {action} refused'); END")


def _postgres() -> None:
    # ledger_append_only() is revision 0001's function: it names the table and the operation.
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()")
    # An application role granted full DML by an earlier `ledger db upgrade --app-role`
    # keeps it until revoked: revoke it here from every grantee but the owner, so an
    # existing deployment is closed by the upgrade alone (the owner could disable the
    # triggers anyway; the application must not be the owner: docs/operations.md).
    names = ", ".join(f"'{t}'" for t in TABLES)
    op.execute(f"""
        DO $$
        DECLARE r record;
        BEGIN
          FOR r IN SELECT DISTINCT g.grantee, g.table_name
                   FROM information_schema.role_table_grants g
                   JOIN pg_catalog.pg_tables t ON t.schemaname = g.table_schema AND t.tablename = g.table_name
                   WHERE g.table_schema = current_schema() AND g.table_name IN ({names})
                     AND g.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE') AND g.grantee <> t.tableowner
          LOOP
            EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM %s', r.table_name,
                           CASE WHEN r.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(r.grantee) END);
          END LOOP;
        END $$
        """)


def downgrade() -> None:
    raise NotImplementedError("the projections are insert-only; there is no downgrade")

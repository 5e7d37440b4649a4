"""Witness cosignatures on checkpoints (C2SP tlog-cosignature), append-only.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cosignatures",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("witness", sa.String(128), primary_key=True),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER cosignatures_append_only BEFORE UPDATE OR DELETE ON cosignatures "
                   "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
        op.execute("CREATE TRIGGER cosignatures_no_truncate BEFORE TRUNCATE ON cosignatures "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER cosignatures_no_{action.lower()} BEFORE {action} ON cosignatures "
                       f"BEGIN SELECT RAISE(ABORT, 'cosignatures is append-only: {action} refused'); END")


def downgrade() -> None:
    raise NotImplementedError("append-only")

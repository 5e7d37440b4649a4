"""The log: entries, tree nodes, checkpoints, and append-only triggers.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("entries", "tree_nodes", "checkpoints")


def upgrade() -> None:
    op.create_table(
        "entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("prev", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.String(27), nullable=False),
        sa.Column("authority_id", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("signer", sa.String(128), nullable=False),
        sa.Column("canonical", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("authority_id", "request_id", name="uq_entries_request"),
    )
    op.create_index("ix_entries_subject", "entries", ["subject", "seq"])
    op.create_index("ix_entries_type", "entries", ["type", "seq"])
    op.create_table(
        "tree_nodes",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
    )
    op.create_table(
        "authority_keys",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("vkey", sa.String(256), nullable=False),
        sa.Column("authority_id", sa.String(128), nullable=False),
        sa.Column("registered_seq", sa.BigInteger, nullable=False),
        sa.Column("revoked_seq", sa.BigInteger, nullable=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_triggers()
    else:
        _sqlite_triggers()


def _sqlite_triggers() -> None:
    # Anyone holding the SQLite file can drop these; there tamper evidence
    # comes from hashes and signatures (`ledger verify`). They stop mistakes.
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )


def _postgres_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
        )


def downgrade() -> None:
    raise NotImplementedError("the log is append-only; there is no downgrade")

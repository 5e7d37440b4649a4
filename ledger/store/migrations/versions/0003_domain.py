"""The subject vault and the domain projections.

Revision ID: 0003

Written out column by column (not imported from ``schema``) so this revision
stays what it was when later revisions change the tables.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

B, S, T = sa.BigInteger, sa.String, sa.Text


def _key(name: str) -> sa.Column:
    return sa.Column(name, B, primary_key=True, autoincrement=False)


def upgrade() -> None:
    op.create_table(
        "subjects",
        sa.Column("ref", S(64), primary_key=True),
        sa.Column("kind", S(16), nullable=False),
        sa.Column("blind_index", S(64), nullable=True, unique=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=True),
        sa.Column("created_at", S(27), nullable=False),
        sa.Column("erased_seq", B, nullable=True),
    )
    op.create_table(
        "sanction_versions", _key("version_seq"),
        sa.Column("sanction_seq", B, nullable=False), sa.Column("subject", S(64), nullable=False),
        sa.Column("severity", S(16), nullable=False), sa.Column("effective_from", S(10), nullable=False),
        sa.Column("effective_until", S(10), nullable=True), sa.Column("benefits", T, nullable=False),
        sa.Column("regions", T, nullable=False), sa.Column("programmes", T, nullable=False),
        sa.Column("legal_basis", T, nullable=False), sa.Column("deciding_body", S(200), nullable=False),
    )
    op.create_table(
        "grants", _key("seq"),
        sa.Column("subject", S(64), nullable=False), sa.Column("grant_ref", S(64), nullable=False, unique=True),
        sa.Column("programme", S(100), nullable=False), sa.Column("kind", S(32), nullable=False),
        sa.Column("amount_fen", B, nullable=False), sa.Column("decision_date", S(10), nullable=False),
        sa.Column("region", S(6), nullable=False),
    )
    op.create_table(
        "honors", _key("seq"),
        sa.Column("subject", S(64), nullable=False), sa.Column("title", S(200), nullable=False),
        sa.Column("level", S(16), nullable=False), sa.Column("programme", S(100), nullable=False),
        sa.Column("decision_date", S(10), nullable=False), sa.Column("region", S(6), nullable=False),
    )
    op.create_table(
        "clawbacks", _key("seq"),
        sa.Column("subject", S(64), nullable=False), sa.Column("amount_fen", B, nullable=False),
        sa.Column("deadline", S(10), nullable=False), sa.Column("grant_seqs", T, nullable=False),
        sa.Column("decision_date", S(10), nullable=False),
    )
    op.create_table(
        "money_moves", _key("move_seq"),
        sa.Column("clawback_seq", B, nullable=False), sa.Column("kind", S(16), nullable=False),
        sa.Column("amount_fen", B, nullable=False), sa.Column("on_date", S(10), nullable=False),
    )
    op.create_table(
        "exits", _key("target_seq"), _key("exit_seq"),
        sa.Column("subject", S(64), nullable=False), sa.Column("kind", S(16), nullable=False),
        sa.Column("on_date", S(10), nullable=True), sa.Column("reason", S(32), nullable=True),
    )
    op.create_table(
        "links", _key("seq"),
        sa.Column("subject", S(64), nullable=False), sa.Column("organisation", S(64), nullable=False),
        sa.Column("relation", S(16), nullable=False), sa.Column("valid_from", S(10), nullable=False),
        sa.Column("valid_until", S(10), nullable=True),
    )
    for table, column in [("sanction_versions", "sanction_seq"), ("sanction_versions", "subject"),
                          ("grants", "subject"), ("honors", "subject"), ("clawbacks", "subject"),
                          ("money_moves", "clawback_seq"), ("exits", "subject"), ("links", "subject"),
                          ("links", "organisation")]:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table in ("links", "exits", "money_moves", "clawbacks", "honors", "grants", "sanction_versions", "subjects"):
        op.drop_table(table)

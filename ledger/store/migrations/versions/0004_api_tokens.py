"""API bearer tokens (hashed).

Revision ID: 0004

Written out column by column (not imported from ``schema``) so this revision
stays what it was when later revisions change the table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(16), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("authority_id", sa.String(128), nullable=True),
        sa.Column("region", sa.String(6), nullable=True),
        sa.Column("case_ref", sa.String(200), nullable=True),
        sa.Column("subjects", sa.Text, nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("expires_at", sa.String(27), nullable=True),
        sa.Column("revoked_at", sa.String(27), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")

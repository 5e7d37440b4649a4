"""Verifier state in the database (docs/decisions/0021-celery-night-across-machines.md).

Revision ID: 0007

The nightly verifier's resume point moves from a file beside the artefacts to
``verifier_states``, so no task depends on another machine's disk. The
application role gets full DML on it (``ledger.store.migrate.grant_app_role``):
a row is a cache that a signed checkpoint must vouch for before it is used.

Written out column by column (not imported from ``schema``) so this revision
stays what it was when later revisions change the tables.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifier_states",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("saved_at", sa.String(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("verifier_states")

"""The subject vault and the domain projections.

Revision ID: 0003
"""

from alembic import op

from ledger.store.schema import DOMAIN_PROJECTIONS, subjects

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # Created from the table definitions as of this revision (indexes included).
    for table in (subjects, *DOMAIN_PROJECTIONS):
        table.create(bind)


def downgrade() -> None:
    for table in reversed((subjects, *DOMAIN_PROJECTIONS)):
        op.drop_table(table.name)

"""Vault key epochs (docs/erasure.md, docs/decisions/0012-epoch-keys-for-erasure.md).

Revision ID: 0005

``subjects.key_epoch`` names the epoch that wrapped each row's key; ``vault_meta``
holds the current epoch. Existing rows were wrapped by the pre-epoch master,
which is epoch 0 (same derivation), so they stay readable with the existing key
file. Erasures made before this revision are not yet covered by a rotation
(``erased_through`` NULL): ``ledger vault status`` lists them as pending and
``ledger vault rotate`` destroys the old master.

Written out column by column (not imported from ``schema``) so this revision
stays what it was when later revisions change the tables.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subjects", sa.Column("key_epoch", sa.BigInteger, nullable=False, server_default="0"))
    meta = op.create_table(
        "vault_meta",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("erased_through", sa.BigInteger, nullable=True),
        sa.Column("rotated_at", sa.String(27), nullable=True),
    )
    op.bulk_insert(meta, [{"id": 1, "epoch": 0, "erased_through": None, "rotated_at": None}])


def downgrade() -> None:
    op.drop_table("vault_meta")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("key_epoch")

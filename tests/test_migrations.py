"""The migrations build exactly the schema the code reads and writes."""

from __future__ import annotations

import sqlalchemy as sa

from ledger.store.migrate import current_revision, head_revision
from ledger.store.schema import metadata


def test_migrated_schema_matches_the_table_definitions(store):
    assert current_revision(store.owner) == head_revision()
    inspector = sa.inspect(store.owner)
    for table in metadata.sorted_tables:
        got = {c["name"]: (str(c["type"]).split("(")[0].upper(), c["nullable"]) for c in inspector.get_columns(table.name)}
        want = {c.name: (str(c.type.compile(store.owner.dialect)).split("(")[0].upper(), c.nullable)
                for c in table.columns}
        assert got == want, table.name
        indexed = {tuple(i["column_names"]) for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            assert tuple(c.name for c in index.columns) in indexed, (table.name, index.name)

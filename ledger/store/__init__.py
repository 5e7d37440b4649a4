"""Storage: SQLAlchemy Core tables, engines, migrations, and the log's reads and writes.

Rows are a storage detail: nothing above this package sees a Row; it gets
``Entry`` values and hashes.
"""

"""Schema upgrades (Alembic) and, on PostgreSQL, the application role's grants.

Production runs ``ledger db upgrade`` as the schema owner, then the API and
DAGs connect as an application role that may only SELECT and INSERT on the
append-only tables (docs/operations.md: a table owner could disable the triggers).
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from ledger.store.schema import APPEND_ONLY_TABLES, metadata


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "ledger.store:migrations")
    return cfg


def upgrade(engine: Engine, *, app_role: str | None = None) -> None:
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    if app_role:
        grant_app_role(engine, app_role)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def grant_app_role(engine: Engine, role: str) -> None:
    """SELECT+INSERT on the append-only tables (the log and, revision 0006, the domain
    projections); full DML on the rest (vault, tokens, authority keys)."""
    if engine.dialect.name != "postgresql":
        return
    quoted = engine.dialect.identifier_preparer.quote(role)
    projections = [t for t in metadata.tables if t not in APPEND_ONLY_TABLES]
    with engine.begin() as conn:
        conn.execute(text(f"GRANT USAGE ON SCHEMA {_schema(conn)} TO {quoted}"))
        for table in APPEND_ONLY_TABLES:
            conn.execute(text(f"REVOKE ALL ON {table} FROM {quoted}"))
            conn.execute(text(f"GRANT SELECT, INSERT ON {table} TO {quoted}"))
        for table in projections:
            conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {quoted}"))
        conn.execute(text(f"GRANT SELECT ON alembic_version TO {quoted}"))


def _schema(conn) -> str:
    return conn.execute(text("SELECT current_schema()")).scalar_one()

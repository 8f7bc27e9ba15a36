"""Bring a metadata database to a migration revision (``head`` by default)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sluiceway.core.errors import Fatal
from sluiceway.store.db import Database

_SCRIPTS = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    _run(db, lambda cfg: command.upgrade(cfg, revision))


def downgrade(db: Database, revision: str) -> None:
    _run(db, lambda cfg: command.downgrade(cfg, revision))


def _run(db: Database, step: Callable[[Config], None]) -> None:
    """Run ``step`` in one transaction. On SQLite, a migration that changes a constraint
    rebuilds the table, which the foreign keys of the tables pointing at it would refuse:
    they are off while it runs (the pragma works only outside a transaction), then checked."""
    cfg = _config()
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection if db.is_sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg)
                if raw is not None:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise Fatal(f"a migration left a broken foreign key in {broken[0]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def current(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None
    return rev

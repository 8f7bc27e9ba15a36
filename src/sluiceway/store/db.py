"""The metadata database handle: engine, sessions and the write lock for claims."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from sluiceway.core.errors import FieldError, InvalidInput


def now() -> float:
    """Times in the store are epoch seconds (the Airbyte API speaks int64 epoch seconds)."""
    return time.time()


class Database:
    """One engine per process. ``session()`` commits on success and rolls back on error.

    ``claim()`` is the session for every read-then-write (the job ledger's claims, and each
    service call that changes something): on PostgreSQL it is an ordinary transaction
    (callers use ``FOR UPDATE SKIP LOCKED`` where rows are contended); on SQLite it starts
    with ``BEGIN IMMEDIATE``, which makes it the single writer until it commits, so that it
    waits for the lock up front instead of failing with "database is locked" when its read
    snapshot cannot be upgraded to a write. ``session()`` is for reads (a lone ``UPDATE``
    takes the lock by itself). Nothing slow (password hashing, connector calls) runs inside
    a claim.
    """

    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 10) -> None:
        """``pool_size`` and ``max_overflow``: the PostgreSQL connections this process keeps
        open and may open beyond them (SQLAlchemy's pool)."""
        try:
            parsed = make_url(url)
        except Exception as exc:  # noqa: BLE001 - sqlalchemy raises ArgumentError and others
            raise InvalidInput("invalid database URL", [
                FieldError("SLUICEWAY_DATABASE_URL", f"cannot parse it: {type(exc).__name__}"),
            ]) from None
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise InvalidInput("unsupported metadata database", [
                FieldError("SLUICEWAY_DATABASE_URL",
                           f"{self.dialect!r} is not supported; use sqlite or postgresql"),
            ])
        kwargs: dict[str, Any] = {"future": True}
        if self.dialect == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            kwargs.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)
            self.engine: Engine = create_engine(parsed, **kwargs)
        else:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(parsed, connect_args={"timeout": 30,
                                                              "check_same_thread": False},
                                        **kwargs)
            _sqlite_pragmas(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    @contextmanager
    def claim(self) -> Iterator[Session]:
        if not self.is_sqlite:
            with self.session() as s:
                yield s
            return
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with Session(bind=conn, expire_on_commit=False) as s, s.begin():
                yield s

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - health reports any failure as "down"
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL, a busy timeout and foreign keys; pysqlite's own BEGIN handling is replaced so
    that a claim can ask for ``BEGIN IMMEDIATE`` (SQLAlchemy's documented recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

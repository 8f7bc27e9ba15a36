"""Fixtures of the job tests: a metadata database (SQLite file, PostgreSQL), settings, and
helpers that make a workspace, connector definitions, actors and a connection as rows."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from sluiceway.connectors import registry
from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.secrets import Cipher, seal
from sluiceway.store.db import Database
from sluiceway.store.migrate import upgrade
from sluiceway.store.models import (
    Actor,
    Attempt,
    Connection,
    ConnectorDefinition,
    Job,
    Workspace,
)


@pytest.fixture
def meta_url(metadata_url: str) -> str:
    """The shared metadata database fixture (SQLite, then PostgreSQL) under this suite's name."""
    return metadata_url


def make_settings(meta_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "file_roots": [tmp_path],  # the connectors' files of these tests live there
        "database_url": meta_url,
        "secret_key": SecretStr(Fernet.generate_key().decode()),
        # a lease no busy machine outlasts; heartbeats frequent enough that progress and a
        # cancel show at once. A test that needs a dead worker's lease gone moves it.
        "lease_seconds": 30.0,
        "heartbeat_seconds": 0.5,
        "tick_seconds": 0.3,
        "retry_backoff_seconds": 0.2,
        "workers": 2,
        "job_attempts": 3,
        "parallel_streams": 1,
        "checkpoint_rows": 50_000,
        "buffer_bytes": 4 * 1024 * 1024,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(meta_url: str, tmp_path: Path) -> Settings:
    return make_settings(meta_url, tmp_path)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.metadata_url)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


class World:
    """Rows for the tests: one workspace, definitions on demand, actors and connections."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.cipher = Cipher.from_settings(settings)
        with db.session() as s:
            ws = Workspace(name="test", slug=f"test-{uuid.uuid4().hex[:8]}")
            s.add(ws)
            s.flush()
            self.workspace_id = ws.id
        self._defs: dict[tuple[str, str], str] = {}

    def definition(self, kind: str, name: str) -> str:
        if (kind, name) not in self._defs:
            with self.db.session() as s:
                d = ConnectorDefinition(kind=kind, name=f"{name} {kind}", docker_repository=name,
                                        docker_image_tag="builtin", builtin=True)
                s.add(d)
                s.flush()
                self._defs[(kind, name)] = d.id
        return self._defs[(kind, name)]

    def actor(self, kind: str, name: str, config: dict[str, Any],
              cipher: Cipher | None = None) -> str:
        spec = registry.entry(name, kind).load_spec()  # type: ignore[arg-type]
        sealed = seal(spec, config, cipher or self.cipher)
        with self.db.session() as s:
            a = Actor(workspace_id=self.workspace_id, definition_id=self.definition(kind, name),
                      kind=kind, name=f"{name}-{uuid.uuid4().hex[:6]}", config=sealed)
            s.add(a)
            s.flush()
            return a.id

    def set_config(self, actor_id: str, kind: str, name: str, config: dict[str, Any]) -> None:
        spec = registry.entry(name, kind).load_spec()  # type: ignore[arg-type]
        with self.db.session() as s:
            a = s.get(Actor, actor_id)
            assert a is not None
            a.config = seal(spec, config, self.cipher)

    def connection(self, source: tuple[str, dict[str, Any]],
                   destination: tuple[str, dict[str, Any]], *,
                   sync_mode: str = "full_refresh", destination_sync_mode: str = "overwrite",
                   schedule: tuple[int, str] | None = None, status: str = "active",
                   source_cipher: Cipher | None = None,
                   discover: bool = True, streams: list[str] | None = None) -> str:
        src_id = self.actor("source", source[0], source[1], source_cipher)
        dst_id = self.actor("destination", destination[0], destination[1])
        catalog: dict[str, Any] = {"streams": []}
        names = streams or []
        if discover:
            found = registry.source(source[0]).discover(source[1])
            names = [st.name for st in found.streams]
            for st in found.streams:
                catalog["streams"].append(self._stream(
                    st.name, [f.name for f in st.schema], sync_mode, destination_sync_mode,
                    list(st.default_cursor_field), [list(k) for k in
                                                    st.source_defined_primary_key]))
        else:
            for name in names:
                catalog["streams"].append(self._stream(
                    name, [], sync_mode, destination_sync_mode, [], []))
        with self.db.session() as s:
            c = Connection(workspace_id=self.workspace_id, source_id=src_id,
                           destination_id=dst_id, name=f"conn-{uuid.uuid4().hex[:6]}",
                           sync_mode=sync_mode, catalog=catalog,
                           schedule_units=schedule[0] if schedule else None,
                           schedule_time_unit=schedule[1] if schedule else None,
                           status=status)
            s.add(c)
            s.flush()
            return c.id

    @staticmethod
    def _stream(name: str, fields: list[str], sync_mode: str, dest_mode: str,
                cursor: list[str], pk: list[list[str]]) -> dict[str, Any]:
        return {"name": name, "namespace": None, "selected": True, "sync_mode": sync_mode,
                "destination_sync_mode": dest_mode,
                "cursor_field": cursor if sync_mode == "incremental" else [],
                "primary_key": pk,
                "fields": [{"name": f, "data_type": "string", "selected": True}
                           for f in fields]}

    def sync_job(self, connection_id: str, *, config_type: str = "sync",
                 max_attempts: int | None = None) -> int:
        job = ledger.enqueue_in(self.db, workspace_id=self.workspace_id,
                                config_type=config_type, scope=connection_id,
                                max_attempts=max_attempts or self.settings.job_attempts,
                                unicity=f"sync:{connection_id}")
        return job.id

    def job(self, job_id: int) -> Job:
        with self.db.session() as s:
            job = s.get(Job, job_id)
            assert job is not None
            return job

    def attempts(self, job_id: int) -> list[Attempt]:
        from sqlalchemy import select

        with self.db.session() as s:
            return list(s.scalars(select(Attempt).where(Attempt.job_id == job_id)
                                  .order_by(Attempt.number)).all())

    def wait_job(self, job_id: int, statuses: tuple[str, ...], timeout: float = 60.0) -> Job:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.status in statuses:
                return job
            if time.monotonic() > deadline:
                tried = [(a.status, a.error) for a in self.attempts(job_id)]
                raise AssertionError(f"job {job_id} is {job.status!r} after {timeout} s; "
                                     f"attempts: {tried}")
            time.sleep(0.1)


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    return World(db, settings)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)

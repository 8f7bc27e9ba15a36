"""Attempts run in this process (InlineExecutor): real syncs, retries, fatal errors, reset,
and logs without secrets."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy import event, select

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.executors.inline import InlineExecutor
from sluiceway.jobs.runner import run_attempt, settings_for_child
from sluiceway.protocol.spec import MASK
from sluiceway.secrets import Cipher
from sluiceway.store.db import Database
from sluiceway.store.models import Job, StreamState
from tests.jobs.conftest import World, make_settings, wait_for

SECRET = "pw-Sup3r-s3cret-value"


def _duck(tmp_path: Path) -> dict[str, Any]:
    return {"path": str(tmp_path / "dest.duckdb")}


def _count(path: str, table: str) -> tuple[int, int]:
    with duckdb.connect(path, read_only=True) as con:
        row = con.execute(f'SELECT count(*), count(DISTINCT id) FROM main."{table}"').fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _all_logs(world: World, job_id: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for att in world.attempts(job_id):
        out += ledger.logs(world.db, att.id)
    return out


def test_sync_moves_rows_and_records_stats_and_logs(world: World, tmp_path: Path) -> None:
    dst = _duck(tmp_path)
    conn = world.connection(("sample", {"rows": 3000, "streams": ["events", "orders"],
                                        "batch_size": 500}), ("duckdb", dst))
    job_id = world.sync_job(conn)
    assert InlineExecutor(world.settings, world.db).run_pending() == 1
    job = world.job(job_id)
    assert job.status == "succeeded", job.error
    assert _count(dst["path"], "events") == (3000, 3000)
    assert _count(dst["path"], "orders") == (3000, 3000)
    [att] = world.attempts(job_id)
    assert att.status == "succeeded"
    assert att.ended_at is not None
    assert att.records_synced == 6000
    assert att.bytes_synced > 0
    assert att.stats is not None
    assert {s["stream"]: s["records"] for s in att.stats["streams"]} == {
        "events": 3000, "orders": 3000}
    assert job.output is not None
    assert job.output["records"] == 6000
    lines = [line for _, line in ledger.logs(world.db, att.id)]
    assert any("started" in line for line in lines)
    assert any("stream 'events': succeeded, 3000 records" in line for line in lines)
    assert any("succeeded: 6000 records" in line for line in lines)
    with world.db.session() as s:
        states = {r.stream: r.record for r in s.scalars(
            select(StreamState).where(StreamState.connection_id == conn))}
    assert states["events"] == {"state": {"complete": True}}


def test_postgres_source_sync_logs_no_secret(world: World, tmp_path: Path,
                                              pg_database: dict[str, Any], pg_conn: Any) -> None:
    pg_conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, name text)")
    pg_conn.execute("INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 500) g")
    dst = _duck(tmp_path)
    conn = world.connection(("postgres", dict(pg_database, password=SECRET)), ("duckdb", dst))
    job_id = world.sync_job(conn)
    InlineExecutor(world.settings, world.db).run_pending()
    job = world.job(job_id)
    assert job.status == "succeeded", job.error
    assert _count(dst["path"], "items") == (500, 500)
    text = repr(_all_logs(world, job_id)) + repr(job.output) + repr(world.attempts(job_id))
    assert SECRET not in text


def test_closed_port_retries_with_backoff_then_fails(world: World, tmp_path: Path) -> None:
    src = {"host": "127.0.0.1", "port": 1, "database": "nope", "username": "u",
           "password": SECRET, "ssl_mode": "disable"}
    conn = world.connection(("postgres", src), ("duckdb", _duck(tmp_path)),
                            discover=False, streams=["public.items"])
    job_id = world.sync_job(conn, max_attempts=3)
    runner = InlineExecutor(world.settings, world.db)
    deadline = time.monotonic() + 60
    while world.job(job_id).status not in ("failed", "succeeded"):
        assert time.monotonic() < deadline
        runner.run_pending()
        time.sleep(0.05)
    job = world.job(job_id)
    attempts = world.attempts(job_id)
    assert job.status == "failed"
    assert [a.status for a in attempts] == ["failed"] * 3
    assert job.error is not None
    assert "127.0.0.1:1" in job.error
    # each retry waited its backoff: 0.2 s, then 0.4 s
    gaps = [b.created_at - a.ended_at for a, b in zip(attempts, attempts[1:], strict=False)
            if a.ended_at is not None]
    backoff = world.settings.retry_backoff_seconds
    assert gaps[0] >= backoff * 0.9
    assert gaps[1] >= 2 * backoff * 0.9
    text = repr(_all_logs(world, job_id)) + repr(job.error) + repr([a.error for a in attempts])
    assert SECRET not in text
    assert any(level == "ERROR" and "retryable failure" in line
               for level, line in _all_logs(world, job_id))


def test_fatal_error_does_not_retry(world: World, tmp_path: Path) -> None:
    # the source's secret was sealed with another key: it cannot be decrypted (Fatal)
    other = Cipher(Fernet.generate_key())
    src = {"host": "127.0.0.1", "port": 1, "database": "x", "username": "u",
           "password": SECRET}
    conn = world.connection(("postgres", src), ("duckdb", _duck(tmp_path)),
                            source_cipher=other, discover=False, streams=["public.items"])
    job_id = world.sync_job(conn)
    InlineExecutor(world.settings, world.db).run_pending()
    job = world.job(job_id)
    assert job.status == "failed"
    assert len(world.attempts(job_id)) == 1
    assert job.error is not None
    assert "cannot be decrypted" in job.error


def test_invalid_config_does_not_retry(world: World, tmp_path: Path) -> None:
    conn = world.connection(("sample", {"rows": 10}), ("duckdb", _duck(tmp_path)))
    with world.db.session() as s:
        from sluiceway.store.models import Connection

        c = s.get(Connection, conn)
        assert c is not None
        src_id = c.source_id
    world.set_config(src_id, "source", "sample", {"rows": -5})
    job_id = world.sync_job(conn)
    InlineExecutor(world.settings, world.db).run_pending()
    job = world.job(job_id)
    assert job.status == "failed"
    assert len(world.attempts(job_id)) == 1
    assert job.error is not None
    assert "rows" in job.error


def test_unknown_kind_fails_for_good(world: World) -> None:
    job = ledger.enqueue_in(world.db, workspace_id=world.workspace_id, config_type="bogus",
                            scope="x", max_attempts=3)
    InlineExecutor(world.settings, world.db).run_pending()
    done = world.job(job.id)
    assert done.status == "failed"
    assert done.error == "unknown job kind 'bogus'"


def test_reset_empties_tables_and_clears_state(world: World, tmp_path: Path) -> None:
    dst = _duck(tmp_path)
    conn = world.connection(("sample", {"rows": 2000}), ("duckdb", dst),
                            sync_mode="incremental", destination_sync_mode="append")
    runner = InlineExecutor(world.settings, world.db)
    sync = world.sync_job(conn)
    runner.run_pending()
    assert world.job(sync).status == "succeeded"
    assert _count(dst["path"], "events") == (2000, 2000)
    with world.db.session() as s:
        assert s.scalars(select(StreamState).where(StreamState.connection_id == conn)).all()
    reset = world.sync_job(conn, config_type="reset_connection")
    runner.run_pending()
    job = world.job(reset)
    assert job.status == "succeeded", job.error
    assert _count(dst["path"], "events") == (0, 0)
    with world.db.session() as s:
        assert not s.scalars(select(StreamState).where(StreamState.connection_id == conn)).all()
    # the next incremental sync starts from the beginning again
    again = world.sync_job(conn)
    runner.run_pending()
    assert world.job(again).status == "succeeded"
    assert _count(dst["path"], "events") == (2000, 2000)


def test_context_redacts_secrets_in_stored_lines(world: World, db: Database) -> None:
    job = ledger.enqueue_in(db, workspace_id=world.workspace_id, config_type="sync",
                            scope="x", max_attempts=1)
    att = ledger.claim(db, "w", None, 30)
    assert att is not None
    ctx = AttemptContext(settings=world.settings, db=db, job_id=job.id, attempt_id=att.id)
    ctx.log("INFO", f"before the secret is known: {SECRET}")
    ctx.add_secrets([SECRET])
    ctx.log("INFO", f"connect with password={SECRET}")
    ctx.flush()
    lines = [line for _, line in ledger.logs(db, att.id)]
    assert lines == [f"before the secret is known: {MASK}", f"connect with password={MASK}"]


def test_settings_for_child_keeps_secret_values(settings: Settings) -> None:
    values = settings_for_child(settings)
    assert settings.secret_key is not None
    assert values["secret_key"] == settings.secret_key.get_secret_value()
    rebuilt = Settings(**values)
    assert rebuilt.secret_key is not None
    assert rebuilt.secret_key.get_secret_value() == settings.secret_key.get_secret_value()
    assert rebuilt.metadata_url == settings.metadata_url
    assert rebuilt.lease_seconds == settings.lease_seconds
    assert rebuilt.heartbeat_interval == settings.heartbeat_interval


@pytest.mark.parametrize(("lease", "heartbeat", "interval"), [
    (30.0, None, 10.0),  # unset: a third of the lease
    (30.0, 0.5, 0.5),
    (10.0, 9.5, 9.5),
])
def test_heartbeat_interval_is_the_setting_or_a_third_of_the_lease(
        lease: float, heartbeat: float | None, interval: float) -> None:
    settings = Settings(lease_seconds=lease, heartbeat_seconds=heartbeat)
    assert settings.heartbeat_interval == interval


@pytest.mark.parametrize(("lease", "heartbeat", "reason"), [
    (30.0, 30.0, "heartbeat_seconds must be less than lease_seconds"),
    (10.0, 20.0, "heartbeat_seconds must be less than lease_seconds"),
    (30.0, 0.0, "heartbeat_seconds\n.*more than 0 seconds"),
    (30.0, -1.0, "heartbeat_seconds\n.*more than 0 seconds"),
])
def test_a_heartbeat_that_would_lose_the_lease_is_refused(
        lease: float, heartbeat: float, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Settings(lease_seconds=lease, heartbeat_seconds=heartbeat)


def test_a_running_attempt_looks_for_a_cancel_every_cancel_poll_seconds(
        meta_url: str, db: Database, tmp_path: Path) -> None:
    # heartbeats are rare here: only the cancel looks can stop the sync soon
    quick = make_settings(meta_url, tmp_path, heartbeat_seconds=20.0, cancel_poll_seconds=0.2)
    world = World(db, quick)
    conn = world.connection(("sample", {"rows": 100_000_000, "batch_size": 10_000}),
                            ("duckdb", _duck(tmp_path)))
    job_id = world.sync_job(conn)
    attempt = ledger.claim(db, "w", None, quick.lease_seconds)
    assert attempt is not None
    looks: list[float] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if re.match(r"SELECT jobs\.cancel_requested, jobs\.cancel_mode\s+FROM jobs", statement):
            looks.append(time.monotonic())

    event.listen(db.engine, "before_cursor_execute", seen)
    runner = threading.Thread(target=run_attempt, args=(quick, attempt.id), kwargs={"db": db})
    runner.start()
    try:
        # five looks take a second at 0.2 s (five at the former fixed 1 s would take five)
        wait_for(lambda: len(looks) >= 5, 3.5, "five looks for a cancel")
    finally:  # stop the sync whatever happened
        with db.claim() as s:
            job = s.get(Job, job_id)
            assert job is not None
            ledger.request_cancel(s, job)
        asked = time.monotonic()
        runner.join(30)
        stopped = time.monotonic() - asked
        event.remove(db.engine, "before_cursor_execute", seen)
    assert not runner.is_alive()
    assert world.job(job_id).status == "cancelled"
    assert stopped < 5.0  # seen by a look, 20 s before the next heartbeat

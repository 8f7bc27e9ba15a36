"""Attempts in worker processes (LocalExecutor): a SIGKILLed worker is retried without
losing or doubling a row; a cancel ends a running sync promptly and keeps the old data."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import select

from sluiceway.jobs import ledger
from sluiceway.jobs.executors.inline import InlineExecutor
from sluiceway.jobs.executors.local import LocalExecutor
from sluiceway.jobs.runtime import JobRuntime
from sluiceway.store.models import Connection, Job, StreamState
from tests.jobs.conftest import World, wait_for


def _counts(path: str, table: str = "events") -> tuple[int, int]:
    with duckdb.connect(path, read_only=True) as con:
        row = con.execute(f'SELECT count(*), count(DISTINCT id) FROM main."{table}"').fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.fixture
def executor(world: World) -> Iterator[LocalExecutor]:
    ex = LocalExecutor(world.settings, world.db)
    ex.start()
    try:
        yield ex
    finally:
        ex.stop()


def _idle(ex: LocalExecutor) -> None:
    wait_for(lambda: not ex.running(), 60, "the worker processes to exit")


def _checkpoint(world: World, conn: str) -> int:
    """The ``next_id`` of the last committed checkpoint of an unfinished sync (0: none)."""
    with world.db.session() as s:
        row = s.scalars(select(StreamState).where(StreamState.connection_id == conn,
                                                  StreamState.stream == "events")).first()
        record = dict(row.record) if row is not None else {}
    state = record.get("state") or {}
    return int(state.get("next_id", 0)) if record.get("pending") else 0


def test_sigkilled_worker_is_retried_and_loses_no_row(world: World, executor: LocalExecutor,
                                                      tmp_path: Path) -> None:
    rows = 600_000
    dst = {"path": str(tmp_path / "dest.duckdb")}
    conn = world.connection(("sample", {"rows": rows, "batch_size": 10_000}), ("duckdb", dst))
    job_id = world.sync_job(conn)
    executor.wake()
    wait_for(lambda: _checkpoint(world, conn) > 100_000, 60, "two committed checkpoints")
    [first] = world.attempts(job_id)
    assert first.pid is not None
    assert first.pid in executor.running().values()
    os.kill(first.pid, signal.SIGKILL)
    job = world.wait_job(job_id, ("succeeded", "failed", "cancelled"), timeout=120)
    attempts = world.attempts(job_id)
    assert job.status == "succeeded", [(a.status, a.error) for a in attempts]
    assert attempts[0].status == "failed"
    assert attempts[0].error == f"worker exited with code {-signal.SIGKILL}"
    assert attempts[-1].status == "succeeded"
    assert attempts[-1].stats is not None
    assert attempts[-1].stats["streams"][0]["resumed"]
    _idle(executor)
    assert _counts(dst["path"]) == (rows, rows)


def test_cancel_of_a_running_sync_is_prompt_and_keeps_old_rows(
        world: World, executor: LocalExecutor, tmp_path: Path) -> None:
    dst = {"path": str(tmp_path / "dest.duckdb")}
    conn = world.connection(("sample", {"rows": 1000}), ("duckdb", dst))
    first = world.sync_job(conn)
    executor.wake()
    assert world.wait_job(first, ("succeeded", "failed"), 60).status == "succeeded"
    _idle(executor)
    assert _counts(dst["path"]) == (1000, 1000)
    with world.db.session() as s:
        c = s.get(Connection, conn)
        assert c is not None
        src_id = c.source_id
    world.set_config(src_id, "source", "sample", {"rows": 100_000_000, "batch_size": 10_000})
    job_id = world.sync_job(conn)
    executor.wake()

    def reading() -> bool:
        return any(a.records_synced > 0 for a in world.attempts(job_id))

    wait_for(reading, 60, "the second sync to move records")
    asked = time.monotonic()
    with world.db.claim() as s:
        job = s.get(Job, job_id)
        assert job is not None
        ledger.request_cancel(s, job)
    done = world.wait_job(job_id, ("cancelled", "failed", "succeeded"), timeout=15)
    assert done.status == "cancelled"
    assert time.monotonic() - asked < 15
    [att] = world.attempts(job_id)
    assert att.status == "cancelled"
    _idle(executor)
    assert _counts(dst["path"]) == (1000, 1000)  # the overwrite never swapped in


def test_runtime_fires_a_schedule_and_runs_it(world: World, tmp_path: Path) -> None:
    dst = {"path": str(tmp_path / "dest.duckdb")}
    conn = world.connection(("sample", {"rows": 500}), ("duckdb", dst), schedule=(1, "hours"))
    runtime = JobRuntime(world.settings, world.db, LocalExecutor(world.settings, world.db))
    runtime.start()
    try:
        def jobs() -> list[Any]:
            with world.db.session() as s:
                return list(s.scalars(select(Job).where(Job.scope == conn)).all())

        wait_for(lambda: any(j.status == "succeeded" for j in jobs()), 60, "a scheduled sync")
        assert len(jobs()) == 1
    finally:
        runtime.stop()
    assert _counts(dst["path"]) == (500, 500)
    with world.db.session() as s:
        c = s.get(Connection, conn)
        assert c is not None
        assert c.next_run_at is not None
        assert c.next_run_at > time.time() + 3500


def test_stop_fails_running_attempts_retryably(world: World, tmp_path: Path) -> None:
    dst = {"path": str(tmp_path / "dest.duckdb")}
    conn = world.connection(("sample", {"rows": 100_000_000, "batch_size": 10_000}),
                            ("duckdb", dst))
    job_id = world.sync_job(conn)
    ex = LocalExecutor(world.settings, world.db)
    ex.start()
    try:
        wait_for(lambda: any(a.records_synced > 0 for a in world.attempts(job_id)), 60,
                 "the sync to move records")
    finally:
        ex.stop()
    [att] = world.attempts(job_id)
    assert att.status == "failed"
    assert att.error == "worker stopped: the executor shut down"
    assert world.job(job_id).status == "incomplete"
    # a restart picks it up: here in-process, with a small source
    with world.db.session() as s:
        c = s.get(Connection, conn)
        assert c is not None
        src_id = c.source_id
    world.set_config(src_id, "source", "sample", {"rows": 300})
    wait_for(lambda: world.job(job_id).scheduled_at <= time.time(), 60, "the retry to be due")
    InlineExecutor(world.settings, world.db).run_pending()
    assert world.job(job_id).status == "succeeded"


def test_progress_rises_while_a_sync_runs_and_ends_at_one(world: World,
                                                          executor: LocalExecutor,
                                                          tmp_path: Path) -> None:
    """The sample source tells its size; the heartbeat stores the fraction done."""
    dst = {"path": str(tmp_path / "p.duckdb")}
    conn = world.connection(("sample", {"rows": 600_000, "batch_size": 10_000}), ("duckdb", dst))
    job_id = world.sync_job(conn)
    executor.wake()
    seen: list[float] = []

    def midway() -> bool:
        job = world.job(job_id)
        if job.status == "running":
            seen.append(job.progress)
        return any(0.0 < p < 1.0 for p in seen)

    wait_for(midway, 60, "a progress between 0 and 1 while running")
    job = world.wait_job(job_id, ("succeeded", "failed", "cancelled"), timeout=120)
    assert job.status == "succeeded"
    assert job.progress == 1.0
    assert seen == sorted(seen)  # it only goes up

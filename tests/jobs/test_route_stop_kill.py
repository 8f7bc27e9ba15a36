"""Stop and kill of a running route or sync (#105-108): a stop lets the chunk in hand commit
and ends the run there (every entity read is one finished task and one row, nothing left in
``processing``; a sync commits its next checkpoint and a later run resumes from it); a kill
ends the attempt at once (well within the cancel's grace), and the tasks of its uncommitted
chunk become ``failed``, to be retried. The flag travels as cancel does (the ledger, read by
the attempt's heartbeat), for any executor."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sluiceway.core.errors import Cancelled
from sluiceway.jobs import ledger, runner
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.executors.local import CANCEL_GRACE_SECONDS, LocalExecutor
from sluiceway.jobs.kinds import route
from sluiceway.store.models import Connection, Job, Task
from tests.jobs.conftest import World, wait_for
from tests.jobs.test_local import _checkpoint, _counts
from tests.jobs.test_schedule_entries import _config

ROUTE = "events"


def _route(world: World, tmp_path: Path, rows: int) -> Path:
    out = tmp_path / "out.db"
    with sqlite3.connect(out) as db:
        db.execute("CREATE TABLE events_out (id INTEGER PRIMARY KEY, event_type TEXT)")
    _config(world, "incoming-configuration", "events-in", "sample", {
        "configuration": {"rows": rows, "batch_size": 1000}, "stream": "events",
        "identifierField": "id"})
    _config(world, "outgoing-configuration", "events-out", "sqlite", {
        "configuration": {"path": str(out)}, "stream": "events_out", "key": ["id"]})
    _config(world, "transformer", "slim", "jsonata",
            {"expression": '{"id": id, "event_type": event_type}'})
    _config(world, "route-configuration", ROUTE, "route",
            {"incoming": "events-in", "outgoing": "events-out", "transformers": ["slim"]})
    return out


def _job(world: World) -> int:
    return ledger.enqueue_in(world.db, workspace_id=world.workspace_id, config_type="route",
                             scope=ROUTE, max_attempts=1,
                             input={"workspace_id": world.workspace_id, "route": ROUTE}).id


def _statuses(world: World) -> dict[str, int]:
    with world.db.session() as s:
        return {str(k): int(n) for k, n in s.execute(
            select(Task.status, func.count()).group_by(Task.status))}


def _rows(out: Path) -> tuple[int, int]:
    with sqlite3.connect(out) as db:
        row = db.execute("SELECT count(*), count(DISTINCT id) FROM events_out").fetchone()
    return int(row[0]), int(row[1])


@dataclass
class _StopsAfter(AttemptContext):
    """An attempt asked to stop once it handed on ``after`` entities."""

    after: int = 0

    def progress(self, records: int, bytes_: int, *, estimate: int | None = None) -> None:
        super().progress(records, bytes_, estimate=estimate)
        if records >= self.after:
            self.stop.set()


def test_a_stopped_route_commits_its_chunk_in_hand_and_ends_there(
        world: World, tmp_path: Path) -> None:
    out = _route(world, tmp_path, 10_000)
    job_id = _job(world)
    ctx = _StopsAfter(settings=world.settings, db=world.db, job_id=job_id, attempt_id=0,
                      scope=ROUTE, input={"workspace_id": world.workspace_id, "route": ROUTE},
                      kind="route", after=2 * route.CHUNK)
    with pytest.raises(Cancelled, match="stopped"):
        route.run(ctx)
    assert _statuses(world) == {"finished": 2 * route.CHUNK}
    assert _rows(out) == (2 * route.CHUNK, 2 * route.CHUNK)


def test_stop_and_kill_travel_as_cancel_does(world: World, tmp_path: Path) -> None:
    _route(world, tmp_path, 10)
    job_id = _job(world)
    with world.db.claim() as s:  # as a worker claims it
        s.get_one(Job, job_id).status = "running"
    with world.db.claim() as s:
        ledger.request_cancel(s, s.get_one(Job, job_id), "stop")
    assert ledger.requested(world.db, job_id) == "stop"
    assert not ledger.cancel_requested(world.db, job_id)

    def looked(kind: str) -> tuple[bool, bool]:
        ctx = AttemptContext(settings=world.settings, db=world.db, job_id=job_id,
                             attempt_id=0, kind=kind)
        runner._look(ctx)
        return ctx.stop.is_set(), ctx.cancel.is_set()

    assert looked("route") == (True, False)  # a route ends after its chunk
    assert looked("sync") == (True, False)  # a sync after its next checkpoint
    assert looked("dump") == (True, True)  # the others take a stop as a cancel
    with world.db.claim() as s:
        ledger.request_cancel(s, s.get_one(Job, job_id), "kill")
    assert ledger.requested(world.db, job_id) == "cancel"
    with world.db.claim() as s:  # a stop after a kill does not soften it
        ledger.request_cancel(s, s.get_one(Job, job_id), "stop")
    with world.db.session() as s:
        job = s.get_one(Job, job_id)
        assert (job.cancel_requested, job.cancel_mode) == (True, "kill")
    with world.db.claim() as s, pytest.raises(ValueError, match="unknown"):
        ledger.request_cancel(s, s.get_one(Job, job_id), "pause")


@pytest.fixture
def executor(world: World) -> Iterator[LocalExecutor]:
    ex = LocalExecutor(world.settings, world.db)
    ex.start()
    try:
        yield ex
    finally:
        ex.stop()


def _running_route(world: World, executor: LocalExecutor, tmp_path: Path,
                   ) -> tuple[int, Path]:
    out = _route(world, tmp_path, 100_000_000)
    job_id = _job(world)
    executor.wake()
    wait_for(lambda: _statuses(world).get("finished", 0) >= route.CHUNK, 60,
             "the route to finish a chunk")
    return job_id, out


def _end(world: World, job_id: int, how: str) -> float:
    with world.db.claim() as s:
        ledger.request_cancel(s, s.get_one(Job, job_id), how)
    return time.monotonic()


def test_a_stop_through_the_local_executor_leaves_every_read_entity_finished_once(
        world: World, executor: LocalExecutor, tmp_path: Path) -> None:
    job_id, out = _running_route(world, executor, tmp_path)
    _end(world, job_id, "stop")
    done = world.wait_job(job_id, ("cancelled", "failed", "succeeded"), timeout=30)
    assert done.status == "cancelled"
    assert "stopped" in str(done.error)
    wait_for(lambda: not executor.running(), 30, "the worker to exit")
    statuses = _statuses(world)
    assert set(statuses) == {"finished"}
    assert _rows(out) == (statuses["finished"], statuses["finished"])


def test_a_kill_ends_the_attempt_at_once_and_its_uncommitted_tasks_stay_retryable(
        world: World, executor: LocalExecutor, tmp_path: Path) -> None:
    job_id, out = _running_route(world, executor, tmp_path)
    asked = _end(world, job_id, "kill")
    done = world.wait_job(job_id, ("cancelled", "failed", "succeeded"), timeout=30)
    assert done.status == "cancelled"
    assert time.monotonic() - asked < CANCEL_GRACE_SECONDS
    [attempt] = world.attempts(job_id)
    assert (attempt.status, attempt.error) == ("cancelled", "killed")
    wait_for(lambda: not executor.running(), 30, "the worker to exit")
    statuses: dict[str, Any] = _statuses(world)
    assert "processing" not in statuses
    assert set(statuses) <= {"finished", "failed"}
    rows, distinct = _rows(out)
    assert rows == distinct
    # every finished task's row committed; a failed one's may have (the kill fell between
    # the write and the task's outcome): a retry upserts it once
    assert statuses["finished"] <= rows <= statuses["finished"] + statuses.get("failed", 0)
    with world.db.session() as s:
        errors = set(s.scalars(select(Task.error).where(Task.status == "failed")))
    assert errors <= {"killed: the entity was not written; retry it"}


def test_a_stopped_sync_commits_its_checkpoint_and_the_next_run_resumes_there(
        world: World, executor: LocalExecutor, tmp_path: Path) -> None:
    dst = {"path": str(tmp_path / "dest.duckdb")}
    conn = world.connection(("sample", {"rows": 100_000_000, "batch_size": 10_000}),
                            ("duckdb", dst))
    job_id = world.sync_job(conn)
    executor.wake()
    wait_for(lambda: any(a.records_synced > 0 for a in world.attempts(job_id)), 60,
             "the sync to move records")
    _end(world, job_id, "stop")
    done = world.wait_job(job_id, ("cancelled", "failed", "succeeded"), timeout=60)
    assert done.status == "cancelled"
    [attempt] = world.attempts(job_id)
    assert attempt.status == "cancelled"
    wait_for(lambda: not executor.running(), 30, "the worker to exit")
    committed = _checkpoint(world, conn) - 1  # next_id: the rows before it are written
    assert committed > 0
    assert committed % world.settings.checkpoint_rows == 0
    # the next run resumes at the checkpoint: a total just past it, each row once
    with world.db.session() as s:
        source_id = s.get_one(Connection, conn).source_id
    world.set_config(source_id, "source", "sample", {"rows": committed + 1000,
                                                       "batch_size": 10_000})
    again = world.sync_job(conn)
    executor.wake()
    finished = world.wait_job(again, ("cancelled", "failed", "succeeded"), timeout=120)
    assert finished.status == "succeeded", finished.error
    [resumed] = world.attempts(again)
    assert resumed.stats is not None
    assert resumed.stats["streams"][0]["resumed"]
    wait_for(lambda: not executor.running(), 30, "the worker to exit")
    assert _counts(dst["path"]) == (committed + 1000, committed + 1000)


def test_a_route_killed_mid_run_then_run_again_ends_with_each_entity_once(
        world: World, executor: LocalExecutor, pg_database: dict[str, Any],
        pg_conn: Any) -> None:
    """The route of the benchmark's shape (change detection on, a PostgreSQL outgoing on a
    kept connection) killed while it writes (its worker process ended at once), then run
    again: every entity is one row, none lost, none doubled; each has exactly one
    ``finished`` task (what the first run finished is unchanged in the second, so recorded
    once), and nothing is left in ``processing``."""
    rows = 60_000
    _config(world, "storage", "seen", "storage", {"ttlSeconds": None})
    _config(world, "incoming-configuration", "events-in", "sample", {
        "configuration": {"rows": rows, "batch_size": 1000}, "stream": "events",
        "identifierField": "id"})
    _config(world, "outgoing-configuration", "events-out", "postgres", {
        "configuration": pg_database, "stream": "events_out", "key": ["id"]})
    _config(world, "transformer", "slim", "jsonata",
            {"expression": '{"id": id, "event_type": event_type}'})
    _config(world, "route-configuration", ROUTE, "route", {
        "incoming": "events-in", "outgoing": "events-out", "transformers": ["slim"],
        "changeDetection": {"storage": "seen"}})
    job_id = _job(world)
    executor.wake()
    wait_for(lambda: _statuses(world).get("finished", 0) >= route.CHUNK, 60,
             "the route to finish a chunk")
    _end(world, job_id, "kill")
    assert world.wait_job(job_id, ("cancelled", "failed", "succeeded"), 30).status == \
        "cancelled"
    wait_for(lambda: not executor.running(), 30, "the worker to exit")
    killed = _statuses(world)
    assert "processing" not in killed
    assert killed["finished"] < rows  # it was killed mid-run
    again = _job(world)
    executor.wake()
    assert world.wait_job(again, ("cancelled", "failed", "succeeded"), 120).status == \
        "succeeded"
    assert pg_conn.execute("SELECT count(*), count(DISTINCT id), min(id), max(id) "
                           "FROM events_out").fetchone() == (rows, rows, 1, rows)
    with world.db.session() as s:
        per_entity = dict(s.execute(
            select(Task.entity_identifier, func.count()).where(Task.status == "finished")
            .group_by(Task.entity_identifier)).all())
        processing = s.scalar(select(func.count()).where(Task.status == "processing"))
    assert len(per_entity) == rows
    assert set(per_entity.values()) == {1}
    assert processing == 0

"""The per-day figures of a space's syncs (``run_days``), added to as attempts end, equal the
aggregate over the attempts after many kinds of runs over several days (SQLite and
PostgreSQL); the migration fills the table from the attempts that had ended."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import pytest
from sqlalchemy import delete, select, text

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger, run_days
from sluiceway.store import migrate
from sluiceway.store.db import Database
from sluiceway.store.models import Attempt, Job, RunDay, Workspace
from tests.jobs.conftest import World, wait_for

DAY = 86_400.0
#: 2026-03-10 00:00 UTC
MIDNIGHT = 1_773_100_800.0

Figures = dict[tuple[str, int], tuple[int, int, float, int, int]]


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@contextmanager
def ledger_clock(t: float) -> Iterator[Clock]:
    clock = Clock(t)
    with patch.object(ledger, "now", clock):
        yield clock


def _aggregate(db: Database) -> Figures:
    """What the overview grouped before: every ended attempt of a sync, by space and the
    UTC day it ended."""
    out: dict[tuple[str, int], list[Any]] = collections.defaultdict(lambda: [0, 0, 0.0, 0, 0])
    with db.session() as s:
        for ws, kind, status, n, b, began, ended in s.execute(
                select(Job.workspace_id, Job.config_type, Attempt.status,
                       Attempt.records_synced, Attempt.bytes_synced, Attempt.created_at,
                       Attempt.ended_at).join(Job, Job.id == Attempt.job_id)):
            if kind != "sync" or ended is None:
                continue
            f = out[(ws, int(ended // DAY))]
            f[0] += n
            f[1] += b
            f[2] += ended - began
            f[3] += 1
            f[4] += status == "failed"
    return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in out.items()}


def _table(db: Database) -> Figures:
    with db.session() as s:
        return {(r.workspace_id, r.day): (r.records, r.bytes, r.seconds, r.runs, r.failed)
                for r in s.scalars(select(RunDay))}


def _same(a: Figures, b: Figures) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k][:2] == b[k][:2], k
        assert a[k][3:] == b[k][3:], k
        assert a[k][2] == pytest.approx(b[k][2], rel=1e-12), k


def _sync(world: World, clock: Clock, connection: str, *, seconds: float, records: int,
          outcome: str = "succeeded", retryable: bool = False, kind: str = "sync",
          workspace_id: str | None = None) -> int:
    job = ledger.enqueue_in(world.db, workspace_id=workspace_id or world.workspace_id,
                            config_type=kind, scope=connection, max_attempts=2)
    attempt = ledger.claim(world.db, "w", None, 60.0, job_id=job.id)
    assert attempt is not None
    clock.t += seconds
    ledger.finish(world.db, attempt.id, outcome, settings=world.settings, records=records,
                  bytes_=records * 10, retryable=retryable)
    return job.id


def test_the_days_equal_the_aggregate_over_the_attempts(world: World, db: Database,
                                                        settings: Settings) -> None:
    with db.session() as s:
        other = Workspace(name="other", slug="other-space")
        s.add(other)
        s.flush()
        other_id = other.id
    with ledger_clock(MIDNIGHT - 3 * DAY + 100) as clock:
        for day in range(4):  # four days, each run across noon and one across midnight
            clock.t = MIDNIGHT - (3 - day) * DAY + 11 * 3600
            _sync(world, clock, "c1", seconds=7200.25, records=100 + day)
            _sync(world, clock, "c2", seconds=3.5, records=0, outcome="failed")
            _sync(world, clock, "c3", seconds=60, records=5, workspace_id=other_id)
            _sync(world, clock, "c1", seconds=30, records=9, kind="reset_connection")
        clock.t = MIDNIGHT + DAY - 60  # ends after midnight: counted on the day it ended
        _sync(world, clock, "c1", seconds=120, records=7)
        # a failure retried: two attempts, the first failed
        job_id = _sync(world, clock, "c4", seconds=10, records=1, outcome="failed",
                       retryable=True)
        clock.t += 3600
        retry = ledger.claim(db, "w", None, 60.0, job_id=job_id)
        assert retry is not None
        clock.t += 15
        ledger.finish(db, retry.id, "succeeded", settings=settings, records=42)
        # cancelled while it waited: its queued attempt ends then
        waiting = ledger.enqueue_in(db, workspace_id=world.workspace_id, config_type="sync",
                                    scope="c5", max_attempts=1)
        clock.t += 90
        with db.claim() as s:
            ledger.request_cancel(s, s.get_one(Job, waiting.id))
        # cancelled while it ran: the worker's failure becomes a cancel
        running = ledger.enqueue_in(db, workspace_id=world.workspace_id, config_type="sync",
                                    scope="c6", max_attempts=1)
        attempt = ledger.claim(db, "w", None, 60.0, job_id=running.id)
        assert attempt is not None
        with db.claim() as s:
            ledger.request_cancel(s, s.get_one(Job, running.id))
        clock.t += 5
        ledger.finish(db, attempt.id, "failed", settings=settings, records=3)
        # a worker lost: the reaper ends its attempt
        lost = ledger.enqueue_in(db, workspace_id=world.workspace_id, config_type="sync",
                                 scope="c7", max_attempts=1)
        attempt = ledger.claim(db, "w", None, 60.0, job_id=lost.id)
        assert attempt is not None
        clock.t += 120
        assert ledger.reap(db, settings) == [attempt.id]
        # still running: not counted yet
        ledger.enqueue_in(db, workspace_id=world.workspace_id, config_type="sync",
                          scope="c8", max_attempts=1)
        assert ledger.claim(db, "w", None, 60.0) is not None
    table, aggregate = _table(db), _aggregate(db)
    _same(table, aggregate)
    assert len(table) == 5 + 4  # the space's four days and the next one, the other's four
    assert table[(world.workspace_id, int(MIDNIGHT // DAY) - 3)] == pytest.approx(
        (100, 1000, 7203.75, 2, 1))
    assert sum(f[3] for f in table.values()) == 4 * 3 + 1 + 2 + 1 + 1 + 1
    with db.session() as s:  # and the benchmark's rebuild from the attempts agrees
        run_days.rebuild(s)
    _same(_table(db), aggregate)
    with db.session() as s:  # a space deleted (as spaces.delete_space does) takes its days
        s.execute(delete(Job).where(Job.workspace_id == other_id))
        s.delete(s.get_one(Workspace, other_id))
    assert {ws for ws, _ in _table(db)} == {world.workspace_id}


def test_the_migration_fills_the_days_from_the_ended_attempts(settings: Settings) -> None:
    db = Database(settings.metadata_url)
    try:
        migrate.upgrade(db, "0940")
        with db.session() as s:  # the tables these rows go to are as 0940 left them
            ws = Workspace(name="W", slug="w1")
            s.add(ws)
            s.flush()
            ws_id = ws.id
            for kind, status, began, ended, records in [
                    ("sync", "succeeded", MIDNIGHT + 60, MIDNIGHT + 18 * 3600.5, 10),
                    ("sync", "failed", MIDNIGHT + 100, MIDNIGHT + 20 * 3600, 0),
                    ("sync", "succeeded", MIDNIGHT - DAY, MIDNIGHT - DAY + 10, 3),
                    ("sync", "running", MIDNIGHT, None, 99),
                    ("reset_connection", "succeeded", MIDNIGHT, MIDNIGHT + 5, 1)]:
                job = Job(workspace_id=ws_id, config_type=kind, scope="c", status=status)
                s.add(job)
                s.flush()
                s.add(Attempt(job_id=job.id, number=1, status=status, records_synced=records,
                              bytes_synced=5, created_at=began, ended_at=ended))
        migrate.upgrade(db)
        table = _table(db)
        _same(table, _aggregate(db))
        today = int(MIDNIGHT // DAY)
        assert table[(ws_id, today)][3:] == (2, 1)  # an evening's runs stay on their day
        assert table[(ws_id, today - 1)][0] == 3
    finally:
        db.dispose()


def test_cancelling_several_jobs_never_deadlocks_with_an_ending_attempt(
        world: World, db: Database, settings: Settings) -> None:
    """A connection's jobs cancelled together (its deletion) while one of them ends: the
    ender holds its job and then adds to the space's day; the canceller adds a waiting
    job's queued attempt to the same day. Locking every job first keeps the day free until
    the canceller holds them all, so neither waits for the other in a cycle."""
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: no row locks to order")
    waiting = ledger.enqueue_in(db, workspace_id=world.workspace_id, config_type="sync",
                                scope="c1", max_attempts=1)
    running = ledger.enqueue_in(db, workspace_id=world.workspace_id, config_type="sync",
                                scope="c1", max_attempts=1)
    attempt = ledger.claim(db, "w", None, 60.0, job_id=running.id)
    assert attempt is not None
    assert waiting.id < running.id
    outcome: dict[str, BaseException | None] = {}

    def cancel_both() -> None:
        try:
            with db.claim() as s:
                ledger.request_cancel_all(s, list(s.scalars(
                    select(Job).where(Job.id.in_((waiting.id, running.id))))))
            outcome["cancel"] = None
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["cancel"] = exc

    with db.session() as ender:  # the ender's first steps: its attempt, then its job
        ender.execute(select(Attempt.id).where(Attempt.id == attempt.id).with_for_update())
        ender.execute(select(Job.id).where(Job.id == running.id).with_for_update())
        canceller = threading.Thread(target=cancel_both)
        canceller.start()
        wait_for(lambda: _waiting_on_a_lock(db), 30.0, "the canceller to wait for the job")
        # the ender's next step: its day. It would wait on the canceller's uncommitted day
        # row in a cycle (PostgreSQL then aborts one of them) if that row were held.
        run_days.add(ender, world.workspace_id, began=0.0, ended=time.time(), records=1,
                     bytes_=1, failed=False)
    canceller.join(60.0)
    assert not canceller.is_alive()
    assert outcome == {"cancel": None}
    assert world.job(waiting.id).status == "cancelled"
    assert world.job(running.id).cancel_requested
    with db.session() as s:
        assert s.scalar(select(RunDay.runs).where(
            RunDay.workspace_id == world.workspace_id)) == 2


def _waiting_on_a_lock(db: Database) -> bool:
    with db.session() as s:
        return bool(s.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")))

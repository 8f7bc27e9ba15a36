"""The scheduler fires each due connection once, whatever the number of schedulers or
restarts, and skips missed slots instead of firing a backlog."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.jobs.runtime import JobRuntime
from sluiceway.jobs.scheduler import Scheduler, next_slot
from sluiceway.store.db import Database
from sluiceway.store.models import Attempt, Connection, Job
from tests.jobs.conftest import World, make_settings, wait_for

HOUR = 3600.0


def _conn(world: World, tmp_path: Path, schedule: tuple[int, str] | None = (1, "hours"),
          status: str = "active") -> str:
    return world.connection(("sample", {"rows": 10}),
                            ("duckdb", {"path": str(tmp_path / "d.duckdb")}),
                            schedule=schedule, status=status)


def _next_run(db: Database, conn: str) -> float | None:
    with db.session() as s:
        c = s.get(Connection, conn)
        assert c is not None
        return c.next_run_at


def _jobs(db: Database, conn: str) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Job).where(Job.scope == conn))
                   or 0)


def test_fires_once_then_waits_for_the_next_slot(world: World, tmp_path: Path) -> None:
    conn = _conn(world, tmp_path)
    sched = Scheduler(world.settings, world.db)
    t = 1_800_000_000.0
    fired = sched.tick(t)
    assert len(fired) == 1
    job = world.job(fired[0])
    assert (job.config_type, job.scope, job.unicity) == ("sync", conn, f"sync:{conn}")
    assert job.max_attempts == world.settings.job_attempts
    assert _next_run(world.db, conn) == t + HOUR
    assert sched.tick(t + 10) == []
    assert sched.tick(t + HOUR - 1) == []
    # the slot comes while the first run is still active: no overlapping run
    assert sched.tick(t + HOUR) == []
    assert _next_run(world.db, conn) == t + 2 * HOUR
    assert _jobs(world.db, conn) == 1
    att = ledger.claim(world.db, "w", None, 30)
    assert att is not None
    ledger.finish(world.db, att.id, "succeeded", settings=world.settings)
    assert len(sched.tick(t + 2 * HOUR + 5)) == 1
    assert _jobs(world.db, conn) == 2


def test_two_schedulers_do_not_double_fire(world: World, settings: Settings,
                                           tmp_path: Path) -> None:
    conns = [_conn(world, tmp_path) for _ in range(3)]
    t = 1_800_000_000.0
    fired: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def run() -> None:
        db = Database(settings.metadata_url)  # a scheduler of another server process
        try:
            sched = Scheduler(settings, db)
            barrier.wait()
            for i in range(5):
                got = sched.tick(t + i)
                with lock:
                    fired.extend(got)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(fired) == 3 == len(set(fired))
    for conn in conns:
        assert _jobs(world.db, conn) == 1
        assert _next_run(world.db, conn) == t + HOUR


def test_missed_slots_after_a_restart_fire_once(world: World, tmp_path: Path) -> None:
    conn = _conn(world, tmp_path)
    t = 1_800_000_000.0
    old = t - 10.5 * HOUR  # the server was down for ten slots
    with world.db.session() as s:
        s.execute(update(Connection).where(Connection.id == conn).values(next_run_at=old))
    sched = Scheduler(world.settings, world.db)
    assert len(sched.tick(t)) == 1
    assert _next_run(world.db, conn) == old + 11 * HOUR  # the series is kept, in the future
    restarted = Scheduler(world.settings, world.db)
    for i in range(5):
        assert restarted.tick(t + i) == []
    assert _jobs(world.db, conn) == 1


def test_only_active_scheduled_connections_fire(world: World, tmp_path: Path) -> None:
    _conn(world, tmp_path, schedule=None)
    _conn(world, tmp_path, status="inactive")
    _conn(world, tmp_path, schedule=(1, "fortnights"))
    assert Scheduler(world.settings, world.db).tick(1_800_000_000.0) == []


def _ts(year: int, month: int, day: int, hour: int = 0) -> float:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(("anchor", "units", "unit", "after", "want"), [
    (0.0, 5, "minutes", 0.0, 300.0),
    (0.0, 5, "minutes", 299.0, 300.0),
    (0.0, 5, "minutes", 300.0, 600.0),
    (0.0, 2, "hours", 7 * 3600.0 + 1, 8 * 3600.0),
    (0.0, 1, "days", 86_400 * 3.5, 86_400 * 4.0),
    (0.0, 1, "weeks", 0.0, 604_800.0),
    (_ts(2024, 1, 31, 6), 1, "months", _ts(2024, 2, 1), _ts(2024, 2, 29, 6)),
    (_ts(2024, 1, 15), 1, "months", _ts(2024, 3, 20), _ts(2024, 4, 15)),
    (_ts(2024, 11, 30), 3, "months", _ts(2024, 12, 1), _ts(2025, 2, 28)),
])
def test_next_slot(anchor: float, units: int, unit: str, after: float, want: float) -> None:
    assert next_slot(anchor, units, unit, after) == want


def test_a_cron_schedule_fires_at_its_times_in_its_time_zone(world: World,
                                                            tmp_path: Path) -> None:
    conn = _conn(world, tmp_path, schedule=None)
    with world.db.session() as s:
        s.execute(update(Connection).where(Connection.id == conn).values(
            schedule_cron="30 6 * * *", schedule_timezone="Europe/Amsterdam"))
    sched = Scheduler(world.settings, world.db)
    amsterdam = dt.timezone(dt.timedelta(hours=2))  # summer time on that day
    t = dt.datetime(2027, 7, 1, 12, 0, tzinfo=amsterdam).timestamp()
    assert sched.tick(t) == []  # a new series starts at its first time, not now
    first = dt.datetime(2027, 7, 2, 6, 30, tzinfo=amsterdam).timestamp()
    assert _next_run(world.db, conn) == first
    assert sched.tick(first - 1) == []
    fired = sched.tick(first)
    assert len(fired) == 1
    assert _next_run(world.db, conn) == first + 24 * HOUR
    assert sched.tick(first + 5) == []
    assert _jobs(world.db, conn) == 1


def test_a_batch_of_due_connections_is_enqueued_in_one_pass(world: World,
                                                           tmp_path: Path) -> None:
    conns = [_conn(world, tmp_path, schedule=(5, "minutes")) for _ in range(30)]
    busy = conns[0]
    running = world.sync_job(busy)  # its sync still runs: the slot passes, no second run
    t = 1_800_000_000.0
    commits: list[object] = []

    def count(conn: object) -> None:
        commits.append(conn)

    event.listen(world.db.engine, "commit", count)
    try:
        fired = Scheduler(world.settings, world.db).tick(t)
    finally:
        event.remove(world.db.engine, "commit", count)
    # one transaction read the due connections, one fired them all (not one per connection)
    assert len(commits) == 2
    assert len(fired) == 29 == len(set(fired))
    assert running not in fired
    with world.db.session() as s:
        jobs = list(s.scalars(select(Job).where(Job.id.in_(fired))))
        assert sorted(j.scope for j in jobs) == sorted(conns[1:])
        assert {(j.config_type, j.status) for j in jobs} == {("sync", "pending")}
        queued = s.scalars(select(Attempt.job_id).where(Attempt.job_id.in_(fired),
                                                        Attempt.status == ledger.QUEUED))
        assert sorted(queued) == sorted(fired)
    for conn in conns:
        assert _next_run(world.db, conn) == t + 300
        assert _jobs(world.db, conn) == 1


class _Idle:
    """An executor that runs nothing and counts the scheduler's wake-ups."""

    def __init__(self) -> None:
        self.wakes = 0

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def wake(self) -> None:
        self.wakes += 1


def test_the_runtime_enqueues_at_the_slot_not_a_tick_later(meta_url: str, db: Database,
                                                            tmp_path: Path) -> None:
    slow = make_settings(meta_url, tmp_path, tick_seconds=60.0)
    world = World(db, slow)
    conn = _conn(world, tmp_path, schedule=(5, "minutes"))
    slot = time.time() + 1.0
    with db.session() as s:
        s.execute(update(Connection).where(Connection.id == conn).values(next_run_at=slot))
    executor = _Idle()
    runtime = JobRuntime(slow, db, executor)
    runtime.start()
    try:
        wait_for(lambda: _jobs(db, conn) == 1, 15, "the run of the slot")
    finally:
        runtime.stop()
    with db.session() as s:
        job = s.scalars(select(Job).where(Job.scope == conn)).one()
    assert slot <= job.created_at < slot + 2.0  # the tick is 60 s: the loop woke at the slot
    assert _next_run(db, conn) == slot + 300
    assert executor.wakes >= 1

"""The scheduler fires each due connection once, whatever the number of schedulers or
restarts, and skips missed slots instead of firing a backlog."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.jobs.scheduler import Scheduler, next_slot
from sluiceway.store.db import Database
from sluiceway.store.models import Connection, Job
from tests.jobs.conftest import World

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

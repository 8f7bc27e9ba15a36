"""Fire the syncs of scheduled connections, and the scheduler entries
(:mod:`sluiceway.jobs.schedule_entries`).

A connection with a basic schedule (``units`` + ``timeUnit``) fires when its ``next_run_at``
has come (or is unset: then at once); one with a cron schedule fires at the expression's
times in its time zone (unset: its first time is set, not fired). Firing is a
compare-and-set of ``next_run_at`` from the value read to the next slot, in the same
transaction as the enqueue: of two schedulers (or a scheduler and its restart) only the one
whose update matched a row enqueues. The next slot is the first of the series after now, so
missed slots are skipped rather than fired as a backlog, and the enqueue's unicity key
``sync:<connection id>`` keeps runs of one connection from overlapping.

Many connections due at once are fired in batches, one transaction each (see
:meth:`Scheduler.tick`), and the server's loop wakes at the earliest slot (see
:class:`~sluiceway.jobs.runtime.JobRuntime`), so a run is enqueued at its slot.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import func, or_, select, update

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger, schedule_entries
from sluiceway.store.db import Database, now
from sluiceway.store.models import Connection

SECONDS = {"minutes": 60.0, "hours": 3600.0, "days": 86_400.0, "weeks": 604_800.0}
UNITS = (*SECONDS, "months")


def sync_unicity(connection_id: str) -> str:
    return f"sync:{connection_id}"


def _unit(name: str | None) -> str | None:
    if not name:
        return None
    unit = name.strip().lower()
    if not unit.endswith("s"):
        unit += "s"
    return unit if unit in UNITS else None


def _add_months(t: float, months: int) -> float:
    d = dt.datetime.fromtimestamp(t, dt.UTC)
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return d.replace(year=year, month=month, day=day).timestamp()


def next_slot(anchor: float, units: int, unit: str, after: float) -> float:
    """The first time of the series ``anchor + k * (units unit)``, k >= 1, after ``after``."""
    if units < 1:
        raise ValueError("schedule units must be at least 1")
    if unit == "months":
        slot, k = anchor, 0
        while slot <= after:
            k += 1
            slot = _add_months(anchor, k * units)
        return slot
    period = SECONDS[unit] * units
    k = max(1, int((after - anchor) // period) + 1)
    slot = anchor + k * period
    while slot <= after:  # float rounding
        slot += period
    return slot


def cron_times(expression: str, timezone: str, after: float, count: int = 1) -> list[float]:
    """The next ``count`` times after ``after`` of a cron expression read in ``timezone``
    (an IANA name; daylight saving time as that zone has it)."""
    it = croniter(expression, dt.datetime.fromtimestamp(after, ZoneInfo(timezone)))
    return [float(it.get_next(float)) for _ in range(count)]


#: due connections fired in one transaction (a pass of 1,000 takes two)
BATCH = 500


@dataclass(frozen=True)
class _Due:
    connection_id: str
    workspace_id: str
    old: float | None
    next: float
    enqueue: bool = True


class Scheduler:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def tick(self, now_: float | None = None) -> list[int]:
        """Fire every due scheduled connection; returns the ids of the jobs enqueued.

        The due connections are fired :data:`BATCH` at a time, each batch in one
        transaction: a lock of the rows in connection order (two schedulers lock them in the
        same order), one compare-and-set UPDATE per slot they were due at (one for all
        when many are due at once) and one enqueue of the winners
        (:func:`ledger.enqueue_many`).
        """
        t = now() if now_ is None else now_
        with self.db.session() as s:
            rows = s.execute(select(Connection.id, Connection.workspace_id,
                                    Connection.schedule_units, Connection.schedule_time_unit,
                                    Connection.next_run_at, Connection.schedule_cron,
                                    Connection.schedule_timezone)
                             .where(*_scheduled(), or_(Connection.next_run_at.is_(None),
                                                       Connection.next_run_at <= t))
                             .order_by(Connection.id)).all()
            found = schedule_entries.load(s)
        due: list[_Due] = []
        for conn_id, workspace_id, units, unit_name, old, cron, zone in rows:
            if cron:
                nxt = cron_times(cron, zone or "UTC", t)[0]
                # a new cron series starts at its first slot, not now
                due.append(_Due(conn_id, workspace_id, old, nxt, enqueue=old is not None))
                continue
            unit = _unit(unit_name)
            if unit is None or units is None or units < 1:
                continue
            due.append(_Due(conn_id, workspace_id, old,
                            next_slot(t if old is None else old, int(units), unit, t)))
        fired: list[int] = []
        for i in range(0, len(due), BATCH):
            fired.extend(self._fire(due[i:i + BATCH]))
        # the scheduler entries (their own slot keys; see schedule_entries)
        fired.extend(schedule_entries.fire(self.settings, self.db, t, found))
        return fired

    def next_due(self, now_: float | None = None) -> float | None:
        """The earliest ``next_run_at`` of the scheduled connections, or next slot of a
        scheduler entry (None: none is set)."""
        with self.db.session() as s:
            due = s.scalar(select(func.min(Connection.next_run_at)).where(*_scheduled()))
        entry = schedule_entries.next_due(self.db, now() if now_ is None else now_)
        return min(d for d in (due, entry) if d is not None) if (due or entry) else None

    def _fire(self, due: list[_Due]) -> list[int]:
        ids = [d.connection_id for d in due]
        with self.db.claim() as s:
            if not self.db.is_sqlite:  # lock the rows in one order (SQLite: one writer)
                s.execute(select(Connection.id).where(Connection.id.in_(ids))
                          .order_by(Connection.id).with_for_update())
            # a compare-and-set of the rows read with one next_run_at (many connections due
            # at once share it): a row whose value changed since was fired by another
            # scheduler (or edited) and is left alone
            slots: dict[tuple[float | None, float], list[str]] = {}
            for d in due:
                slots.setdefault((d.old, d.next), []).append(d.connection_id)
            changed: set[str] = set()
            for (old, nxt), group in slots.items():
                same = (Connection.next_run_at.is_(None) if old is None
                        else Connection.next_run_at == old)
                changed.update(s.scalars(
                    update(Connection)
                    .where(Connection.id.in_(group), Connection.status == "active", same)
                    .values(next_run_at=nxt).returning(Connection.id)
                    .execution_options(synchronize_session=False)))
            won = [d for d in due if d.enqueue and d.connection_id in changed]
            jobs = ledger.enqueue_many(s, [ledger.NewJob(
                workspace_id=d.workspace_id, config_type="sync", scope=d.connection_id,
                max_attempts=self.settings.job_attempts,
                unicity=sync_unicity(d.connection_id)) for d in won])
            return [job_id for job_id, created in jobs if created]


def _scheduled() -> tuple[Any, ...]:
    """The conditions of a connection the scheduler fires: active, with a schedule."""
    return (Connection.status == "active",
            or_(Connection.schedule_cron.is_not(None),
                Connection.schedule_units.is_not(None)
                & Connection.schedule_time_unit.is_not(None)))

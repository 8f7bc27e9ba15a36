"""What a space's syncs did per UTC day (the ``run_days`` table): added to in the
transaction that ends a sync's attempt, read by the overview's chart as one row a day.

Each ended attempt of a ``sync`` job counts on the day it ended (``floor(ended_at /
86400)``): its rows and bytes, its run time (its end minus its start), one run, one
failed run when its status is ``failed``. :func:`rebuild` computes the same figures from
the attempts, for rows written without the ledger (a benchmark's bulk insert).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, cast, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sluiceway.store.models import Attempt, Job, RunDay

#: the job kind whose attempts are counted
KIND = "sync"
SECONDS_A_DAY = 86_400


def day_of(t: float) -> int:
    """The UTC day of an epoch time, in days since 1970-01-01."""
    return int(t // SECONDS_A_DAY)


def add(s: Session, workspace_id: str, *, began: float, ended: float, records: int,
        bytes_: int, failed: bool) -> None:
    """Count one ended attempt on its day (one upsert; on PostgreSQL two enders of the
    same space and day wait for each other on the row, not on the table)."""
    values = {"workspace_id": workspace_id, "day": day_of(ended), "records": records,
              "bytes": bytes_, "seconds": ended - began, "runs": 1,
              "failed": 1 if failed else 0}
    dialect = s.get_bind().dialect.name
    ins: Any = (postgresql.insert(RunDay) if dialect == "postgresql"
                else sqlite.insert(RunDay)).values(**values)
    s.execute(ins.on_conflict_do_update(
        index_elements=[RunDay.workspace_id, RunDay.day],
        set_={c: getattr(RunDay, c) + getattr(ins.excluded, c)
              for c in ("records", "bytes", "seconds", "runs", "failed")}))


def ended_attempts(s: Session) -> Any:
    """The figures of every space and day from the ended attempts of its syncs (a SELECT of
    workspace_id, day, records, bytes, seconds, runs, failed)."""
    if s.get_bind().dialect.name == "postgresql":  # its CAST of a float rounds
        day: Any = cast(func.floor(Attempt.ended_at / SECONDS_A_DAY), Integer)
    else:  # SQLite's truncates: the floor of a time after 1970
        day = cast(Attempt.ended_at / SECONDS_A_DAY, Integer)
    return (select(Job.workspace_id, day, func.coalesce(func.sum(Attempt.records_synced), 0),
                   func.coalesce(func.sum(Attempt.bytes_synced), 0),
                   func.coalesce(func.sum(Attempt.ended_at - Attempt.created_at), 0.0),
                   func.count(Attempt.id),
                   func.sum(case((Attempt.status == "failed", 1), else_=0)))
            .join(Job, Job.id == Attempt.job_id)
            .where(Job.config_type == KIND, Attempt.ended_at.is_not(None))
            .group_by(Job.workspace_id, day))


def rebuild(s: Session) -> int:
    """Replace every row by the figures of the ended attempts; how many rows there are."""
    s.execute(delete(RunDay))
    rows = [{"workspace_id": ws, "day": int(d), "records": int(n), "bytes": int(b),
             "seconds": float(sec), "runs": int(runs), "failed": int(failed or 0)}
            for ws, d, n, b, sec, runs, failed in s.execute(ended_attempts(s))]
    for i in range(0, len(rows), 5000):
        s.execute(insert(RunDay), rows[i:i + 5000])
    return len(rows)


def read(s: Session, workspace_id: str, first: int, last: int
         ) -> dict[int, tuple[int, int, float, int, int]]:
    """The space's days from ``first`` to ``last`` that have runs: day -> (records, bytes,
    seconds, runs, failed)."""
    return {int(d): (int(n), int(b), float(sec), int(runs), int(failed))
            for d, n, b, sec, runs, failed in s.execute(
                select(RunDay.day, RunDay.records, RunDay.bytes, RunDay.seconds, RunDay.runs,
                       RunDay.failed)
                .where(RunDay.workspace_id == workspace_id, RunDay.day >= first,
                       RunDay.day <= last))}

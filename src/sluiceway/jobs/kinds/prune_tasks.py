"""``prune_tasks``: delete the tasks of every space whose last change is older than
``task_retention_days``, a batch at a time (each batch its own transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from sluiceway.jobs.context import AttemptContext
from sluiceway.store.db import now
from sluiceway.store.models import Task

#: tasks deleted per transaction
BATCH = 10_000


def run(ctx: AttemptContext) -> dict[str, Any]:
    cutoff = now() - ctx.settings.task_retention_days * 86400.0
    pruned = 0
    while not ctx.cancel.is_set():
        with ctx.db.session() as s:
            ids = list(s.scalars(select(Task.id).where(Task.updated_at < cutoff)
                                 .order_by(Task.id).limit(BATCH)))
            if ids:
                s.execute(delete(Task).where(Task.id.in_(ids)))
        pruned += len(ids)
        if len(ids) < BATCH:
            break
    ctx.log("INFO", f"pruned {pruned} task(s) older than "
                    f"{ctx.settings.task_retention_days} days")
    return {"pruned": pruned}

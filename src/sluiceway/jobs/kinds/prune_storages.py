"""``prune_storages``: delete the storage entities of every space past their time to live
(``expires_at``), a batch at a time (each batch its own transaction). They are gone for
every reader already; this gives their room back. The server queues it every
``prune_interval_seconds`` (see :func:`sluiceway.jobs.runtime.enqueue_prune`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from sluiceway.jobs.context import AttemptContext
from sluiceway.store.db import now
from sluiceway.store.models import StorageEntity

#: entities deleted per transaction
BATCH = 10_000


def run(ctx: AttemptContext) -> dict[str, Any]:
    t = now()
    pruned = 0
    while not ctx.cancel.is_set():
        with ctx.db.session() as s:
            ids = list(s.scalars(select(StorageEntity.id).where(StorageEntity.expires_at <= t)
                                 .order_by(StorageEntity.id).limit(BATCH)))
            if ids:
                s.execute(delete(StorageEntity).where(StorageEntity.id.in_(ids)))
        pruned += len(ids)
        if len(ids) < BATCH:
            break
    ctx.log("INFO", f"pruned {pruned} expired storage entit{'y' if pruned == 1 else 'ies'}")
    return {"pruned": pruned}

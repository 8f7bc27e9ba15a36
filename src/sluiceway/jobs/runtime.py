"""The job system as the server runs it: an executor and a scheduler thread."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import select

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.jobs.executors.base import Executor
from sluiceway.jobs.scheduler import Scheduler
from sluiceway.store.db import Database, now
from sluiceway.store.models import Workspace

log = logging.getLogger(__name__)


class JobRuntime:
    def __init__(self, settings: Settings, db: Database, executor: Executor) -> None:
        self.settings = settings
        self.db = db
        self.executor = executor
        self.scheduler = Scheduler(settings, db)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self.executor.start()
        self._thread = threading.Thread(target=self._loop, name="job-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.executor.stop()

    def wake(self) -> None:
        """A job was enqueued: let the executor look now."""
        self.executor.wake()

    def _loop(self) -> None:
        next_prune = 0.0
        while not self._stop.is_set():
            try:
                if self.scheduler.tick():
                    self.executor.wake()
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + self.settings.prune_interval_seconds
                    if enqueue_prune(self.settings, self.db) is not None:
                        self.executor.wake()
            except Exception:  # noqa: BLE001 - a store blip must not stop the scheduler
                log.warning("scheduler tick failed", exc_info=True)
            self._stop.wait(self._pause())

    def _pause(self) -> float:
        """Seconds until the next tick: ``tick_seconds``, or less when a connection's slot
        comes sooner, so that a run is enqueued at its slot rather than up to a tick later."""
        wait = self.settings.tick_seconds
        try:
            due = self.scheduler.next_due()
        except Exception:  # noqa: BLE001 - the next tick reports a store that fails
            return wait
        left = None if due is None else due - now()
        # a slot already past was looked at by the tick that just ran (and not fired: a
        # schedule it cannot read): the next tick looks again
        return wait if left is None or left <= 0 else min(wait, left)


def enqueue_prune(settings: Settings, db: Database) -> int | None:
    """Queue the pruning of expired artifacts, of old tasks and of expired storage entities
    (one job of each at a time), as jobs of the system's default workspace; the artifacts'
    job id, None when there is no workspace yet."""
    with db.session() as s:
        ws = s.scalars(select(Workspace.id).where(Workspace.slug == "default")).first()
    if ws is None:
        return None
    ledger.enqueue_in(db, workspace_id=ws, config_type="prune_tasks", scope="tasks",
                      unicity="prune_tasks", max_attempts=settings.job_attempts)
    ledger.enqueue_in(db, workspace_id=ws, config_type="prune_storages", scope="storages",
                      unicity="prune_storages", max_attempts=settings.job_attempts)
    return ledger.enqueue_in(db, workspace_id=ws, config_type="prune_artifacts",
                             scope="artifacts", unicity="prune_artifacts",
                             max_attempts=settings.job_attempts).id

"""The job system as the server runs it: an executor and a scheduler thread."""

from __future__ import annotations

import logging
import threading

from sluiceway.core.settings import Settings
from sluiceway.jobs.executors.base import Executor
from sluiceway.jobs.executors.local import LocalExecutor
from sluiceway.jobs.scheduler import Scheduler
from sluiceway.store.db import Database

log = logging.getLogger(__name__)


class JobRuntime:
    def __init__(self, settings: Settings, db: Database,
                 executor: Executor | None = None) -> None:
        self.settings = settings
        self.db = db
        self.executor: Executor = executor or LocalExecutor(settings, db)
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
        while not self._stop.is_set():
            try:
                if self.scheduler.tick():
                    self.executor.wake()
            except Exception:  # noqa: BLE001 - a store blip must not stop the scheduler
                log.warning("scheduler tick failed", exc_info=True)
            self._stop.wait(self.settings.tick_seconds)

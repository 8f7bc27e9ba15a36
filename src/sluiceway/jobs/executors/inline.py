"""Run due attempts one after another in this process (tests, one-shot commands)."""

from __future__ import annotations

import os
import socket

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.jobs.runner import run_attempt
from sluiceway.store.db import Database


class InlineExecutor:
    def __init__(self, settings: Settings, db: Database, worker: str | None = None) -> None:
        self.settings = settings
        self.db = db
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:inline"

    def run_pending(self, limit: int | None = None) -> int:
        """Claim and run attempts until none is due (or ``limit`` ran); returns how many."""
        ran = 0
        while limit is None or ran < limit:
            attempt = ledger.claim(self.db, self.worker, os.getpid(),
                                   self.settings.lease_seconds)
            if attempt is None:
                break
            run_attempt(self.settings, attempt.id, db=self.db)
            ran += 1
        return ran

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def wake(self) -> None:
        self.run_pending()

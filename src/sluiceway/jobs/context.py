"""What a job kind gets to run one attempt: settings, the store, cancel and stop, logs,
progress."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sluiceway.core.errors import Cancelled, Fatal, InvalidInput
from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.secrets import redact
from sluiceway.store.db import Database

#: a job's log lines also go to the process's log (the server's, for local workers)
job_log = logging.getLogger("sluiceway.job")
_LEVELS = {"WARN": logging.WARNING, "FATAL": logging.CRITICAL}


@dataclass
class AttemptContext:
    """One running attempt as a job kind sees it.

    ``log`` buffers lines (redacted of every secret registered with :meth:`add_secrets`);
    :meth:`flush` stores them as AttemptLog rows (the runner flushes at each heartbeat and at
    the end). ``progress`` keeps the running totals the heartbeat pushes to the attempt.
    A kind may set ``stats``; the runner stores them on the attempt, whatever the outcome.
    """

    settings: Settings
    db: Database
    job_id: int
    attempt_id: int
    cancel: threading.Event = field(default_factory=threading.Event)
    #: set when the job is asked to stop gracefully: a kind that can ends after the batch in
    #: hand commits (a route, after its chunk); the others take it as ``cancel``
    stop: threading.Event = field(default_factory=threading.Event)
    scope: str = ""
    #: the job's kind (``Job.config_type``)
    kind: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    records: int = 0
    bytes: int = 0
    #: done so far, 0.0 to 1.0, when the kind can tell (the heartbeat stores it on the job)
    fraction: float | None = None
    stats: dict[str, Any] | None = None
    _secrets: list[str] = field(default_factory=list, repr=False)
    _lines: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_secrets(self, values: Iterable[str]) -> None:
        with self._lock:
            for v in values:
                if v not in self._secrets:
                    self._secrets.append(v)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = list(self._secrets)
        return redact(text, secrets)

    def log(self, level: str, line: str) -> None:
        line = self.redact(str(line))
        level = str(level).upper()[:10] or "INFO"
        with self._lock:
            self._lines.append((level, line))
        number = _LEVELS.get(level, logging.getLevelName(level))
        job_log.log(number if isinstance(number, int) else logging.INFO, line,
                    extra={"job_id": self.job_id, "attempt_id": self.attempt_id})

    def progress(self, records: int, bytes_: int, *, estimate: int | None = None) -> None:
        """Running totals; with an ``estimate`` of the rows to come, the fraction done
        (kept below 1.0 until the job ends: an estimate can be short)."""
        self.records, self.bytes = int(records), int(bytes_)
        if estimate:
            self.fraction = min(0.99, self.records / estimate)

    def flush(self) -> None:
        """Store the buffered lines (redacted again: a secret may be known only now)."""
        with self._lock:
            lines, self._lines = self._lines, []
            secrets = list(self._secrets)
        if lines:
            try:
                ledger.append_logs(self.db, self.attempt_id,
                                   [(lvl, redact(text, secrets)) for lvl, text in lines])
            except BaseException:
                with self._lock:  # keep them for the next flush
                    self._lines[:0] = lines
                raise


def classify(exc: BaseException) -> tuple[str, bool]:
    """(outcome, retryable) for an exception a kind raised."""
    if isinstance(exc, Cancelled):
        return "cancelled", False
    if isinstance(exc, Fatal | InvalidInput):
        return "failed", False
    return "failed", True

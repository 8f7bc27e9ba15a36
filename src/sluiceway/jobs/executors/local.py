"""Run attempts in worker processes on this machine, at most ``settings.workers`` at once.

A supervisor thread claims due attempts, starts each in a fresh ``spawn`` process (no state
inherited from the server) and watches them about every half second:

* a child that exited while its attempt is still ``running`` died (killed, crashed, out of
  memory): the attempt fails retryably ("worker exited with code N");
* a child whose job's cancel was requested and that is still alive 5 s later is terminated,
  killed 3 s after that if need be, and its attempt ends ``cancelled``;
* a child whose job was killed (``cancel_mode`` ``kill``) is killed at once and its attempt
  ends ``cancelled`` (its uncommitted batch is lost; its route tasks become retryable); one
  asked to ``stop`` is left to end after its batch in hand;
* every ``tick_seconds`` the ledger is reaped of attempts whose lease ran out (their worker,
  perhaps on another machine, is gone).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

from sqlalchemy import select

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.jobs.runner import child_main, settings_for_child
from sluiceway.store.db import Database
from sluiceway.store.models import Attempt, Job

log = logging.getLogger(__name__)

#: seconds a cancelled attempt gets to stop by itself before it is terminated
CANCEL_GRACE_SECONDS = 5.0
#: seconds between terminate (SIGTERM) and kill (SIGKILL)
KILL_AFTER_SECONDS = 3.0
#: seconds between two looks at the children
POLL_SECONDS = 0.5


@dataclass
class _Child:
    attempt_id: int
    job_id: int
    process: BaseProcess
    cancel_seen: float | None = None
    terminated: float | None = None


class LocalExecutor:
    def __init__(self, settings: Settings, db: Database, worker: str | None = None) -> None:
        self.settings = settings
        self.db = db
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self._mp = multiprocessing.get_context("spawn")
        self._children: dict[int, _Child] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reap = 0.0

    # ---- Executor ----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="local-executor", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming, terminate running children (their attempts fail retryably, so a
        restart picks them up) and wait for them."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            children = list(self._children.values())
            self._children.clear()
        for child in children:
            if child.process.is_alive():
                child.process.terminate()
        for child in children:
            child.process.join(KILL_AFTER_SECONDS)
            if child.process.is_alive():
                child.process.kill()
                child.process.join()
            try:
                ledger.finish(self.db, child.attempt_id, "failed", retryable=True,
                              error="worker stopped: the executor shut down",
                              settings=self.settings)
            except Exception:  # noqa: BLE001 - the lease expires and the reaper fails it
                log.warning("could not end attempt %s", child.attempt_id, exc_info=True)
            child.process.close()

    # ---- introspection -------------------------------------------------------------------
    def running(self) -> dict[int, int | None]:
        """attempt id -> pid of the children that run now."""
        with self._lock:
            return {a: c.process.pid for a, c in self._children.items()}

    # ---- the supervisor ------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch()
                if time.monotonic() - self._last_reap >= self.settings.tick_seconds:
                    self._last_reap = time.monotonic()
                    ledger.reap(self.db, self.settings)
                self._fill()
            except Exception:  # noqa: BLE001 - a store blip must not stop the supervisor
                log.warning("job supervisor loop failed", exc_info=True)
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _fill(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if len(self._children) >= self.settings.workers:
                    return
            attempt = ledger.claim(self.db, self.worker, None, self.settings.lease_seconds)
            if attempt is None:
                return
            process = self._mp.Process(
                target=child_main, args=(settings_for_child(self.settings), attempt.id),
                name=f"sluiceway-attempt-{attempt.id}", daemon=False)
            try:
                process.start()
            except Exception as exc:
                ledger.finish(self.db, attempt.id, "failed", retryable=True,
                              error=f"cannot start a worker process: {exc}",
                              settings=self.settings)
                raise
            with self._lock:
                self._children[attempt.id] = _Child(attempt.id, attempt.job_id, process)
            ledger.set_pid(self.db, attempt.id, process.pid)

    def _kill(self, child: _Child) -> None:
        """End a killed job's attempt at once: its process is killed (SIGKILL) and the
        attempt ends ``cancelled``."""
        process = child.process
        log.info("attempt %s killed: ending pid %s", child.attempt_id, process.pid)
        process.kill()
        process.join(KILL_AFTER_SECONDS)
        ledger.finish(self.db, child.attempt_id, "cancelled", error="killed",
                      settings=self.settings)
        if not process.is_alive():
            with self._lock:
                self._children.pop(child.attempt_id, None)
            process.close()

    def _watch(self) -> None:
        with self._lock:
            children = list(self._children.values())
        if not children:
            return
        with self.db.session() as s:
            rows = s.execute(select(Attempt.id, Attempt.status, Job.cancel_requested,
                                    Job.cancel_mode)
                             .join(Job, Job.id == Attempt.job_id)
                             .where(Attempt.id.in_([c.attempt_id for c in children]))).all()
        seen = {r[0]: (r[1], bool(r[2]), r[3]) for r in rows}
        t = time.monotonic()
        for child in children:
            status, cancel, mode = seen.get(child.attempt_id, ("gone", False, None))
            process = child.process
            if not process.is_alive():
                process.join()
                code = process.exitcode
                if status == "running":
                    if child.cancel_seen is not None:
                        ledger.finish(self.db, child.attempt_id, "cancelled",
                                      error="cancelled: the worker was stopped",
                                      settings=self.settings)
                    else:
                        ledger.finish(self.db, child.attempt_id, "failed", retryable=True,
                                      error=f"worker exited with code {code}",
                                      settings=self.settings)
                with self._lock:
                    self._children.pop(child.attempt_id, None)
                process.close()
                continue
            if not cancel:
                continue
            if mode == "kill" and status == "running":
                self._kill(child)
                continue
            if child.cancel_seen is None:
                child.cancel_seen = t
            if child.terminated is None and t - child.cancel_seen >= CANCEL_GRACE_SECONDS:
                log.warning("attempt %s ignores its cancel: terminating pid %s",
                            child.attempt_id, process.pid)
                process.terminate()
                child.terminated = t
            elif child.terminated is not None and t - child.terminated >= KILL_AFTER_SECONDS:
                process.kill()

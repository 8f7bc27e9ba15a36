"""Run attempts on Celery workers on any number of machines (``SLUICEWAY_EXECUTOR=celery``).

The job ledger stays the truth; the broker (RabbitMQ or Redis) only carries job ids. This is
the one module that imports Celery (the ``celery`` extra).

The server (:class:`CeleryExecutor`) only publishes. Its sweeper thread, every half second
or when woken:

* reaps the ledger of attempts whose lease ran out (their worker, on whatever machine, is
  gone): they fail retryably and their job becomes due again after its backoff;
* publishes every job a worker could start now and of which no message is known to wait
  (:func:`~sluiceway.jobs.ledger.take_publishable`): new jobs, retries that came due, jobs
  handed back by a worker that could not start them, and jobs published more than
  ``republish_seconds`` ago (the broker may have lost the message: Redis keeps nothing on
  disk). Jobs that use local files go to ``local_queue`` unless storage is shared.

A worker (:func:`run_worker`, ``sluiceway worker``) is a Celery worker with late
acknowledgement, a prefetch of one, durable queues and persistent messages. Its task claims
the named job in the ledger (lease and heartbeat, as local workers do) and runs the attempt
with the runner. A message of a job that runs already or has ended does nothing (a duplicate
delivery never runs an attempt twice); one of a job that cannot start now (its space at its
worker allocation, its connection busy, its retry not due) is handed back to the ledger and
published again when the job can start, never requeued in a loop.

A cancel reaches a running attempt twice over: the attempt's heartbeat thread reads its
job's cancel flag every ``cancel_poll_seconds`` and the job stops at its next look at it; and
the worker's own watchdog (:class:`Watchdog`, a thread of the worker's main process) ends the
pool process of an attempt still running :data:`CANCEL_GRACE_SECONDS` after its cancel was
asked (a long read that never looks at the flag, a driver call that waits on a lock), records
the attempt ``cancelled`` and so releases its lease. The message of the ended process comes
back from the broker and does nothing: its job has ended.

Priorities: the ledger's priority (higher first) is clamped to 0-9. RabbitMQ queues are
declared with ``x-max-priority`` (higher first, as the ledger); Redis serves lower numbers
first, so the number is inverted for it.
"""

from __future__ import annotations

import hmac
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery, bootsteps
from celery.worker import state as worker_state
from kombu.entity import Exchange, Queue
from sqlalchemy import select
from sqlalchemy.orm import aliased

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.jobs.runner import run_attempt
from sluiceway.secrets import Cipher
from sluiceway.store.db import Database, now
from sluiceway.store.models import (
    Actor,
    Attempt,
    Configuration,
    Connection,
    ConnectorDefinition,
    Job,
)

log = logging.getLogger(__name__)

#: the task every message names; its one argument is a job id
TASK = "sluiceway.run_job"
#: seconds between two looks of the sweeper at the ledger
POLL_SECONDS = 0.5
#: broker priorities are 0 to this
MAX_PRIORITY = 9
#: job kinds that read or write files of the server's machine (the artifact store)
LOCAL_KINDS = frozenset({"export", "import", "dump", "backup", "backup_export",
                         "backup_restore", "prune_artifacts"})
#: connectors whose files live under the file roots
LOCAL_CONNECTORS = frozenset({"file", "sqlite", "duckdb"})
#: seconds a running attempt gets to stop by itself after its cancel was asked, before the
#: worker ends its process (the heartbeat thread sees a cancel within ``cancel_poll_seconds``)
CANCEL_GRACE_SECONDS = 3.0
#: the file the server leaves in its artifact directory and file roots; a worker that runs
#: jobs with local files checks that it sees the same storage
MARKER = ".sluiceway-storage"


def _refused(setting: str, reason: str) -> InvalidInput:
    return InvalidInput("cannot run jobs on Celery", [FieldError(setting, reason)])


def _is_redis(settings: Settings) -> bool:
    return (settings.broker or "").startswith(("redis", "rediss"))


def broker_priority(settings: Settings, priority: int) -> int:
    """The broker's number for a ledger priority (higher first, any integer)."""
    p = min(max(int(priority), 0), MAX_PRIORITY)
    return MAX_PRIORITY - p if _is_redis(settings) else p


def make_app(settings: Settings) -> Celery:
    """A Celery app for this installation's broker and queues, without tasks."""
    if settings.broker is None:
        raise _refused("SLUICEWAY_BROKER_URL", "the celery executor needs a broker: set "
                       "SLUICEWAY_EXECUTOR=celery, and SLUICEWAY_BROKER_URL unless RabbitMQ "
                       "runs on this machine")
    redis = _is_redis(settings)
    arguments = None if redis else {"x-max-priority": MAX_PRIORITY}
    queues = [Queue(name, Exchange(name, type="direct", durable=True), routing_key=name,
                    durable=True, queue_arguments=arguments)
              for name in (settings.queue, settings.local_queue)]
    app = Celery("sluiceway", broker=settings.broker, set_as_current=False)
    options: dict[str, Any] = {}
    if redis:
        # a message not acknowledged this long is delivered again, which does nothing while
        # its job runs (the ledger decides); the lease, not this, notices a dead worker
        options = {"visibility_timeout": max(3600.0, settings.lease_seconds * 4),
                   "queue_order_strategy": "priority",
                   "priority_steps": list(range(MAX_PRIORITY + 1)), "sep": ":"}
    app.conf.update(
        task_queues=queues, task_default_queue=settings.queue,
        task_default_exchange=settings.queue, task_default_routing_key=settings.queue,
        task_acks_late=True, task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True, worker_prefetch_multiplier=1,
        task_default_delivery_mode="persistent", task_ignore_result=True,
        task_queue_max_priority=MAX_PRIORITY, task_default_priority=broker_priority(settings, 0),
        broker_transport_options=options, broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None, broker_connection_timeout=4.0,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False, worker_redirect_stdouts=False,
        worker_send_task_events=False, task_send_sent_event=False,
        enable_utc=True, timezone="UTC",
    )
    return app


def storage_marker(settings: Settings) -> str:
    """What the marker file holds: derived from the installation's secret key, so a worker
    of another installation (or of none) never takes the server's storage for its own."""
    return Cipher.from_settings(settings).derive(b"sluiceway shared storage marker")[0].hex()


def _storage_dirs(settings: Settings) -> list[Path]:
    return [settings.artifacts_dir.resolve(), *settings.allowed_roots]


def write_markers(settings: Settings) -> None:
    """The server marks its artifact directory and file roots (see :func:`check_storage`)."""
    marker = storage_marker(settings)
    for d in _storage_dirs(settings):
        try:
            d.mkdir(parents=True, exist_ok=True)
            path = d / MARKER
            if not path.exists() or path.read_text(encoding="utf-8").strip() != marker:
                path.write_text(marker + "\n", encoding="utf-8")
        except OSError as exc:
            log.warning("cannot write the storage marker in %s: %s", d, exc)


def check_storage(settings: Settings) -> None:
    """Refuse to run jobs with local files on a machine that does not see the server's
    artifact directory and file roots (the server's marker file in each)."""
    want = storage_marker(settings)
    for d in _storage_dirs(settings):
        path = d / MARKER
        try:
            have = path.read_text(encoding="utf-8").strip()
        except OSError:
            have = ""
        if not hmac.compare_digest(have, want):
            raise _refused(
                "SLUICEWAY_SHARED_STORAGE",
                f"this worker would run jobs that use local files, but {d} is not the "
                "server's storage (its marker file is missing or of another installation). "
                "Mount the server's artifact directory and file roots at the same paths, or "
                "start the server first; otherwise leave SLUICEWAY_SHARED_STORAGE unset and "
                f"the queue {settings.local_queue!r} to a worker on the server's machine")


def check_worker(settings: Settings, queues: Sequence[str]) -> None:
    """What a worker needs before it starts, with the setting to change when it lacks it."""
    if settings.secret_key is None:
        raise _refused("SLUICEWAY_SECRET_KEY",
                       "a worker needs it: every process of an installation shares the key "
                       "that encrypts connector secrets (copy the server's key, or the "
                       "content of its secret.key file)")
    if settings.metadata_url.startswith("sqlite"):
        raise _refused("SLUICEWAY_DATABASE_URL",
                       "a worker needs the installation's PostgreSQL metadata database "
                       "(postgresql://...), not a SQLite file")
    known = {settings.queue, settings.local_queue}
    unknown = [q for q in queues if q not in known]
    if unknown or not queues:
        raise _refused("--queues", f"unknown queue {unknown[0] if unknown else ''!r}: the "
                       f"queues are {settings.queue!r} and {settings.local_queue!r}")
    if settings.shared_storage or settings.local_queue in queues:
        check_storage(settings)


# ---- the server side -------------------------------------------------------------------------

class CeleryExecutor:
    """Publishes due jobs to the broker; workers elsewhere run them (see the module)."""

    def __init__(self, settings: Settings, db: Database, app: Celery | None = None) -> None:
        self.settings = settings
        self.db = db
        self.app = app or make_app(settings)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reap = 0.0
        self._connection: Any = None
        self._producer: Any = None

    def start(self) -> None:
        if self._thread is not None:
            return
        write_markers(self.settings)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="celery-sweeper", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop publishing; what workers run goes on (their leases say whether it lives)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._disconnect()

    def _connect(self) -> Any:
        """The publisher's own broker connection (kept; made again after a failure)."""
        if self._producer is None:
            self._connection = self.app.connection_for_write()
            self._connection.ensure_connection(max_retries=1)
            self._producer = self.app.amqp.Producer(self._connection)
        return self._producer

    def _keep_alive(self) -> None:
        """Answer the broker's heartbeats of an idle publishing connection."""
        if self._connection is None:
            return
        try:
            self._connection.heartbeat_check()
        except Exception:  # noqa: BLE001 - the next publish connects again
            self._disconnect()

    def _disconnect(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - a broken connection closes as it can
                log.debug("closing the broker connection failed", exc_info=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._last_reap >= self.settings.tick_seconds:
                    self._last_reap = time.monotonic()
                    ledger.reap(self.db, self.settings)
                    self._keep_alive()
                self.sweep()
            except Exception:  # noqa: BLE001 - a store or broker blip must not stop it
                log.warning("job sweeper loop failed", exc_info=True)
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def sweep(self) -> int:
        """Publish what waits unpublished (see the module); returns how many were sent."""
        jobs = ledger.take_publishable(self.db, now() - self.settings.republish_seconds)
        if not jobs:
            return 0
        sent = 0
        try:
            local = self.local_jobs(jobs)
            producer = self._connect()
            for job in jobs:
                queue = self.settings.local_queue if job.id in local else self.settings.queue
                self.app.send_task(TASK, args=[job.id], queue=queue, routing_key=queue,
                                   priority=broker_priority(self.settings, job.priority),
                                   producer=producer, retry=False)
                sent += 1
        except Exception:
            self._disconnect()
            ledger.unpublish(self.db, [j.id for j in jobs[sent:]])
            raise
        return sent

    def local_jobs(self, jobs: Sequence[Job]) -> set[int]:
        """The ids of the jobs that use the server's local files (none with shared
        storage): artifact jobs, and syncs, resets and route runs of a file, SQLite or DuckDB
        connector."""
        if self.settings.shared_storage:
            return set()
        local = {j.id for j in jobs if j.config_type in LOCAL_KINDS}
        scopes = {j.scope for j in jobs if j.config_type in ledger.EXCLUSIVE}
        if scopes:
            src, dst = aliased(Actor), aliased(Actor)
            sdef, ddef = aliased(ConnectorDefinition), aliased(ConnectorDefinition)
            with self.db.session() as s:
                rows = s.execute(
                    select(Connection.id, sdef.docker_repository, ddef.docker_repository)
                    .join(src, src.id == Connection.source_id)
                    .join(dst, dst.id == Connection.destination_id)
                    .join(sdef, sdef.id == src.definition_id)
                    .join(ddef, ddef.id == dst.definition_id)
                    .where(Connection.id.in_(sorted(scopes)))).all()
            files = {r[0] for r in rows if r[1] in LOCAL_CONNECTORS or r[2] in LOCAL_CONNECTORS}
            local |= {j.id for j in jobs if j.config_type in ledger.EXCLUSIVE
                      and j.scope in files}
        routes = {j.scope for j in jobs if j.config_type == "route"}
        if routes:
            with self.db.session() as s:
                files = {c.id for c in s.scalars(select(Configuration).where(
                    Configuration.id.in_(sorted(routes)))) if _route_uses_files(s, c)}
            local |= {j.id for j in jobs if j.config_type == "route" and j.scope in files}
        return local


def _route_uses_files(s: Any, route: Configuration) -> bool:
    """Whether a route's incoming or outgoing is a file, SQLite or DuckDB connector."""
    parameters = dict(dict(route.object).get("parameters") or {})
    ends = [(f"{end}-configuration", parameters.get(end)) for end in ("incoming", "outgoing")]
    return any(s.scalars(select(Configuration.prototype).where(
        Configuration.workspace_id == route.workspace_id, Configuration.type == type_,
        Configuration.identifier == str(identifier))).first() in LOCAL_CONNECTORS
        for type_, identifier in ends)


# ---- the worker side -------------------------------------------------------------------------

def run_job(settings: Settings, db: Database, job_id: int, worker: str) -> str:
    """What a worker does with one message: claim the named job in the ledger and run its
    attempt in this process; returns the attempt's outcome, or ``"not started"`` (the job
    runs elsewhere, has ended, or cannot start now: then it is handed back to the sweeper)."""
    attempt = ledger.claim(db, worker, os.getpid(), settings.lease_seconds, job_id=job_id,
                           host=socket.gethostname())
    if attempt is None:
        ledger.unpublish(db, [job_id])
        return "not started"
    return run_attempt(settings, attempt.id, db=db)


@dataclass
class _Process:
    """The metadata database of one worker process (a pool child opens its own)."""

    settings: Settings
    db: Database | None = None
    pid: int = 0

    def database(self) -> Database:
        if self.db is None or self.pid != os.getpid():
            self.db, self.pid = Database(self.settings.metadata_url), os.getpid()
        return self.db


class Watchdog(threading.Thread):
    """The worker's main process ends the pool process of an attempt that ignores its cancel.

    Every ``cancel_poll_seconds`` while the pool runs tasks, one read of the ledger: the
    running attempts of this worker (its node name) in its pool processes whose job was asked
    to cancel. One still running :data:`CANCEL_GRACE_SECONDS` after it was first seen so is
    ended: its pool process gets SIGKILL (Celery starts another), and the attempt is recorded
    ``cancelled``. A kill (``cancel_mode`` ``kill``) is not given that grace: its process is
    ended at the first look. Celery hands the process's message back to the broker; its next
    delivery finds the job ended and does nothing.
    """

    def __init__(self, settings: Settings, node: str, grace: float = CANCEL_GRACE_SECONDS,
                 ) -> None:
        super().__init__(name="sluiceway-cancel-watchdog", daemon=True)
        self.settings = settings
        self.node = node
        self.grace = grace
        self.done = threading.Event()
        self.db: Database | None = None
        self.seen: dict[int, float] = {}

    def _database(self) -> Database:
        if self.db is None:
            db = self.db = Database(self.settings.metadata_url, pool_size=1, max_overflow=1)
            # the pool processes Celery forks later must not share this process's sockets
            os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False))
        return self.db

    def run(self) -> None:
        every = min(self.settings.cancel_poll_seconds, 1.0)
        while not self.done.wait(every):
            try:
                self.look()
            except Exception:  # noqa: BLE001 - a store blip must not stop the watchdog
                log.warning("the cancel watchdog's look failed", exc_info=True)

    def stop(self) -> None:
        self.done.set()
        self.join(5.0)
        if self.db is not None:
            self.db.dispose()

    @staticmethod
    def running() -> dict[int, int]:
        """pool process id -> job id of the tasks that run now in this worker's pool."""
        out: dict[int, int] = {}
        for _ in range(3):  # the worker's loop may change the set while it is copied
            try:
                requests = list(worker_state.active_requests)
                break
            except RuntimeError:
                continue
        else:
            return out
        for request in requests:
            pid, args = request.worker_pid, request.args
            if pid and request.time_start and args:
                out[int(pid)] = int(args[0])
        return out

    def look(self) -> list[int]:
        """One look (see the class); returns the attempts it ended."""
        tasks = self.running()
        if not tasks:
            self.seen.clear()
            return []
        db = self._database()
        with db.session() as s:
            rows = s.execute(
                select(Attempt.id, Attempt.pid, Attempt.job_id, Job.cancel_mode)
                .join(Job, Job.id == Attempt.job_id)
                .where(Attempt.status == "running", Attempt.worker == self.node,
                       Attempt.pid.in_(sorted(tasks)), Job.cancel_requested.is_(True))).all()
        t = time.monotonic()
        asked = {int(r[0]): (int(r[1] or 0), int(r[2]), r[3]) for r in rows}
        self.seen = {a: self.seen.get(a, t) for a in asked}
        ended: list[int] = []
        for attempt_id, (pid, job_id, mode) in asked.items():
            grace = 0.0 if mode == "kill" else self.grace  # a kill is immediate
            if t - self.seen[attempt_id] < grace or self.running().get(pid) != job_id:
                continue
            log.warning("attempt %s of job %s ignores its cancel: ending pool process %s",
                        attempt_id, job_id, pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            ledger.finish(db, attempt_id, "cancelled", settings=self.settings,
                          error=f"cancelled: the attempt did not stop within {self.grace:g} s "
                                "of its cancel, so its worker ended its process")
            self.seen.pop(attempt_id, None)
            ended.append(attempt_id)
        return ended


def worker_app(settings: Settings) -> Celery:
    """The Celery app of a worker: :func:`make_app` with the task that runs jobs and the
    cancel :class:`Watchdog` in the worker's main process."""
    app = make_app(settings)
    here = _Process(settings)

    class WatchdogStep(bootsteps.StartStopStep):  # type: ignore[misc]
        requires = {"celery.worker.components:Pool"}

        def __init__(self, worker: Any, **kwargs: Any) -> None:
            super().__init__(worker, **kwargs)
            self.thread: Watchdog | None = None

        def start(self, worker: Any) -> None:
            self.thread = Watchdog(settings, str(worker.hostname))
            self.thread.start()

        def stop(self, worker: Any) -> None:
            if self.thread is not None:
                self.thread.stop()
                self.thread = None

    app.steps["worker"].add(WatchdogStep)

    def task(self: Any, job_id: int) -> str:
        node = str(getattr(self.request, "hostname", None) or socket.gethostname())
        return run_job(settings, here.database(), int(job_id), node)

    app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)(task)
    return app


def run_worker(settings: Settings, queues: Sequence[str], concurrency: int | None = None,
               ) -> None:
    """Run a Celery worker of ``queues`` with ``concurrency`` pool processes (default:
    ``settings.workers``) until it is stopped (SIGTERM waits for the running attempts;
    SIGQUIT or SIGKILL does not, and their leases run out)."""
    check_worker(settings, queues)
    db = Database(settings.metadata_url)
    try:
        if not db.ping():
            raise _refused("SLUICEWAY_DATABASE_URL", "the metadata database does not answer")
    finally:
        db.dispose()  # before the pool forks: each process opens its own
    app = worker_app(settings)
    node = f"sluiceway-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    app.worker_main(["worker", "--queues", ",".join(queues),
                     "--concurrency", str(concurrency or settings.workers),
                     "--hostname", node, "--loglevel", "INFO",
                     "--without-gossip", "--without-mingle"])

"""Run one claimed attempt: heartbeat, the job kind, error classification, finish.

Errors are classified by class (never by message): :class:`Cancelled` cancels the job;
:class:`Fatal` and :class:`InvalidInput` fail it for good; any other exception fails the
attempt and the job is retried while attempts remain.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import traceback
from typing import Any

from pydantic import SecretStr

from sluiceway.connectors import network
from sluiceway.core import logs
from sluiceway.core.errors import Fatal, SluicewayError
from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.jobs.context import AttemptContext, classify
from sluiceway.jobs.kinds import KINDS, KindFn
from sluiceway.store.db import Database
from sluiceway.store.models import Attempt, Job

log = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    if isinstance(exc, SluicewayError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


#: job kinds that end by themselves after the batch in hand when asked to stop; the others
#: take a stop as a cancel
GRACEFUL_STOP = frozenset({"route", "sync"})


def _look(ctx: AttemptContext) -> None:
    """Read what the job was asked: a cancel (or kill) sets ``cancel``, a stop ``stop``."""
    asked = ledger.requested(ctx.db, ctx.job_id)
    if asked == "cancel":
        ctx.cancel.set()
    elif asked == "stop":
        ctx.stop.set()
        if ctx.kind not in GRACEFUL_STOP:
            ctx.cancel.set()


class _Heartbeat(threading.Thread):
    """Pushes the lease every ``settings.heartbeat_interval``, stores progress and flushes
    logs; sets ``cancel`` when the ledger says to stop, which it also reads in between,
    every ``settings.cancel_poll_seconds`` (a read; the heartbeat that writes the lease may
    be rarer), so that a stop reaches it on any machine within seconds."""

    def __init__(self, ctx: AttemptContext) -> None:
        super().__init__(name=f"heartbeat-{ctx.attempt_id}", daemon=True)
        self.ctx = ctx
        self.done = threading.Event()

    def run(self) -> None:
        ctx = self.ctx
        every = ctx.settings.heartbeat_interval
        look = min(every, ctx.settings.cancel_poll_seconds)
        next_beat = time.monotonic() + every
        while not self.done.wait(look):
            try:
                if time.monotonic() < next_beat - look / 2:
                    _look(ctx)
                    continue
                next_beat = time.monotonic() + every
                stop = ledger.heartbeat(ctx.db, ctx.attempt_id, ctx.settings.lease_seconds,
                                        records=ctx.records, bytes_=ctx.bytes,
                                        progress=ctx.fraction)
                if stop:
                    ctx.cancel.set()
                elif not ctx.stop.is_set():
                    _look(ctx)
                ctx.flush()
            except Exception:  # noqa: BLE001 - a store blip must not end the attempt
                log.warning("heartbeat of attempt %s failed", ctx.attempt_id, exc_info=True)

    def stop(self) -> None:
        self.done.set()
        self.join()


def ran_on(host: str | None, pid: int | None, worker: str | None) -> str:
    """Where an attempt runs, as its log and the job views say it: host, process, worker."""
    out = host or "an unknown host"
    if pid is not None:
        out += f" (pid {pid})"
    if worker:
        out += f", worker {worker}"
    return out


def _kind(name: str) -> KindFn:
    fn = KINDS.get(name)
    if fn is None:
        raise Fatal(f"unknown job kind {name!r}")
    return fn


def run_attempt(settings: Settings, attempt_id: int, *, db: Database | None = None) -> str:
    """Run a claimed (``running``) attempt in this process; returns its outcome."""
    network.configure(network.NetworkPolicy.from_settings(settings))
    own = db is None
    database = db if db is not None else Database(settings.metadata_url)
    try:
        return _run(settings, database, attempt_id)
    finally:
        if own:
            database.dispose()


def _run(settings: Settings, db: Database, attempt_id: int) -> str:
    with db.session() as s:
        attempt = s.get(Attempt, attempt_id)
        if attempt is None:
            raise LookupError(f"attempt {attempt_id} does not exist")
        if attempt.status != "running":
            return attempt.status
        job = s.get(Job, attempt.job_id)
        assert job is not None  # the foreign key holds it
        job_id, kind, scope, job_input = job.id, job.config_type, job.scope, dict(job.input)
        number = attempt.number
        where = ran_on(attempt.host, os.getpid(), attempt.worker)
    ctx = AttemptContext(settings=settings, db=db, job_id=job_id, attempt_id=attempt_id,
                         scope=scope, input=job_input, kind=kind)
    ctx.log("INFO", f"attempt {number} of job {job_id} ({kind} {scope}) started on {where}")
    beat = _Heartbeat(ctx)
    beat.start()
    output: dict[str, Any] | None = None
    error: str | None = None
    retryable = False
    try:
        output = _kind(kind)(ctx)
        outcome = "succeeded"
    except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
        outcome, retryable = classify(exc)
        if outcome == "failed" and ctx.cancel.is_set():
            outcome, retryable = "cancelled", False  # stopped on request: a side effect
        error = ctx.redact(describe(exc))
        if outcome == "cancelled":
            ctx.log("WARN", f"cancelled: {error}")
        else:
            ctx.log("ERROR", f"{'retryable' if retryable else 'fatal'} failure: {error}")
            if not isinstance(exc, SluicewayError):
                ctx.log("DEBUG", "".join(traceback.format_exception(exc)))
    finally:
        beat.stop()
    ctx.flush()  # a client that sees the job end finds the attempt's log with it
    status = ledger.finish(db, attempt_id, outcome, error=error, retryable=retryable,
                           stats=ctx.stats, settings=settings, output=output,
                           records=ctx.records, bytes_=ctx.bytes)
    ctx.log("INFO", f"attempt {number} {outcome}" + (f"; job {status}" if status else
                                                      "; it had already been ended"))
    ctx.flush()
    return outcome


def settings_for_child(settings: Settings) -> dict[str, Any]:
    """The settings as plain values a worker process rebuilds them from.

    ``model_dump(mode="json")`` masks :class:`SecretStr`; the child needs the real values
    (they travel over the spawn pipe, never on a command line).
    """
    values: dict[str, Any] = settings.model_dump(mode="json")
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            values[name] = value.get_secret_value()
    return values


def child_main(settings_values: dict[str, Any], attempt_id: int) -> None:
    """Entry point of a worker process: run one attempt, then exit."""
    # Ctrl-C at a terminal reaches the whole process group: the supervisor decides
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = Settings(**settings_values)
    logs.configure(settings.log_format)  # the job's lines join the server's log
    run_attempt(settings, attempt_id)

"""Start and stop the job system (executor, reaper, scheduler) of a server process, and run
a worker of the ``celery`` executor."""

from __future__ import annotations

from collections.abc import Sequence

from sluiceway.core import logs
from sluiceway.core.settings import Settings
from sluiceway.jobs import executors
from sluiceway.jobs.runtime import JobRuntime
from sluiceway.services.platform import Platform


def start(platform: Platform) -> JobRuntime:
    rt = JobRuntime(platform.settings, platform.db)
    rt.start()
    return rt


def run_worker(settings: Settings, queues: Sequence[str] | None = None,
               concurrency: int | None = None) -> None:
    """Run a ``sluiceway worker`` until it is stopped: a Celery worker of ``queues``
    (default: ``settings.queue``) that claims jobs in the ledger and runs them here.
    Raises :class:`~sluiceway.core.errors.InvalidInput` naming the setting it lacks."""
    celery = executors.celery_module()
    logs.configure(settings.log_format)
    celery.run_worker(settings, list(queues or [settings.queue]), concurrency)

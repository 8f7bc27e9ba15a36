"""The composition root: what a Sluiceway process is made of, built once at its start.

Settings come first; from them the platform (the metadata DB migrated, the cipher, the
network policy, what must exist from the first start), then for a server the job runtime
with its executor, the error bodies of every API family by path, and the FastAPI app. Each
part is built here and handed to what uses it: nothing in the package registers itself by
being imported. The server (:func:`create_app`) and the command line
(:func:`open_platform`) start from here alike.

The API side is imported by the functions that build it, so that a command-line command
that only needs the platform starts without FastAPI and the API packages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sluiceway.core import logs
from sluiceway.core.settings import Settings
from sluiceway.jobs import executors
from sluiceway.jobs.executors.base import Executor
from sluiceway.jobs.runtime import JobRuntime
from sluiceway.services import platform as platforms
from sluiceway.services.platform import Platform

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sluiceway.api.errors import Renderers


def open_platform(settings: Settings | None = None) -> Platform:
    """The platform of ``settings`` (read from the environment when not given)."""
    return platforms.open_platform(settings if settings is not None else Settings())


def executor(platform: Platform) -> Executor:
    """What runs the attempts of this server's jobs: worker processes on this machine, or
    Celery workers on many (``SLUICEWAY_EXECUTOR=celery``)."""
    return executors.for_settings(platform.settings, platform.db)


def job_runtime(platform: Platform) -> JobRuntime:
    """The executor and the scheduler of a server process (started by the caller)."""
    return JobRuntime(platform.settings, platform.db, executor(platform))


def error_renderers() -> Renderers:
    """Each family's error body on its own paths; the Airbyte bodies on every other path
    (``/api/v1`` and ``/v1`` are the Airbyte face's, but for the platform API's resources;
    the web UI's are pages)."""
    from sluiceway.api import airbyte_public, alumio
    from sluiceway.api.airbyte import errors as airbyte_errors
    from sluiceway.api.backups import errors as backup_errors
    from sluiceway.api.datasets import errors as dataset_errors
    from sluiceway.api.dumps import errors as dump_errors
    from sluiceway.api.errors import Renderers
    from sluiceway.web import app as web

    return Renderers(default=airbyte_errors.render, families=(
        (web.PREFIXES, web.render_problem),
        (backup_errors.PREFIXES, backup_errors.render),
        (dataset_errors.PREFIXES, dataset_errors.render),
        (dump_errors.PREFIXES, dump_errors.render),
        (alumio.PREFIXES, alumio.render),
        (airbyte_public.PREFIXES, airbyte_public.render),
    ))


def create_app(settings: Settings | None = None, *, run_jobs: bool = True,
               platform: Platform | None = None) -> FastAPI:
    """The server's app. The metadata DB is opened (and migrated) now; the job runtime
    starts with the app's lifespan when ``run_jobs`` is true (a server), and not at all for
    an API-only process."""
    from sluiceway.api import app
    from sluiceway.web import app as web

    opened = platform or open_platform(settings)
    jobs = (lambda: job_runtime(opened)) if run_jobs else None
    built = app.build(opened, error_renderers(), jobs=jobs)
    web.install(built)
    return built


def warm_up() -> None:
    """What the first requests of a new server would otherwise pay for: the web UI's
    templates compiled and the configuration catalogue built (run in a background thread
    by ``sluiceway serve``)."""
    from sluiceway.services import prototypes
    from sluiceway.web import templating

    templating.compile_all()
    prototypes.types()


def run_worker(settings: Settings, queues: Sequence[str] | None = None,
               concurrency: int | None = None) -> None:
    """Run a ``sluiceway worker`` until it is stopped: a Celery worker of ``queues``
    (default: ``settings.queue``) that claims jobs in the ledger and runs them here.
    Raises :class:`~sluiceway.core.errors.InvalidInput` naming the setting it lacks."""
    celery = executors.celery_module()
    logs.configure(settings.log_format)
    celery.run_worker(settings, list(queues or [settings.queue]), concurrency)

"""``sluiceway worker``: run jobs of a server with ``SLUICEWAY_EXECUTOR=celery``."""

from __future__ import annotations

from typing import Annotated

import typer

from sluiceway.cli.output import print_error
from sluiceway.cli.server import _settings
from sluiceway.core.errors import SluicewayError


def worker(
    queues: Annotated[str | None, typer.Option(
        "--queues", "-Q", help="comma-separated queues to take jobs from (default: "
        "SLUICEWAY_QUEUE; add SLUICEWAY_LOCAL_QUEUE on the server's machine)")] = None,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", "-c", min=1,
        help="jobs run at once, each in its own process (default: SLUICEWAY_WORKERS)")] = None,
) -> None:
    """Run jobs on this machine: a Celery worker that claims them in the metadata database.

    Needs the server's SLUICEWAY_DATABASE_URL (PostgreSQL), SLUICEWAY_BROKER_URL and
    SLUICEWAY_SECRET_KEY.
    """
    from sluiceway import bootstrap

    settings = _settings(executor="celery")
    names = [q.strip() for q in (queues or "").split(",") if q.strip()] or None
    try:
        bootstrap.run_worker(settings, names, concurrency)
    except SluicewayError as exc:
        print_error("error", exc.message)
        raise typer.Exit(2) from None

"""``sluiceway serve``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from sluiceway.cli.output import err, print_error
from sluiceway.core.errors import SluicewayError

if TYPE_CHECKING:
    from sluiceway.core.settings import Settings


def _settings(**overrides: object) -> Settings:
    from sluiceway.core.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValueError as exc:
        print_error("error", f"invalid settings: {exc}")
        raise typer.Exit(2) from None


def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    log_format: Annotated[Literal["text", "json"] | None, typer.Option(
        help="the server's log lines (job logs too): text, or JSON lines")] = None,
) -> None:
    """Migrate the metadata DB, then serve the API and run jobs (in local worker processes,
    or published to `sluiceway worker` processes with SLUICEWAY_EXECUTOR=celery)."""
    import uvicorn

    from sluiceway import bootstrap
    from sluiceway.core.logs import logging_config

    settings = _settings(host=host, port=port, log_format=log_format)
    try:
        platform = bootstrap.open_platform(settings)
    except SluicewayError as exc:
        print_error("error", exc.message)
        raise typer.Exit(2) from None
    if platform.generated_admin_password:
        err.print("[bold]First start:[/] user [bold]admin[/], password "
                  f"[bold]{platform.generated_admin_password}[/] (shown once; set "
                  "SLUICEWAY_ADMIN_PASSWORD to choose it)", highlight=False)
    err.print(f"Sluiceway on http://{settings.host}:{settings.port}/ (the API at /api/v1, "
              f"docs at /docs), data in {settings.data_dir}", highlight=False)
    app = bootstrap.create_app(settings, platform=platform)
    # the first page views would compile their templates: done meanwhile, off the loop
    threading.Thread(target=bootstrap.warm_up, name="warm-up", daemon=True).start()
    uvicorn.run(app, host=settings.host,
                port=settings.port, log_level="info",
                log_config=logging_config(settings.log_format))

"""``sluiceway serve``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from sluiceway.core.errors import SluicewayError
from sluiceway.core.settings import Settings
from sluiceway.services.platform import open_platform

err = Console(stderr=True)


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValueError as exc:
        err.print(f"[bold red]error:[/] invalid settings: {exc}", highlight=False)
        raise typer.Exit(2) from None


def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Migrate the metadata DB, then serve the API with the local job workers."""
    import uvicorn

    from sluiceway.api.app import create_app

    settings = _settings(host=host, port=port)
    try:
        platform = open_platform(settings)
    except SluicewayError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(2) from None
    if platform.generated_admin_password:
        err.print("[bold]First start:[/] user [bold]admin[/], password "
                  f"[bold]{platform.generated_admin_password}[/] (shown once; set "
                  "SLUICEWAY_ADMIN_PASSWORD to choose it)", highlight=False)
    err.print(f"Sluiceway on http://{settings.host}:{settings.port}/api/v1 "
              f"(docs at /docs), data in {settings.data_dir}", highlight=False)
    uvicorn.run(create_app(settings, platform=platform), host=settings.host,
                port=settings.port, log_level="info")

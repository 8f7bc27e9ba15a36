"""``sluiceway serve``, ``sluiceway users create`` and ``sluiceway tokens create``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from sluiceway.cli.output import err, print_error
from sluiceway.core.errors import SluicewayError

if TYPE_CHECKING:
    from sluiceway.core.settings import Settings

users = typer.Typer(no_args_is_help=True, help="Manage users.")
tokens = typer.Typer(no_args_is_help=True, help="Manage API tokens.")


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
    """Migrate the metadata DB, then serve the API with the local job workers."""
    import uvicorn

    from sluiceway.api.app import create_app
    from sluiceway.core.logs import logging_config
    from sluiceway.services.platform import open_platform

    settings = _settings(host=host, port=port, log_format=log_format)
    try:
        platform = open_platform(settings)
    except SluicewayError as exc:
        print_error("error", exc.message)
        raise typer.Exit(2) from None
    if platform.generated_admin_password:
        err.print("[bold]First start:[/] user [bold]admin[/], password "
                  f"[bold]{platform.generated_admin_password}[/] (shown once; set "
                  "SLUICEWAY_ADMIN_PASSWORD to choose it)", highlight=False)
    err.print(f"Sluiceway on http://{settings.host}:{settings.port}/api/v1 "
              f"(docs at /docs), data in {settings.data_dir}", highlight=False)
    uvicorn.run(create_app(settings, platform=platform), host=settings.host,
                port=settings.port, log_level="info",
                log_config=logging_config(settings.log_format))


@users.command("create")
def create_user(
    username: str,
    workspace: Annotated[str, typer.Option(help="slug of the user's workspace")] = "default",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)] = "",
) -> None:
    """Make a user who belongs to a workspace (made if it does not exist)."""
    from sluiceway.services import auth
    from sluiceway.services.platform import open_platform

    platform = open_platform(_settings())
    try:
        auth.create_user(platform, username, password, workspace)
    except SluicewayError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(2) from None
    err.print(f"user {username} created in workspace {workspace}")


@tokens.command("create")
def create_token(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
) -> None:
    """Print a new bearer token for a user (it is stored only as a hash)."""
    from sluiceway.services import auth
    from sluiceway.services.platform import open_platform

    platform = open_platform(_settings())
    try:
        token = auth.create_token(platform, username, name)
    except SluicewayError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(2) from None
    typer.echo(token)

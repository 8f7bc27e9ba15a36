"""``sluiceway users ...`` and ``sluiceway tokens ...``: users, passwords and API tokens.

The command line acts as ``admin`` (its audit entries say ``cli`` as the address). Only
typer is imported here at first; each command imports the services it runs, so that
``sluiceway --help`` stays fast. Exit codes: 0 success, 2 bad input (an unknown user, a
short password, an expiry that cannot be read).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services.platform import Platform

users = typer.Typer(no_args_is_help=True, help="Manage users.")
tokens = typer.Typer(no_args_is_help=True, help="Manage API tokens.")


def _platform() -> Platform:
    from sluiceway import bootstrap

    try:
        return bootstrap.open_platform()
    except ValueError as exc:  # pydantic's ValidationError: a setting is wrong
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from None


def _fail(exc: SluicewayError) -> NoReturn:
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(2) from None


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    return password


@users.command("create")
def create_user(
    username: str,
    workspace: Annotated[str, typer.Option(help="slug of the user's workspace")] = "default",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)] = "",
) -> None:
    """Make a user who belongs to a workspace (made if it does not exist)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import auth

    try:
        p = _platform()
        auth.create_user(p, username, password, workspace, by=auth.caller_for(p, auth.ADMIN))
    except SluicewayError as exc:
        _fail(exc)
    typer.echo(f"user {username} created in workspace {workspace}", err=True)


@users.command("set-password")
def set_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the new password from the first line of stdin")] = False,
) -> None:
    """Give a user a new password (prompted twice, or read from stdin)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import auth

    password = _read_password(password_stdin)
    try:
        p = _platform()
        auth.set_password(p, username, password, by=auth.caller_for(p, auth.ADMIN))
    except SluicewayError as exc:
        _fail(exc)
    typer.echo(f"password of {username} changed", err=True)


@tokens.command("create")
def create_token(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    expires: Annotated[str | None, typer.Option(
        help="when it stops working: a span (30d, 12h, 90m, 2w) or an ISO date or date "
             "and time (UTC unless an offset is given); default never")] = None,
) -> None:
    """Print a new bearer token for a user (it is stored only as a hash)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import auth

    try:
        expires_at = auth.parse_expiry(expires) if expires is not None else None
        p = _platform()
        token = auth.create_token(p, username, name, expires_at,
                                  by=auth.caller_for(p, auth.ADMIN))
    except SluicewayError as exc:
        _fail(exc)
    typer.echo(token)
    if expires_at is not None:
        typer.echo(f"expires {_when(expires_at)}", err=True)


@tokens.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Option(help="only this user's tokens")] = None,
) -> None:
    """List tokens: id, user, name, status, created, expires, last used (never the token)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import auth

    try:
        views = auth.list_tokens(_platform(), user)
    except SluicewayError as exc:
        _fail(exc)
    at = time.time()
    rows = [("id", "user", "name", "status", "created", "expires", "last used")]
    rows += [(v.id, v.username, v.name, v.status(at), _when(v.created_at),
              _when(v.expires_at), _when(v.last_used_at)) for v in views]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@tokens.command("revoke")
def revoke_token(token_id: str) -> None:
    """Revoke a token by its id (see ``tokens list``); it answers 401 from now on."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import auth

    try:
        p = _platform()
        view = auth.revoke_token(p, token_id, by=auth.caller_for(p, auth.ADMIN))
    except SluicewayError as exc:
        _fail(exc)
    typer.echo(f"token {view.id} ({view.name}, of {view.username}) revoked "
               f"{_when(view.revoked_at)}", err=True)

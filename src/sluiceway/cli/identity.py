"""``sluiceway users ...`` and ``sluiceway tokens ...``: users, their roles in spaces, system
administrators, passwords and API tokens.

The command line acts as ``admin`` (its audit entries say ``cli`` as the address) unless
``--as EMAIL`` names another user, through the same services and policy as the platform
API. Only
typer is imported here at first; each command imports the services it runs, so that
``sluiceway --help`` stays fast. Exit codes: 0 success, 2 bad input (an unknown user, a
short password, an expiry that cannot be read).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from sluiceway.cli.alumio import AsUser, SpaceOpt, _open, _table
from sluiceway.cli.alumio import _fail as _fail_named

if TYPE_CHECKING:
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services.platform import Platform

users = typer.Typer(no_args_is_help=True, help="Manage users.")
tokens = typer.Typer(no_args_is_help=True, help="Manage API tokens.")
system_admins = typer.Typer(no_args_is_help=True,
                            help="Manage system administrators (they manage every space).")
users.add_typer(system_admins, name="system-admins")

#: short names a role may be given by on the command line
ROLE_NAMES = {"viewer": "ROLE_USER", "editor": "ROLE_EDITOR",
              "administrator": "ROLE_ADMINISTRATOR"}
RoleOpt = Annotated[str, typer.Option(
    "--role", help="viewer, editor or administrator (or ROLE_USER, ROLE_EDITOR, "
                   "ROLE_ADMINISTRATOR)")]


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
    as_user: AsUser = "admin",
) -> None:
    """Make a user who belongs to a workspace (made if it does not exist)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import auth

    try:
        p = _platform()
        auth.create_user(p, username, password, workspace,
                         by=auth.caller_for(p, as_user))
    except SluicewayError as exc:
        _fail(exc)
    typer.echo(f"user {username} created in workspace {workspace}", err=True)


@users.command("set-password")
def set_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the new password from the first line of stdin")] = False,
    as_user: AsUser = "admin",
) -> None:
    """Give a user a new password (prompted twice, or read from stdin): your own, or as an
    administrator of every space the user is in, or as a system administrator. The user's
    browser sessions end."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import auth, space_users

    password = _read_password(password_stdin)
    try:
        p = _platform()
        space_users.set_password(p, auth.caller_for(p, as_user), username, password)
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
    as_user: AsUser = "admin",
) -> None:
    """Print a new bearer token for a user (it is stored only as a hash)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import auth

    try:
        expires_at = auth.parse_expiry(expires) if expires is not None else None
        p = _platform()
        token = auth.create_token(p, username, name, expires_at,
                                  by=auth.caller_for(p, as_user))
    except SluicewayError as exc:
        _fail(exc)
    typer.echo(token)
    if expires_at is not None:
        typer.echo(f"expires {_when(expires_at)}", err=True)


@tokens.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Option(help="only this user's tokens")] = None,
    as_user: AsUser = "admin",
) -> None:
    """List tokens: id, user, name, status, created, expires, last used (never the token)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import auth

    try:
        p = _platform()
        views = auth.list_tokens(p, user, by=auth.caller_for(p, as_user))
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
def revoke_token(token_id: str, as_user: AsUser = "admin") -> None:
    """Revoke a token by its id (see ``tokens list``); it answers 401 from now on."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import auth

    try:
        p = _platform()
        view = auth.revoke_token(p, token_id, by=auth.caller_for(p, as_user))
    except SluicewayError as exc:
        _fail(exc)
    typer.echo(f"token {view.id} ({view.name}, of {view.username}) revoked "
               f"{_when(view.revoked_at)}", err=True)


# --- users in spaces and system administrators (acting as --as) ------------------------------

@users.command("list")
def list_users(
    space: Annotated[str | None, typer.Option(
        "--space", help="the users of this space (default: every user, for system "
                        "administrators)")] = None,
    as_user: AsUser = "admin",
) -> None:
    """List users: a space's members with their roles, or every user with their spaces."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import criteria, directory, space_users

    try:
        p, caller = _open(as_user)
        if space is not None:
            members, total = space_users.list_members(
                p, caller, space, criteria.Criteria(limit=criteria.MAX_LIMIT))
            shown = len(members)
            _table([("email", "role")] + [(m.email, m.role.value) for m in members])
        else:
            everyone, total = directory.list_users(p, caller)
            _table([("email", "system admin", "password", "spaces")]
                   + [(u.email, "yes" if u.system_admin else "no",
                       "set" if u.has_password else "none",
                       ", ".join(f"{slug}:{role}" for slug, role in u.spaces) or "-")
                      for u in everyone])
            shown = len(everyone)
    except SluicewayError as exc:
        _fail_named(exc)
    typer.echo(f"{shown} of {total} users", err=True)


def _role(name: str) -> str:
    return ROLE_NAMES.get(name.lower(), name)


@users.command("add")
def add_user(email: str, space: SpaceOpt, role: RoleOpt = "viewer",
             as_user: AsUser = "admin") -> None:
    """Add a user to a space with a role (a new user has no password until one is set)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import space_users

    try:
        p, caller = _open(as_user)
        view = space_users.add_member(p, caller, space, email, [_role(role)])
    except SluicewayError as exc:
        _fail_named(exc)
    typer.echo(f"user {view.email} added to space {view.space} as {view.role.value}",
               err=True)


@users.command("set-role")
def set_role(email: str, space: SpaceOpt, role: RoleOpt, as_user: AsUser = "admin") -> None:
    """Change a user's role in a space."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import space_users

    try:
        p, caller = _open(as_user)
        view = space_users.update_member(p, caller, space, email, email, [_role(role)])
    except SluicewayError as exc:
        _fail_named(exc)
    typer.echo(f"user {view.email} is {view.role.value} of space {view.space}", err=True)


@users.command("remove")
def remove_user(email: str, space: SpaceOpt, as_user: AsUser = "admin") -> None:
    """Remove a user from a space (the user keeps their other spaces)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import space_users

    try:
        p, caller = _open(as_user)
        space_users.remove_member(p, caller, space, email)
    except SluicewayError as exc:
        _fail_named(exc)
    typer.echo(f"user {email} removed from space {space}", err=True)


@system_admins.command("list")
def list_system_admins(as_user: AsUser = "admin") -> None:
    """List the system administrators."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import criteria, directory

    try:
        p, caller = _open(as_user)
        admins, _ = directory.list_admins(p, caller, criteria.Criteria(limit=criteria.MAX_LIMIT))
    except SluicewayError as exc:
        _fail_named(exc)
    for a in admins:
        typer.echo(a.email)


@system_admins.command("add")
def add_system_admin(email: str, as_user: AsUser = "admin") -> None:
    """Make a user a system administrator (the user is made when new)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import directory

    try:
        p, caller = _open(as_user)
        directory.add_admin(p, caller, email)
    except SluicewayError as exc:
        _fail_named(exc)
    typer.echo(f"{email} is a system administrator", err=True)


@system_admins.command("remove")
def remove_system_admin(email: str, as_user: AsUser = "admin") -> None:
    """Take the system role from a user (never from the last system administrator)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import directory

    try:
        p, caller = _open(as_user)
        directory.remove_admin(p, caller, email)
    except SluicewayError as exc:
        _fail_named(exc)
    typer.echo(f"{email} is no longer a system administrator", err=True)

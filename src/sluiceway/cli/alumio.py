"""``sluiceway spaces``, ``sluiceway variables`` and ``sluiceway audit``: the platform's
spaces, a space's environment variables and the audit trail, through the same services as
the platform API (the same policy and the same audit entries, with ``cli`` as the address).

The command line acts as ``admin`` unless ``--as EMAIL`` names another user. Only typer is
imported here at first; each command imports the services it runs, so that
``sluiceway --help`` stays fast. Exit codes: 0 success, 2 bad input or a refusal.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services.caller import Caller
    from sluiceway.services.platform import Platform

spaces = typer.Typer(no_args_is_help=True, help="Manage spaces (workspaces).")
variables = typer.Typer(no_args_is_help=True, help="Manage a space's environment variables.")
audit = typer.Typer(no_args_is_help=True, help="Read the audit trail.")

AsUser = Annotated[str, typer.Option("--as", help="act as this user (email or login)")]
SpaceOpt = Annotated[str, typer.Option("--space", help="the space's identifier")]


def _open(as_user: str) -> tuple[Platform, Caller]:
    from sluiceway import bootstrap
    from sluiceway.services import auth

    try:
        p = bootstrap.open_platform()
    except ValueError as exc:  # pydantic's ValidationError: a setting is wrong
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from None
    return p, auth.caller_for(p, as_user, "cli")


def _fail(exc: SluicewayError) -> NoReturn:
    typer.echo(f"error: {exc.message}", err=True)
    for e in getattr(exc, "errors", [])[:20]:
        typer.echo(f"  - {e}", err=True)
    raise typer.Exit(2) from None


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@spaces.command("list")
def list_spaces(as_user: AsUser = "admin") -> None:
    """List the spaces you are in (every space for a system administrator)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import spaces as service

    try:
        p, caller = _open(as_user)
        views = service.list_spaces(p, caller)
    except SluicewayError as exc:
        _fail(exc)
    _table([("identifier", "name", "purpose", "created")]
           + [(v.identifier, v.name, v.purpose, _when(v.created_at)) for v in views])


@spaces.command("create")
def create_space(
    identifier: str,
    name: Annotated[str | None, typer.Option(help="display name (default: the identifier)")]
    = None,
    purpose: Annotated[str, typer.Option(help="prod, uat, test or dev")] = "prod",
    description: Annotated[str, typer.Option()] = "",
    as_user: AsUser = "admin",
) -> None:
    """Make a space (system administrators only)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import spaces as service

    try:
        p, caller = _open(as_user)
        view = service.create(p, caller, service.SpaceInput(
            identifier, name or identifier, purpose, description))
    except SluicewayError as exc:
        _fail(exc)
    typer.echo(f"space {view.identifier} created", err=True)


def _space_id(p: Platform, caller: Caller, space: str) -> str:
    from sluiceway.services import spaces as service

    return service.get(p, caller, space).id


@variables.command("list")
def list_variables(space: SpaceOpt = "default", as_user: AsUser = "admin") -> None:
    """List a space's variables (an encrypted value is never shown)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import criteria
    from sluiceway.services import variables as service

    try:
        p, caller = _open(as_user)
        views, _ = service.list_variables(p, caller, _space_id(p, caller, space),
                                          criteria.Criteria(limit=criteria.MAX_LIMIT))
    except SluicewayError as exc:
        _fail(exc)
    _table([("name", "encrypted", "value", "description")]
           + [(v.name, "yes" if v.encrypted else "no",
               "(encrypted)" if v.encrypted else "-" if v.value is None else v.value,
               v.description) for v in views])


@variables.command("set")
def set_variable(
    name: str,
    value: Annotated[str | None, typer.Option(help="the value (visible in shell history; "
                                                   "see --value-stdin)")] = None,
    value_stdin: Annotated[bool, typer.Option(
        "--value-stdin", help="read the value from the first line of stdin")] = False,
    encrypted: Annotated[bool | None, typer.Option(
        "--encrypted/--plain", help="keep the value encrypted (default: as it is, or "
                                    "plain for a new variable)")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    allow_target: Annotated[list[str] | None, typer.Option(
        "--allow-target", help="a host or URL prefix an encrypted value may go to "
                               "(repeatable)")] = None,
    space: SpaceOpt = "default",
    as_user: AsUser = "admin",
) -> None:
    """Create a variable, or change the one of that name."""
    from sluiceway.core.errors import NotFound, SluicewayError
    from sluiceway.services import variables as service

    if value_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    given = service.VariableInput(name, value, description, encrypted, allow_target or None)
    try:
        p, caller = _open(as_user)
        ws = _space_id(p, caller, space)
        try:
            service.get(p, caller, ws, name)
        except NotFound:
            view = service.create(p, caller, ws, given)
            verb = "created"
        else:
            view = service.update(p, caller, ws, name, given)
            verb = "updated"
    except SluicewayError as exc:
        _fail(exc)
    kind = "encrypted" if view.encrypted else "plain"
    typer.echo(f"{kind} variable {view.name} {verb} in space {space}", err=True)
    if view.warning:
        typer.echo(f"warning: {view.warning}", err=True)


@variables.command("delete")
def delete_variable(name: str, space: SpaceOpt = "default", as_user: AsUser = "admin") -> None:
    """Delete a variable (configurations that refer to it stop resolving it)."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import variables as service

    try:
        p, caller = _open(as_user)
        service.delete(p, caller, _space_id(p, caller, space), name)
    except SluicewayError as exc:
        _fail(exc)
    typer.echo(f"variable {name} deleted from space {space}", err=True)


@audit.command("list")
def list_audit(
    space: Annotated[str | None, typer.Option(
        "--space", help="one space (default: every space, for system administrators)")]
    = None,
    filter: Annotated[str | None, typer.Option(  # noqa: A002
        "--filter", help='search criteria as JSON, e.g. {"where": {"category": "user"}}')]
    = None,
    as_user: AsUser = "admin",
) -> None:
    """List audit entries, newest first."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import audit as service
    from sluiceway.services import criteria

    try:
        p, caller = _open(as_user)
        c = criteria.parse(filter, service.COLUMNS)
        ws = _space_id(p, caller, space) if space is not None else None
        entries, total = service.list_entries(p, caller, c, ws)
    except SluicewayError as exc:
        _fail(exc)
    _table([("when", "user", "space", "address", "action", "message")]
           + [(_when(e.created_at), e.user, e.space or "-", e.address, e.action, e.message)
              for e in entries])
    typer.echo(f"{len(entries)} of {total} entries", err=True)

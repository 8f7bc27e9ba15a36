"""``sluiceway configurations list|export|import``: a space's configurations through the same
services, policy and audit trail as the platform API (``cli`` as the address).

``export`` writes NDJSON lines of ``register.configuration`` to stdout or a file; ``import``
reads them from a file or stdin (``-``), all or nothing, with ``--dry-run`` and
``--validate-variables`` as the API has them. Exit codes: 0 success, 2 bad input, a refusal
or an invalid import (its report on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sluiceway.cli.alumio import AsUser, SpaceOpt, _fail, _open, _space_id, _table, _when

app = typer.Typer(no_args_is_help=True,
                  help="List, export and import a space's configurations.")


@app.command("list")
def list_configurations(
    type_: Annotated[str | None, typer.Option("--type", help="only this type")] = None,
    filter: Annotated[str | None, typer.Option(  # noqa: A002
        "--filter", help='search criteria as JSON, e.g. {"where": {"disabled": true}}')]
    = None,
    space: SpaceOpt = "default",
    as_user: AsUser = "admin",
) -> None:
    """List configurations: type, identifier, prototype, state, name and last change."""
    from sluiceway.core.errors import SluicewayError
    from sluiceway.services import configurations as service
    from sluiceway.services import criteria

    try:
        p, caller = _open(as_user)
        c = criteria.parse(filter, service.COLUMNS, "--filter")
        if filter is None or '"limit"' not in filter:
            c = criteria.Criteria(c.where, c.order, criteria.MAX_LIMIT, c.skip)
        views, total = service.list_configurations(p, caller, _space_id(p, caller, space), c,
                                                   type_)
    except SluicewayError as exc:
        _fail(exc)
    _table([("type", "identifier", "prototype", "state", "name", "updated")]
           + [(v.type, v.identifier, str(v.object.get("prototype")),
               "disabled" if v.disabled else "enabled", v.name, _when(v.updated_at))
              for v in views])
    if total > len(views):
        typer.echo(f"({len(views)} of {total}; use --filter with skip for more)", err=True)


@app.command("export")
def export_configurations(
    identifiers: Annotated[list[str] | None, typer.Argument(
        help="TYPE/IDENTIFIER of each configuration (default: all, or all of --type)")]
    = None,
    type_: Annotated[str | None, typer.Option("--type", help="only this type")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="write here instead of stdout")] = None,
    space: SpaceOpt = "default",
    as_user: AsUser = "admin",
) -> None:
    """Write configurations as NDJSON lines (secrets masked, ${NAME} references kept)."""
    from sluiceway.core.errors import FieldError, InvalidInput, SluicewayError
    from sluiceway.services import configuration_transfer as service

    objects = None
    if identifiers:
        bad = [i for i in identifiers if i.count("/") != 1]
        if bad:
            _fail(InvalidInput("invalid configuration", [FieldError(
                bad[0], "must be TYPE/IDENTIFIER, e.g. transformer/rename-fields")]))
        objects = [(t, i) for t, _, i in (x.partition("/") for x in identifiers)]
    try:
        p, caller = _open(as_user)
        items = service.export_configurations(p, caller, _space_id(p, caller, space), objects,
                                              type_)
    except SluicewayError as exc:
        _fail(exc)
    text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    typer.echo(f"{len(items)} configurations exported from space {space}", err=True)


@app.command("import")
def import_configurations(
    source: Annotated[str, typer.Argument(help="an NDJSON file, or - for stdin")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only report what would be "
                                                            "done")] = False,
    validate_variables: Annotated[bool, typer.Option(
        "--validate-variables", help="refuse ${NAME} references to missing variables")]
    = False,
    space: SpaceOpt = "default",
    as_user: AsUser = "admin",
) -> None:
    """Import NDJSON lines of register.configuration, all or nothing."""
    from sluiceway.core.errors import FieldError, InvalidInput, SluicewayError
    from sluiceway.services import configuration_transfer as service

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        _fail(InvalidInput("cannot read the import", [FieldError(source, str(exc.strerror))]))
    try:
        p, caller = _open(as_user)
        result = service.import_configurations(
            p, caller, _space_id(p, caller, space), service.parse_ndjson(data),
            dry_run=dry_run, validate_variables=validate_variables)
    except service.ImportRefused as refused:
        result = refused.result
    except SluicewayError as exc:
        _fail(exc)
    _table([("type", "identifier", "decision", "action")]
           + [(r.type or "-", r.identifier or "-", r.decision, r.action)
              for r in result.results])
    for n, r in enumerate(result.results, start=1):
        for v in r.violations:
            typer.echo(f"  item {n}: {v.path or '<item>'}: {v.title}", err=True)
    typer.echo(result.detail, err=True)
    if not result.valid:
        raise typer.Exit(2)

"""``sluiceway`` commands. Exit codes: 0 success, 1 a sync failed, 2 bad input.

Each command imports what it uses when it runs, so that ``sluiceway --help`` (and every
command that does not need them) starts without the server, the database layer or Arrow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from sluiceway import __version__
from sluiceway.cli import alumio, configurations, identity, jobs, server, worker
from sluiceway.cli.output import print_error, stderr, stdout
from sluiceway.core.errors import (
    ConnectionFailed,
    FieldError,
    InvalidInput,
    RecordRejected,
    SluicewayError,
)

if TYPE_CHECKING:
    from sluiceway.core.settings import Settings
    from sluiceway.services import connectors as connector_service
    from sluiceway.services import pipeline_file, pipelines

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Sluiceway: move tables between databases and files.")
app.command()(server.serve)
app.command()(worker.worker)
app.add_typer(identity.users, name="users")
app.add_typer(identity.tokens, name="tokens")
app.add_typer(jobs.app, name="jobs")
app.add_typer(alumio.spaces, name="spaces")
app.add_typer(alumio.variables, name="variables")
app.add_typer(alumio.audit, name="audit")
app.add_typer(configurations.app, name="configurations")

#: errors that mean "the input was wrong": exit code 2
BAD_INPUT = (InvalidInput, ConnectionFailed, RecordRejected)


def _fail(exc: SluicewayError, code: int | None = None) -> NoReturn:
    print_error("error", exc.message)
    if isinstance(exc, InvalidInput) and len(exc.errors) > 1:
        for e in exc.errors:
            stderr().print(f"  - {e}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code if code is not None else (2 if isinstance(exc, BAD_INPUT) else 1))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(InvalidInput("cannot read config", [FieldError(str(path), str(exc.strerror))]))
    except json.JSONDecodeError as exc:
        _fail(InvalidInput("config is not valid JSON", [FieldError(str(path), str(exc))]))
    if not isinstance(data, dict):
        _fail(InvalidInput("invalid config", [FieldError(str(path), "must be a JSON object")]))
    return data


def _kind(destination: bool) -> connector_service.Kind:
    return "destination" if destination else "source"


@app.command()
def version() -> None:
    """Print Sluiceway's version."""
    typer.echo(__version__)


@app.command()
def connectors() -> None:
    """List the built-in connectors."""
    from rich.table import Table

    from sluiceway.services import connectors as connector_service

    table = Table("name", "kind", "title")
    for e in connector_service.list_connectors():
        table.add_row(e.name, e.kind, e.title)
    stdout().print(table)


@app.command()
def spec(
    connector: str,
    destination: Annotated[bool, typer.Option("--destination", "-d",
                                              help="the destination's spec")] = False,
) -> None:
    """Print a connector's spec (JSON Schema of its config)."""
    from sluiceway.services import connectors as connector_service

    try:
        s = connector_service.spec(connector, _kind(destination))
    except SluicewayError as exc:
        _fail(exc)
    stdout().print_json(json.dumps(s.to_airbyte()))


@app.command()
def check(
    connector: str,
    config: Path,
    destination: Annotated[bool, typer.Option("--destination", "-d")] = False,
) -> None:
    """Check that a config reaches its system. Exit 2 when it does not."""
    from sluiceway.services import connectors as connector_service

    try:
        result = connector_service.check(connector, _kind(destination),
                                         _read_json(config))
    except SluicewayError as exc:
        _fail(exc)
    if result.ok:
        print_error("ok", result.message, style="green", to=stdout())
        return
    print_error("check failed", result.message)
    raise typer.Exit(2)


@app.command()
def discover(connector: str, config: Path) -> None:
    """Print the catalog (Airbyte protocol JSON) a source offers."""
    from sluiceway.services import connectors as connector_service

    try:
        catalog = connector_service.discover(connector, _read_json(config))
    except SluicewayError as exc:
        _fail(exc)
    stdout().print_json(json.dumps(catalog.to_airbyte()))


@app.command()
def run(
    pipeline: Path,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
) -> None:
    """Run the sync a pipeline file describes; state makes the next run incremental."""
    import time

    from sluiceway.core.settings import Settings
    from sluiceway.services import pipeline_file, pipelines

    settings = Settings()
    started = time.monotonic()
    try:
        p = pipeline_file.load(pipeline)
        if as_json or not sys.stderr.isatty():
            result = pipelines.run(p, settings)
        else:
            result = _run_with_progress(p, settings)
    except SluicewayError as exc:
        if as_json:
            stdout().print_json(json.dumps({"status": "failed", "error": exc.message,
                                          "streams": []}))
        _fail(exc)
    elapsed = time.monotonic() - started
    if as_json:
        summary = {"status": result.status, "seconds": round(elapsed, 3),
                   "streams": [s.as_dict() for s in result.streams]}
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        _print_summary(result)
    if not result.ok:
        first = result.first_error()
        if isinstance(first, SluicewayError):
            _fail(first)
        raise typer.Exit(1)


def _run_with_progress(p: pipeline_file.Pipeline, settings: Settings) -> pipelines.SyncResult:
    from sluiceway.cli.progress import SyncProgress
    from sluiceway.services import pipelines

    with SyncProgress(stderr()) as progress:
        return pipelines.run(p, settings, progress.rows, estimate=progress.estimate,
                             phase=progress.phase)


def _print_summary(result: pipelines.SyncResult) -> None:
    from rich.table import Table

    table = Table("stream", "status", "records", "MB", "seconds", "MB/s")
    for s in result.streams:
        mbs = s.bytes / max(s.seconds, 1e-6) / 1e6
        style = "green" if s.status == "succeeded" else "red"
        table.add_row(s.stream, f"[{style}]{s.status}[/]", f"{s.records:,}",
                      f"{s.bytes / 1e6:,.1f}", f"{s.seconds:.2f}", f"{mbs:,.1f}")
    stdout().print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""``sluiceway jobs logs ID [--follow] [--as EMAIL]``: a job's log on this machine's metadata
database, read as ``admin`` unless ``--as`` names a user (who must be in the job's space)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from sluiceway.cli.output import print_error
from sluiceway.core.errors import SluicewayError

app = typer.Typer(no_args_is_help=True, help="Look at jobs.")

#: seconds between two looks at a followed job
FOLLOW_SECONDS = 0.5


@app.command("logs")
def logs(
    job_id: Annotated[int, typer.Argument(metavar="ID", help="the job's id")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help=(
        "keep printing new lines until the job ends; exit 1 if it did not succeed"))] = False,
    as_user: Annotated[str, typer.Option("--as", help="act as this user (email or login)")]
    = "admin",
) -> None:
    """Print a job's log lines, every attempt's, oldest first."""
    from sluiceway import bootstrap
    from sluiceway.services import auth, jobs

    try:
        platform = bootstrap.open_platform()
        caller = auth.caller_for(platform, as_user, "cli")
        after = 0
        while True:
            page = jobs.log_of(platform, caller, job_id, after)
            for line in page.lines:
                typer.echo(str(line))
                after = line.id
            if not follow:
                return
            if page.finished:
                # a last look: lines flushed as the job ended
                for line in jobs.log_of(platform, caller, job_id, after).lines:
                    typer.echo(str(line))
                typer.echo(f"job {job_id} {page.status}", err=True)
                raise typer.Exit(0 if page.status == "succeeded" else 1)
            time.sleep(FOLLOW_SECONDS)
    except SluicewayError as exc:
        print_error("error", exc.message)
        raise typer.Exit(2) from None

"""The UI mounted on the API's app: ``/`` leads to it, its pages live under ``/ui``.

Errors on UI paths are pages, not JSON: a request without a session is sent to the sign-in
page, anything else shows what went wrong with its status (the same classification as the
API, :mod:`sluiceway.api.errors`).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from sluiceway.api import errors
from sluiceway.web import templating
from sluiceway.web.pages import (
    account,
    actors,
    admin,
    backups,
    configuration_transfer,
    configurations,
    connections,
    dumps,
    exports,
    imports,
    logs,
    overview,
    platform,
    processes,
    search,
    spaces,
    storages,
    system_administrators,
    table_filters,
    tasks,
)

PREFIX = templating.PREFIX


def render_problem(request: Request, problem: errors.Problem) -> Response:
    if problem.status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='/')}", 303)
    return templating.render(request, "error.html", {"problem": problem},
                             status=problem.status, headers=problem.headers)


def _static() -> Path:
    return Path(str(files("sluiceway.web") / "static"))


#: the UI's paths, whose errors are pages (:func:`render_problem`)
PREFIXES = (PREFIX + "/",)


def install(app: FastAPI) -> None:
    """Add the UI's routes and static files to ``app`` (its error pages are among the
    renderers the composition root gives the app)."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=_static()), name="ui-static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", 303)

    # the sources and destinations routes start with a path parameter: they come last
    for module in (account, overview, connections, exports, imports, dumps, backups,
                   configuration_transfer, configurations, processes, logs, tasks, storages, spaces,
                   search, table_filters, admin, system_administrators, platform, actors):
        app.include_router(module.router, prefix=PREFIX, include_in_schema=False)

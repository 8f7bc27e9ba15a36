"""``/apis/{apiId}/dumps``: list, create (202, a ``dump`` job), show and delete the dumps of
an API (a source of the caller's workspaces), and the dump file's download (with
credentials, or with the signed ``location`` link)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse

from sluiceway.api import downloads, errors
from sluiceway.api.deps import CallerDep, PlatformDep, get_caller
from sluiceway.api.inputs import Checked
from sluiceway.services import artifacts, dumps
from sluiceway.services.platform import Platform

router = APIRouter(tags=["dumps"])


def _iso(epoch: object) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def _path(api_id: str, dump_id: str) -> str:
    return f"/apis/{api_id}/dumps/{dump_id}"


#: the family's names of the ledger's statuses
STATUS_NAMES = {"pending": "scheduled", "incomplete": "scheduled", "running": "started",
                "succeeded": "finished", "failed": "failed", "cancelled": "failed"}


def _dump(p: Platform, d: dumps.Dump, with_output: bool) -> dict[str, Any]:
    meta = d.meta
    body: dict[str, Any] = {
        "id": d.id,
        "location": f"{_path(d.api_id, d.id)}/download?{artifacts.signed_query(p, d.id)}",
        "path": d.artifact.filename,
        "status": STATUS_NAMES.get(d.status, "scheduled"),
        "config": meta.get("config"),
    }
    for key in ("started", "ended"):
        when = _iso(meta.get(key))
        if when is not None:
            body[key] = when
    if with_output and d.status == "succeeded" and meta.get("output") is not None:
        body["output"] = meta["output"]
        if meta.get("labels"):
            body["outputLabels"] = meta["labels"]
        if meta.get("truncated"):
            body["truncated"] = meta["truncated"]
    if d.error is not None:
        body["error"] = d.error
    return body


@router.get("/apis/{apiId}/dumps")
def index(apiId: str, p: PlatformDep, caller: CallerDep) -> Response:  # noqa: N803
    """The dumps of the API, newest first (without their output)."""
    return JSONResponse(errors.rendered(dumps.list_dumps(p, caller, apiId),
                                        lambda d: _dump(p, d, False), "dump"))


@router.post("/apis/{apiId}/dumps", status_code=202)
def create(apiId: str, request: Request, p: PlatformDep, caller: CallerDep,  # noqa: N803
           config: Annotated[Any, Body(), Checked]) -> Response:
    """Accept a dump config: the same config again is the same dump (run again if failed)."""
    a, queued = dumps.create(p, caller, apiId, config)
    location = _path(apiId, a.id)
    url = str(request.base_url).rstrip("/") + location
    message = ("Dump creation request accepted" if queued
               else "Dump creation request accepted: this dump exists already")
    return JSONResponse({"status": 202, "message": message, "location": location, "url": url},
                        status_code=202, headers={"Location": location})


@router.get("/apis/{apiId}/dumps/{dumpId}")
def show(apiId: str, dumpId: str, p: PlatformDep, caller: CallerDep) -> Response:  # noqa: N803
    return JSONResponse(_dump(p, dumps.get(p, caller, apiId, dumpId), True))


@router.delete("/apis/{apiId}/dumps/{dumpId}")
def delete(apiId: str, dumpId: str, request: Request, p: PlatformDep,  # noqa: N803
           caller: CallerDep) -> Response:
    """Cancel the dump's job if it runs, then delete the dump and its file."""
    dumps.delete(p, caller, apiId, dumpId)
    return JSONResponse({"status": 200, "message": "Dump deleted",
                         "location": _path(apiId, dumpId), "url": request.url.path})


@router.get("/apis/{apiId}/dumps/{dumpId}/download")
def download(apiId: str, dumpId: str, request: Request, p: PlatformDep,  # noqa: N803
             expires: int | None = None, signature: str | None = None) -> Response:
    """The dump's JSON lines, with credentials or with the ``location``'s signed query."""
    caller = None
    if signature is None and expires is None:
        caller = get_caller(request, p)
    a = dumps.for_download(p, caller, apiId, dumpId, expires, signature)
    return downloads.send(p, a, request)

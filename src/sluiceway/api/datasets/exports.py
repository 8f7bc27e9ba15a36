"""``/exports``: list, show, create (an export job), formats, and the download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ConfigDict

from sluiceway.api import downloads, errors, jsonapi
from sluiceway.api.datasets import render, vocabulary
from sluiceway.api.deps import CallerDep, PlatformDep, get_caller
from sluiceway.api.inputs import Name, RequestModel
from sluiceway.services import artifacts, datasets

router = APIRouter(tags=["exports"])
JSONAPI = "application/vnd.api+json"


class ExportCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    project_id: str
    source_id: str | None = None
    destination_id: str | None = None
    stream: Name
    columns: list[str] | None = None
    filter: Any = None
    format: str = "csv"
    filename: Name | None = None
    password: str | None = None
    priority: int = 0
    scheduled_at: str | None = None
    unicity: str | None = None


def _doc(content: dict[str, Any], status: int = 200) -> Response:
    from fastapi.responses import JSONResponse

    return JSONResponse(content, status_code=status, media_type=JSONAPI)


@router.get("/exports")
def index(request: Request, p: PlatformDep, caller: CallerDep) -> Response:
    query = jsonapi.parse_query(request)
    jsonapi.check_fields(query.fields, render.EXPORT_ATTRIBUTES)
    rows, total = datasets.list_exports(p, caller, vocabulary.export_query(query))
    items = errors.rendered(rows, lambda a: render.export(p, a, query.fields), "export")
    return _doc(jsonapi.collection(request, items, query, total))


@router.get("/exports/formats")
def formats(p: PlatformDep, caller: CallerDep,
            modalities: str = Query(..., description="comma-separated, e.g. tabular")
            ) -> Response:
    wanted = [m.strip() for m in modalities.split(",") if m.strip()]
    found = datasets.formats_for(wanted)
    return _doc({"data": [jsonapi.resource("formats", f.name, {
        "name": f.name, "mime_type": f.mime_type, "extension": f.extension,
        "modality": f.modality, "description": f.description}, None) for f in found]})


@router.get("/exports/{resource_id}")
def show(resource_id: str, request: Request, p: PlatformDep, caller: CallerDep) -> Response:
    query = jsonapi.parse_query(request)
    jsonapi.check_fields(query.fields, render.EXPORT_ATTRIBUTES)
    a = artifacts.get(p, caller, resource_id, kind="export")
    return _doc({"data": render.export(p, a, query.fields)})


@router.post("/exports/export", status_code=202)
def export(body: ExportCreate, p: PlatformDep, caller: CallerDep) -> Response:
    art, job = datasets.create_export(p, caller, datasets.ExportRequest(
        workspace_id=body.project_id, source_id=body.source_id,
        destination_id=body.destination_id, stream=body.stream, columns=body.columns,
        filter=body.filter, format=body.format, filename=body.filename,
        password=body.password, priority=body.priority, scheduled_at=body.scheduled_at,
        unicity=body.unicity))
    row = datasets.get_job(p, caller, job.id)
    return _doc({"data": render.export(p, art, None),
                 "included": [render.job(row, None)]}, status=202)


@router.get("/exports/{resource_id}/download")
def download(resource_id: str, request: Request, p: PlatformDep,
             expires: int | None = None, signature: str | None = None) -> Response:
    """With API credentials, or with the ``expires`` + ``signature`` of a signed link; a
    password-protected export also needs its password (``X-Export-Password`` header)."""
    if signature is not None or expires is not None:
        a = artifacts.by_signature(p, resource_id, expires, signature, kind="export")
    else:
        caller = get_caller(request, p)
        a = artifacts.get(p, caller, resource_id, kind="export")
    artifacts.check_password(p, a, request.headers.get("x-export-password"))
    return downloads.send(p, a, request)

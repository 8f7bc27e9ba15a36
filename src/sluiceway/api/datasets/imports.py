"""``/imports``: upload a CSV, JSON lines or Parquet file (the request body, streamed) and
load it into a destination table as a job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from sluiceway.api import jsonapi
from sluiceway.api.datasets import render
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.core.errors import TooLarge
from sluiceway.services import artifacts, datasets

router = APIRouter(tags=["imports"])


def _import(a: artifacts.ArtifactView) -> dict[str, Any]:
    meta = a.meta
    return jsonapi.resource("imports", a.id, {
        "id": a.id, "job_id": a.job_id, "project_id": a.workspace_id,
        "destination_id": meta.get("destination_id"), "table": meta.get("table"),
        "mode": meta.get("mode"), "format": a.format, "filename": a.filename, "size": a.size,
        "sha256": a.sha256, "rows": meta.get("rows"),
        "rejected_rows": meta.get("rejected_rows"), "row_errors": meta.get("row_errors"),
        "created_at": render.iso(a.created_at)}, None, links={"self": f"/imports/{a.id}"})


def _too_large(cap: int) -> TooLarge:
    return TooLarge("the uploaded file", cap, "SLUICEWAY_MAX_UPLOAD_BYTES")


async def _capped(chunks: AsyncIterator[bytes], cap: int) -> AsyncIterator[bytes]:
    """The body's pieces; TooLarge as soon as they add up to more than ``cap`` bytes."""
    size = 0
    async for chunk in chunks:
        if chunk:
            size += len(chunk)
            if size > cap:
                raise _too_large(cap)
            yield chunk


@router.post("/imports", status_code=202)
async def create(request: Request, p: PlatformDep, caller: CallerDep, project_id: str,
                 destination_id: str, table: str, mode: str = "append",
                 format: str | None = None, filename: str | None = None,  # noqa: A002
                 bad_rows: str = "skip", max_bad_rows: int = 1000) -> Response:
    """The file is the request body; ``format`` defaults to the ``filename`` extension. A CSV
    row that does not parse is skipped and reported in ``row_errors`` (``bad_rows=fail``
    stops at the first one instead; more than ``max_bad_rows`` fails the import)."""
    req = datasets.ImportRequest(project_id, destination_id, table, mode, format, filename,
                                 bad_rows, max_bad_rows)
    cap = p.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(cap)
    upload = await run_in_threadpool(datasets.Upload, p, caller, req)
    try:
        async for chunk in _capped(request.stream(), cap):
            await run_in_threadpool(upload.write, chunk)
    except BaseException:
        await run_in_threadpool(upload.abort)
        raise
    art, job = await run_in_threadpool(upload.finish)
    row = await run_in_threadpool(datasets.get_job, p, caller, job.id)
    return JSONResponse({"data": _import(art), "included": [render.job(row, None)]},
                        status_code=202, media_type="application/vnd.api+json")


@router.get("/imports/{resource_id}")
def show(resource_id: str, p: PlatformDep, caller: CallerDep) -> Response:
    return JSONResponse({"data": _import(datasets.get_import(p, caller, resource_id))},
                        media_type="application/vnd.api+json")

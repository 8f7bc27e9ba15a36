"""``/jobs``: the job queue as the dataset family shows it (the same jobs as every face)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sluiceway.api import errors, jsonapi
from sluiceway.api.datasets import render, vocabulary
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.core.errors import NotFound
from sluiceway.services import datasets, listing

router = APIRouter(tags=["jobs"])


def _job_id(resource_id: str) -> int:
    """A job id of the path; one that is not a 64-bit integer names no job."""
    try:
        return listing.as_int(resource_id)
    except ValueError:
        raise NotFound(f"job {resource_id} not found", resource_id) from None


@router.get("/jobs")
def index(request: Request, p: PlatformDep, caller: CallerDep) -> Response:
    query = jsonapi.parse_query(request)
    jsonapi.check_fields(query.fields, render.JOB_ATTRIBUTES)
    rows, total = datasets.list_jobs(p, caller, vocabulary.job_query(query))
    items = errors.rendered(rows, lambda r: render.job(r, query.fields), "job")
    return JSONResponse(jsonapi.collection(request, items, query, total),
                        media_type="application/vnd.api+json")


@router.get("/jobs/{resource_id}")
def show(resource_id: str, request: Request, p: PlatformDep, caller: CallerDep) -> Response:
    query = jsonapi.parse_query(request)
    jsonapi.check_fields(query.fields, render.JOB_ATTRIBUTES)
    row = datasets.get_job(p, caller, _job_id(resource_id))
    return JSONResponse({"data": render.job(row, query.fields)},
                        media_type="application/vnd.api+json")


@router.delete("/jobs/{resource_id}", status_code=204)
def delete(resource_id: str, p: PlatformDep, caller: CallerDep) -> Response:
    datasets.delete_job(p, caller, _job_id(resource_id))
    return Response(status_code=204)

"""``/v1/jobs/*`` (``cancel`` as later versions have it)."""

from __future__ import annotations

from fastapi import APIRouter

from sluiceway.api.airbyte import convert
from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import jobs

router = APIRouter(tags=["jobs"])


@router.post("/jobs/list", response_model=m.JobReadList, response_model_exclude_none=True)
def list_jobs_for(body: m.JobListRequestBody, p: PlatformDep,
                  caller: CallerDep) -> m.JobReadList:
    """v1's ``configType`` or later versions' ``configTypes`` (both: every type named), and
    later versions' ``pagination``; without it the newest 500."""
    types = [t.value for t in body.configTypes or []]
    if body.configType is not None and body.configType.value not in types:
        types.append(body.configType.value)
    if not types:
        raise InvalidInput("invalid job list request", [
            FieldError("configTypes", "name the job types: configTypes (or configType)")])
    page = body.pagination or m.Pagination(pageSize=500)
    views, total = jobs.page(p, caller, types, body.configId, limit=page.pageSize,
                             offset=page.rowOffset)
    return m.JobReadList(jobs=[convert.job_with_attempts(v) for v in views],
                         totalJobCount=total)


@router.post("/jobs/get", response_model=m.JobInfoRead, response_model_exclude_none=True)
def get_job_info(body: m.JobIdRequestBody, p: PlatformDep, caller: CallerDep) -> m.JobInfoRead:
    return convert.job_info(jobs.get(p, caller, body.id))


@router.post("/jobs/cancel", response_model=m.JobInfoRead, response_model_exclude_none=True)
def cancel_job(body: m.JobIdRequestBody, p: PlatformDep, caller: CallerDep) -> m.JobInfoRead:
    return convert.job_info(jobs.cancel(p, caller, body.id))

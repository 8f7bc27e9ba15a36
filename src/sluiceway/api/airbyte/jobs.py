"""``/v1/jobs/*`` (``cancel`` as later versions have it)."""

from __future__ import annotations

from fastapi import APIRouter

from sluiceway.api.airbyte import convert
from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import jobs

router = APIRouter(tags=["jobs"])


@router.post("/jobs/list", response_model=m.JobReadList, response_model_exclude_none=True)
def list_jobs_for(body: m.JobListRequestBody, p: PlatformDep,
                  caller: CallerDep) -> m.JobReadList:
    views = jobs.list_for(p, caller, [body.configType.value], body.configId)
    return m.JobReadList(jobs=[convert.job_with_attempts(v) for v in views])


@router.post("/jobs/get", response_model=m.JobInfoRead, response_model_exclude_none=True)
def get_job_info(body: m.JobIdRequestBody, p: PlatformDep, caller: CallerDep) -> m.JobInfoRead:
    return convert.job_info(jobs.get(p, caller, body.id))


@router.post("/jobs/cancel", response_model=m.JobInfoRead, response_model_exclude_none=True)
def cancel_job(body: m.JobIdRequestBody, p: PlatformDep, caller: CallerDep) -> m.JobInfoRead:
    return convert.job_info(jobs.cancel(p, caller, body.id))

"""``/v1/connections/*``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from sluiceway.api.airbyte import convert
from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import connections, jobs
from sluiceway.services.connections import Schedule

router = APIRouter(tags=["connection"])


def _schedule(s: m.ConnectionSchedule | None) -> Schedule | None:
    return Schedule(s.units, s.timeUnit.value) if s is not None else None


@router.post("/connections/create", response_model=m.ConnectionRead,
             response_model_exclude_none=True)
def create_connection(body: m.ConnectionCreate, p: PlatformDep,
                      caller: CallerDep) -> m.ConnectionRead:
    streams = convert.streams_in(body.syncSchema, body.syncMode) if body.syncSchema else None
    return convert.connection(connections.create(
        p, caller, source_id=str(body.sourceId), destination_id=str(body.destinationId),
        name=body.name, sync_mode=body.syncMode.value, streams=streams,
        schedule=_schedule(body.schedule), status=body.status.value))


@router.post("/connections/update", response_model=m.ConnectionRead,
             response_model_exclude_none=True)
def update_connection(body: m.ConnectionUpdate, p: PlatformDep,
                      caller: CallerDep) -> m.ConnectionRead:
    current = connections.get(p, caller, str(body.connectionId))
    streams = convert.streams_in(body.syncSchema, m.SyncMode(current.sync_mode))
    return convert.connection(connections.update(
        p, caller, str(body.connectionId), streams=streams, schedule=_schedule(body.schedule),
        status=body.status.value))


@router.post("/connections/list", response_model=m.ConnectionReadList,
             response_model_exclude_none=True)
def list_connections(body: m.WorkspaceIdRequestBody, p: PlatformDep,
                     caller: CallerDep) -> m.ConnectionReadList:
    return m.ConnectionReadList(connections=[
        convert.connection(c) for c in connections.list_for(p, caller, str(body.workspaceId))])


@router.post("/connections/get", response_model=m.ConnectionRead,
             response_model_exclude_none=True)
def get_connection(body: m.ConnectionIdRequestBody, p: PlatformDep,
                   caller: CallerDep) -> m.ConnectionRead:
    return convert.connection(connections.get(p, caller, str(body.connectionId)))


@router.post("/connections/delete", status_code=204, response_class=Response)
def delete_connection(body: m.ConnectionIdRequestBody, p: PlatformDep,
                      caller: CallerDep) -> Response:
    connections.delete(p, caller, str(body.connectionId))
    return Response(status_code=204)


@router.post("/connections/sync", response_model=m.JobInfoRead,
             response_model_exclude_none=True)
def sync_connection(body: m.ConnectionIdRequestBody, p: PlatformDep,
                    caller: CallerDep) -> m.JobInfoRead:
    return convert.job_info(jobs.view(p, connections.sync(p, caller, str(body.connectionId))))


@router.post("/connections/reset", response_model=m.JobInfoRead,
             response_model_exclude_none=True)
def reset_connection(body: m.ConnectionIdRequestBody, p: PlatformDep,
                     caller: CallerDep) -> m.JobInfoRead:
    return convert.job_info(jobs.view(p, connections.reset(p, caller, str(body.connectionId))))

"""``/v1/connections/*``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from sluiceway.api.airbyte import convert, rendered
from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import connections, jobs
from sluiceway.services.connections import AnySchedule, CronSchedule, Schedule

router = APIRouter(tags=["connection"])


def _basic(s: m.ConnectionSchedule | None) -> Schedule | None:
    return Schedule(s.units, s.timeUnit.value) if s is not None else None


def _schedule(body: m.ConnectionCreate | m.ConnectionUpdate) -> AnySchedule:
    """v1's ``schedule``, or later versions' ``scheduleType`` with ``scheduleData``."""
    kind, data = body.scheduleType, body.scheduleData
    if kind is None:
        if data is not None and data.cron is not None:
            kind = m.ScheduleType.cron
        else:
            return _basic(body.schedule or (data.basicSchedule if data else None))
    if kind is m.ScheduleType.manual:
        return None
    if kind is m.ScheduleType.cron:
        if data is None or data.cron is None:
            raise InvalidInput("invalid schedule", [FieldError(
                "scheduleData.cron", "is required when scheduleType is cron")])
        return CronSchedule(data.cron.cronExpression, data.cron.cronTimeZone)
    basic = (data.basicSchedule if data is not None else None) or body.schedule
    if basic is None:
        raise InvalidInput("invalid schedule", [FieldError(
            "scheduleData.basicSchedule", "is required when scheduleType is basic")])
    return _basic(basic)


@router.post("/connections/create", response_model=m.ConnectionRead,
             response_model_exclude_none=True)
def create_connection(body: m.ConnectionCreate, p: PlatformDep,
                      caller: CallerDep) -> m.ConnectionRead:
    """v1's ``syncMode`` + ``syncSchema``, or later versions' ``syncCatalog``."""
    if body.syncMode is None and body.syncCatalog is None:
        raise InvalidInput("invalid connection", [FieldError(
            "syncMode", "is required (unless the streams come as syncCatalog)")])
    convert.check_placement(body.prefix, body.namespaceDefinition)
    chosen = convert.selection(body.syncSchema, body.syncCatalog, body.syncMode)
    mode = body.syncMode.value if body.syncMode else chosen.mode() or "full_refresh"
    return convert.connection(connections.create(
        p, caller, source_id=str(body.sourceId), destination_id=str(body.destinationId),
        name=body.name, sync_mode=mode, streams=chosen.streams,
        schedule=_schedule(body), status=body.status.value, where=chosen.where,
        paths=chosen.paths))


@router.post("/connections/update", response_model=m.ConnectionRead,
             response_model_exclude_none=True)
def update_connection(body: m.ConnectionUpdate, p: PlatformDep,
                      caller: CallerDep) -> m.ConnectionRead:
    """``syncSchema`` (v1) or ``syncCatalog``; neither keeps the streams."""
    current = connections.get(p, caller, str(body.connectionId))
    convert.check_placement(body.prefix, body.namespaceDefinition)
    chosen = convert.selection(body.syncSchema, body.syncCatalog, m.SyncMode(current.sync_mode))
    return convert.connection(connections.update(
        p, caller, str(body.connectionId), streams=chosen.streams,
        schedule=_schedule(body), status=body.status.value, where=chosen.where,
        paths=chosen.paths))


@router.post("/connections/list", response_model=m.ConnectionReadList,
             response_model_exclude_none=True)
def list_connections(body: m.WorkspaceIdRequestBody, p: PlatformDep,
                     caller: CallerDep) -> Response:
    return convert.json_bytes(rendered.connection_list(p, caller, connections.list_for(
        p, caller, str(body.workspaceId))))


@router.post("/connections/list_paginated", response_model=m.ConnectionReadList,
             response_model_exclude_none=True)
def list_connections_paginated(body: m.ListConnectionsRequestBody, p: PlatformDep,
                               caller: CallerDep) -> Response:
    """Later versions: a page of the connections of ``workspaceIds`` (or ``workspaceId``)."""
    page = convert.page_of(body)
    return convert.json_bytes(rendered.connection_list(p, caller, connections.page_for(
        p, caller, page.workspace_ids, limit=page.size, offset=page.offset,
        include_deleted=body.includeDeleted)))


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

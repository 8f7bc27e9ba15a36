"""``/v1/web_backend/*``: connections with source and destination embedded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sluiceway.api.airbyte import convert
from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import actors, connections
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform

router = APIRouter(tags=["web_backend"])


def _wb(p: Platform, caller: Caller, conns: list[Any]
        ) -> list[m.WbConnectionRead]:
    status = connections.last_sync_and_running(p, [c.id for c in conns])
    out = []
    for c in conns:
        last, running = status[c.id]
        base = convert.connection(c)
        out.append(m.WbConnectionRead(
            **base.model_dump(),
            source=convert.source(actors.get(p, caller, "source", c.source_id)),
            destination=convert.destination(actors.get(p, caller, "destination",
                                                       c.destination_id)),
            lastSync=int(last) if last is not None else None, isSyncing=running))
    return out


@router.post("/web_backend/connections/list", response_model=m.WbConnectionReadList,
             response_model_exclude_none=True)
def web_backend_list_connections_for_workspace(
    body: m.WorkspaceIdRequestBody, p: PlatformDep, caller: CallerDep,
) -> m.WbConnectionReadList:
    return m.WbConnectionReadList(connections=_wb(
        p, caller, connections.list_for(p, caller, str(body.workspaceId))))


@router.post("/web_backend/connections/get", response_model=m.WbConnectionRead,
             response_model_exclude_none=True)
def web_backend_get_connection(body: m.ConnectionIdRequestBody, p: PlatformDep,
                               caller: CallerDep) -> m.WbConnectionRead:
    return _wb(p, caller, [connections.get(p, caller, str(body.connectionId))])[0]


@router.post("/web_backend/sources/create", response_model=m.SourceRead)
def web_backend_create_source(body: m.SourceCreate, p: PlatformDep,
                              caller: CallerDep) -> m.SourceRead:
    return convert.source(actors.create(p, caller, "source", str(body.workspaceId),
                                        str(body.sourceDefinitionId),
                                        body.connectionConfiguration, body.name))


@router.post("/web_backend/sources/recreate", response_model=m.SourceRead)
def web_backend_recreate_source(body: m.SourceRecreate, p: PlatformDep,
                                caller: CallerDep) -> m.SourceRead:
    return convert.source(actors.recreate(
        p, caller, "source", str(body.sourceId), str(body.workspaceId),
        str(body.sourceDefinitionId), body.connectionConfiguration, body.name))


@router.post("/web_backend/destinations/create", response_model=m.DestinationRead)
def web_backend_create_destination(body: m.DestinationCreate, p: PlatformDep,
                                   caller: CallerDep) -> m.DestinationRead:
    return convert.destination(actors.create(p, caller, "destination", str(body.workspaceId),
                                             str(body.destinationDefinitionId),
                                             body.connectionConfiguration, body.name))


@router.post("/web_backend/destinations/recreate", response_model=m.DestinationRead)
def web_backend_recreate_destination(body: m.DestinationRecreate, p: PlatformDep,
                                     caller: CallerDep) -> m.DestinationRead:
    return convert.destination(actors.recreate(
        p, caller, "destination", str(body.destinationId), str(body.workspaceId),
        str(body.destinationDefinitionId), body.connectionConfiguration, body.name))

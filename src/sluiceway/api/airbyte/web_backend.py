"""``/v1/web_backend/*``: connections with source and destination embedded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from sluiceway.api.airbyte import convert, rendered
from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import actors, connections
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform

router = APIRouter(tags=["web_backend"])


def _wb(p: Platform, caller: Caller, conns: list[connections.ConnectionView]
        ) -> list[dict[str, Any]]:
    """Connections with their source, destination and sync state, in a few queries."""
    status = connections.last_sync_and_running(p, [c.id for c in conns])
    views = actors.get_many(p, caller, {c.source_id for c in conns}
                            | {c.destination_id for c in conns})
    out = []
    for c in conns:
        last, running = status[c.id]
        wb = convert.connection_json(c)
        wb["source"] = convert.source_json(views[c.source_id])
        wb["destination"] = convert.destination_json(views[c.destination_id])
        if last is not None:
            wb["lastSync"] = int(last)
        wb["isSyncing"] = running
        out.append(wb)
    return out


@router.post("/web_backend/connections/list", response_model=m.WbConnectionReadList,
             response_model_exclude_none=True)
def web_backend_list_connections_for_workspace(
    body: m.WorkspaceIdRequestBody, p: PlatformDep, caller: CallerDep,
) -> Response:
    return convert.json_bytes(rendered.web_backend_listing(p, caller, connections.listing(
        p, caller, str(body.workspaceId))))


@router.post("/web_backend/connections/list_paginated", response_model=m.WbConnectionReadList,
             response_model_exclude_none=True)
def web_backend_list_connections_paginated(
    body: m.ListConnectionsRequestBody, p: PlatformDep, caller: CallerDep,
) -> Response:
    """Later versions: a page of ``workspaceIds`` (or ``workspaceId``)'s connections."""
    page = convert.page_of(body)
    return convert.json_bytes(rendered.web_backend_list(p, caller, connections.page_for(
        p, caller, page.workspace_ids, limit=page.size, offset=page.offset,
        include_deleted=body.includeDeleted)))


@router.post("/web_backend/connections/get", response_model=m.WbConnectionRead,
             response_model_exclude_none=True)
def web_backend_get_connection(body: m.ConnectionIdRequestBody, p: PlatformDep,
                               caller: CallerDep) -> m.WbConnectionRead:
    return m.WbConnectionRead.model_validate(
        _wb(p, caller, [connections.get(p, caller, str(body.connectionId))])[0])


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

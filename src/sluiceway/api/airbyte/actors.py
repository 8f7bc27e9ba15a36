"""``/v1/sources/*`` and ``/v1/destinations/*``."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter, Response

from sluiceway.api import errors
from sluiceway.api.airbyte import convert
from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import actors, catalogs

router = APIRouter()
S: list[str | Enum] = ["source"]
D: list[str | Enum] = ["destination"]


def _check(result: actors.Check) -> m.CheckConnectionRead:
    return m.CheckConnectionRead(status="succeeded" if result.ok else "failed",
                                 message=result.message or None)


@router.post("/sources/create", response_model=m.SourceRead, tags=S)
def create_source(body: m.SourceCreate, p: PlatformDep, caller: CallerDep) -> m.SourceRead:
    return convert.source(actors.create(p, caller, "source", str(body.workspaceId),
                                        str(body.sourceDefinitionId),
                                        body.connectionConfiguration, body.name))


@router.post("/sources/update", response_model=m.SourceRead, tags=S)
def update_source(body: m.SourceUpdate, p: PlatformDep, caller: CallerDep) -> m.SourceRead:
    return convert.source(actors.update_config(p, caller, "source", str(body.sourceId),
                                               body.connectionConfiguration, body.name))


@router.post("/sources/list", response_model=m.SourceReadList, tags=S)
def list_sources(body: m.WorkspaceIdRequestBody, p: PlatformDep,
                 caller: CallerDep) -> m.SourceReadList:
    return m.SourceReadList(sources=errors.rendered(actors.list_for(
        p, caller, "source", str(body.workspaceId)), convert.source, "source"))


@router.post("/sources/get", response_model=m.SourceRead, tags=S)
def get_source(body: m.SourceIdRequestBody, p: PlatformDep, caller: CallerDep) -> m.SourceRead:
    return convert.source(actors.get(p, caller, "source", str(body.sourceId)))


@router.post("/sources/delete", status_code=204, response_class=Response, tags=S)
def delete_source(body: m.SourceIdRequestBody, p: PlatformDep, caller: CallerDep) -> Response:
    actors.delete(p, caller, "source", str(body.sourceId))
    return Response(status_code=204)


@router.post("/sources/check_connection", response_model=m.CheckConnectionRead, tags=S)
def check_connection_to_source(body: m.SourceIdRequestBody, p: PlatformDep,
                               caller: CallerDep) -> m.CheckConnectionRead:
    return _check(actors.check(p, caller, "source", str(body.sourceId)))


@router.post("/sources/discover_schema", response_model=m.SourceDiscoverSchemaRead, tags=S)
def discover_schema_for_source(body: m.SourceIdRequestBody, p: PlatformDep,
                               caller: CallerDep) -> m.SourceDiscoverSchemaRead:
    """v1's ``schema``, and later versions' ``catalog`` with its ``catalogId``."""
    catalog = catalogs.from_discovered(actors.discover(p, caller, str(body.sourceId)))
    return m.SourceDiscoverSchemaRead(
        schema=convert.source_schema(catalog), catalog=convert.sync_catalog(catalog),
        catalogId=catalogs.catalog_id(str(body.sourceId), catalog))


@router.post("/destinations/create", response_model=m.DestinationRead, tags=D)
def create_destination(body: m.DestinationCreate, p: PlatformDep,
                       caller: CallerDep) -> m.DestinationRead:
    return convert.destination(actors.create(p, caller, "destination", str(body.workspaceId),
                                             str(body.destinationDefinitionId),
                                             body.connectionConfiguration, body.name))


@router.post("/destinations/update", response_model=m.DestinationRead, tags=D)
def update_destination(body: m.DestinationUpdate, p: PlatformDep,
                       caller: CallerDep) -> m.DestinationRead:
    return convert.destination(actors.update_config(
        p, caller, "destination", str(body.destinationId), body.connectionConfiguration,
        body.name))


@router.post("/destinations/list", response_model=m.DestinationReadList, tags=D)
def list_destinations(body: m.WorkspaceIdRequestBody, p: PlatformDep,
                      caller: CallerDep) -> m.DestinationReadList:
    return m.DestinationReadList(destinations=errors.rendered(actors.list_for(
        p, caller, "destination", str(body.workspaceId)), convert.destination, "destination"))


@router.post("/destinations/get", response_model=m.DestinationRead, tags=D)
def get_destination(body: m.DestinationIdRequestBody, p: PlatformDep,
                    caller: CallerDep) -> m.DestinationRead:
    return convert.destination(actors.get(p, caller, "destination", str(body.destinationId)))


@router.post("/destinations/check_connection", response_model=m.CheckConnectionRead, tags=D)
def check_connection_to_destination(body: m.DestinationIdRequestBody, p: PlatformDep,
                                    caller: CallerDep) -> m.CheckConnectionRead:
    return _check(actors.check(p, caller, "destination", str(body.destinationId)))


@router.post("/destinations/delete", status_code=204, response_class=Response, tags=D)
def delete_destination(body: m.DestinationIdRequestBody, p: PlatformDep,
                       caller: CallerDep) -> Response:
    actors.delete(p, caller, "destination", str(body.destinationId))
    return Response(status_code=204)

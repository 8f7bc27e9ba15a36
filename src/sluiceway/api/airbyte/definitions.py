"""``/v1/source_definitions/*``, ``/v1/destination_definitions/*`` and their specifications."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter

from sluiceway.api.airbyte import convert
from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import definitions

router = APIRouter()
S: list[str | Enum] = ["source_definition"]
D: list[str | Enum] = ["destination_definition"]


@router.post("/source_definitions/create", response_model=m.SourceDefinitionRead, tags=S)
def create_source_definition(body: m.DefinitionCreate, p: PlatformDep,
                             caller: CallerDep) -> m.SourceDefinitionRead:
    return convert.source_definition(definitions.create(
        p, caller, "source", body.name, body.dockerRepository, body.dockerImageTag,
        body.documentationUrl))


@router.post("/source_definitions/update", response_model=m.SourceDefinitionRead, tags=S)
def update_source_definition(body: m.SourceDefinitionUpdate, p: PlatformDep,
                             caller: CallerDep) -> m.SourceDefinitionRead:
    return convert.source_definition(definitions.update(
        p, caller, "source", str(body.sourceDefinitionId), body.dockerImageTag))


@router.post("/source_definitions/list", response_model=m.SourceDefinitionReadList, tags=S)
def list_source_definitions(p: PlatformDep, caller: CallerDep) -> m.SourceDefinitionReadList:
    return m.SourceDefinitionReadList(sourceDefinitions=[
        convert.source_definition(d) for d in definitions.list_all(p, caller, "source")])


@router.post("/source_definitions/get", response_model=m.SourceDefinitionRead, tags=S)
def get_source_definition(body: m.SourceDefinitionIdRequestBody, p: PlatformDep,
                          caller: CallerDep) -> m.SourceDefinitionRead:
    return convert.source_definition(definitions.get(p, caller, "source",
                                                     str(body.sourceDefinitionId)))


@router.post("/source_definition_specifications/get",
             response_model=m.SourceDefinitionSpecificationRead,
             tags=["source_definition_specification"])
def get_source_definition_specification(body: m.SourceDefinitionIdRequestBody, p: PlatformDep,
                                        caller: CallerDep) -> m.SourceDefinitionSpecificationRead:
    d, spec = definitions.spec(p, caller, "source", str(body.sourceDefinitionId))
    return m.SourceDefinitionSpecificationRead(
        sourceDefinitionId=d.id, documentationUrl=spec.documentation_url or d.documentation_url,
        connectionSpecification=spec.connection_specification)


@router.post("/destination_definitions/create", response_model=m.DestinationDefinitionRead,
             tags=D)
def create_destination_definition(body: m.DefinitionCreate, p: PlatformDep,
                                  caller: CallerDep) -> m.DestinationDefinitionRead:
    return convert.destination_definition(definitions.create(
        p, caller, "destination", body.name, body.dockerRepository, body.dockerImageTag,
        body.documentationUrl))


@router.post("/destination_definitions/update", response_model=m.DestinationDefinitionRead,
             tags=D)
def update_destination_definition(body: m.DestinationDefinitionUpdate, p: PlatformDep,
                                  caller: CallerDep) -> m.DestinationDefinitionRead:
    current = definitions.get(p, caller, "destination", str(body.destinationDefinitionId))
    tag = body.dockerImageTag if body.dockerImageTag is not None else current.version
    return convert.destination_definition(definitions.update(
        p, caller, "destination", str(body.destinationDefinitionId), tag))


@router.post("/destination_definitions/list", response_model=m.DestinationDefinitionReadList,
             tags=D)
def list_destination_definitions(p: PlatformDep,
                                 caller: CallerDep) -> m.DestinationDefinitionReadList:
    return m.DestinationDefinitionReadList(destinationDefinitions=[
        convert.destination_definition(d) for d in definitions.list_all(p, caller, "destination")])


@router.post("/destination_definitions/get", response_model=m.DestinationDefinitionRead,
             tags=D)
def get_destination_definition(body: m.DestinationDefinitionIdRequestBody, p: PlatformDep,
                               caller: CallerDep) -> m.DestinationDefinitionRead:
    return convert.destination_definition(definitions.get(
        p, caller, "destination", str(body.destinationDefinitionId)))


@router.post("/destination_definition_specifications/get",
             response_model=m.DestinationDefinitionSpecificationRead,
             tags=["destination_definition_specification"])
def get_destination_definition_specification(
    body: m.DestinationDefinitionIdRequestBody, p: PlatformDep, caller: CallerDep,
) -> m.DestinationDefinitionSpecificationRead:
    d, spec = definitions.spec(p, caller, "destination", str(body.destinationDefinitionId))
    return m.DestinationDefinitionSpecificationRead(
        destinationDefinitionId=d.id,
        documentationUrl=spec.documentation_url or d.documentation_url,
        connectionSpecification=spec.connection_specification)

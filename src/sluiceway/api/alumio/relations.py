"""Relations (#49-53): configurations of a type owned by another configuration (a
transformer's tests), under ``/di/relations/{type}/{owner}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.alumio.render import listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import configuration_relations as relations
from sluiceway.services import configurations as service
from sluiceway.services import criteria, spaces

router = APIRouter()
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=255)]


class Relation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifier: Identifier | None = None
    name: Annotated[str, Field(min_length=1, max_length=255)]
    description: Annotated[str, Field(max_length=64000)] = ""
    object: dict[str, Any]
    removable: bool = False
    resettable: bool = False
    disabled: bool = False
    #: kept by the server (the last editor), ignored when sent
    editor: str | None = None


def relation_json(v: service.ConfigurationView) -> dict[str, Any]:
    return {"type": v.type, "identifier": v.identifier, "name": v.name,
            "description": v.description, "object": v.object, "removable": v.removable,
            "resettable": v.resettable, "disabled": v.disabled, "editor": v.editor,
            "owner": v.owner}


def _input(type_: str, body: Relation, identifier: str | None) -> service.ConfigurationInput:
    return service.ConfigurationInput(type_, identifier, body.name, body.object,
                                      body.description, None, None, body.removable,
                                      body.resettable, body.disabled)


def _ws(p: PlatformDep, caller: CallerDep, space: str | None) -> str:
    return spaces.current(p, caller, space).id


@router.get("/di/relations/{type}/{owner}")
def list_relations(type: str, owner: str, p: PlatformDep, caller: CallerDep,  # noqa: A002
                   filter: FilterParam = None, space: SpaceParam = None,  # noqa: A002
                   ) -> dict[str, Any]:
    c = criteria.parse(filter, service.COLUMNS)
    views, total = relations.list_relations(p, caller, _ws(p, caller, space), type, owner, c)
    return listing([relation_json(v) for v in views], total)


@router.post("/di/relations/{type}/{owner}")
def create_relation(type: str, owner: str, body: Relation, p: PlatformDep,  # noqa: A002
                    caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    view = relations.create_relation(p, caller, _ws(p, caller, space), owner,
                                   _input(type, body, body.identifier))
    return {"object": relation_json(view)}


@router.get("/di/relations/{type}/{owner}/{identifier}")
def get_relation(type: str, owner: str, identifier: str, p: PlatformDep,  # noqa: A002
                 caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    view = relations.get_relation(p, caller, _ws(p, caller, space), type, owner, identifier)
    return {"object": relation_json(view)}


@router.put("/di/relations/{type}/{owner}/{identifier}")
def update_relation(type: str, owner: str, identifier: str, body: Relation,  # noqa: A002
                    p: PlatformDep, caller: CallerDep,
                    space: SpaceParam = None) -> dict[str, Any]:
    view = relations.update_relation(p, caller, _ws(p, caller, space), owner,
                                   _input(type, body, identifier))
    return {"object": relation_json(view)}


@router.delete("/di/relations/{type}/{owner}/{identifier}")
def delete_relation(type: str, owner: str, identifier: str, p: PlatformDep,  # noqa: A002
                    caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    relations.delete_relation(p, caller, _ws(p, caller, space), type, owner, identifier)
    return {"message": f"{type} {identifier} of {owner} deleted"}

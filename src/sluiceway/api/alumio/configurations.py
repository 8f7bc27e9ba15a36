"""Configurations (#42, #48, #56-64) and their history (#43-44) under ``/di``: PUT and PATCH
carry ``type`` and ``identifier`` in the body; everything else names them in the path."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.alumio.render import body_filter, iso, listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import configuration_history as history_service
from sluiceway.services import configurations as service
from sluiceway.services import criteria, spaces

router = APIRouter()
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=255)]
TypeName = Annotated[str, Field(min_length=1, max_length=255)]
Label = Annotated[str, Field(min_length=1, max_length=255)]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Annotated[str | None, Field(max_length=64000)] = None
    context: dict[str, Any] | None = None
    owner: Identifier | None = None
    removable: bool | None = None
    resettable: bool | None = None
    disabled: bool | None = None
    #: the labels (as a configuration is shown); ``tag``, ``createdAt``, ``updatedAt`` and
    #: ``editor`` are kept by the server and ignored when sent back
    label: Annotated[list[Label], Field(max_length=100)] | None = None
    tag: list[str] | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    editor: str | None = None


class ConfigurationCreate(_Fields):
    type: TypeName
    identifier: Identifier | None = None
    name: Annotated[str, Field(min_length=1, max_length=255)]
    object: dict[str, Any]


class ConfigurationReplace(_Fields):
    type: TypeName
    identifier: Identifier
    name: Annotated[str, Field(min_length=1, max_length=255)]
    object: dict[str, Any]


class ConfigurationPatch(_Fields):
    type: TypeName
    identifier: Identifier
    name: Annotated[str | None, Field(min_length=1, max_length=255)] = None
    object: dict[str, Any] | None = None


class Favourite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: TypeName
    identifier: Identifier


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: Annotated[list[Label], Field(max_length=100)]


class Status(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disabled: bool


class Restore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ulid: Annotated[str, Field(pattern=r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")]


def configuration_json(v: service.ConfigurationView) -> dict[str, Any]:
    out = {"type": v.type, "identifier": v.identifier, "name": v.name,
           "description": v.description, "object": v.object, "context": v.context or {},
           "removable": v.removable, "resettable": v.resettable, "disabled": v.disabled,
           "createdAt": iso(v.created_at), "updatedAt": iso(v.updated_at),
           "editor": v.editor, "label": list(v.labels), "tag": list(v.tags)}
    if v.owner is not None:  # a string when present, as the contract has it
        out["owner"] = v.owner
    return out


def revision_json(v: history_service.RevisionView) -> dict[str, Any]:
    return {"type": v.type, "identifier": v.identifier, "ulid": v.ulid, "name": v.name,
            "editor": v.editor, "description": v.description, "object": v.object,
            "createdAt": iso(v.created_at), "disabled": v.disabled, "label": list(v.labels)}


def _input(body: ConfigurationCreate | ConfigurationReplace | ConfigurationPatch,
           ) -> service.ConfigurationInput:
    return service.ConfigurationInput(
        body.type, body.identifier, body.name, body.object, body.description, body.context,
        body.owner, body.removable, body.resettable, body.disabled, body.label)


def _ws(p: PlatformDep, caller: CallerDep, space: str | None) -> str:
    return spaces.current(p, caller, space).id


def _listed(p: PlatformDep, caller: CallerDep, filter: str | None,  # noqa: A002
            space: str | None) -> dict[str, Any]:
    c = criteria.parse(filter, service.COLUMNS)
    views, total = service.list_configurations(p, caller, _ws(p, caller, space), c)
    return listing([configuration_json(v) for v in views], total)


@router.get("/di/configurations/persisted")
def list_persisted(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
                   space: SpaceParam = None) -> dict[str, Any]:
    return _listed(p, caller, filter, space)


@router.get("/di/configurations")
def list_available(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
                   space: SpaceParam = None) -> dict[str, Any]:
    """Persisted and built-in configurations (Sluiceway has no built-in ones)."""
    return _listed(p, caller, filter, space)


@router.post("/di/configurations")
def create_configuration(body: ConfigurationCreate, p: PlatformDep, caller: CallerDep,
                         space: SpaceParam = None) -> dict[str, Any]:
    view = service.create(p, caller, _ws(p, caller, space), _input(body))
    return {"object": configuration_json(view)}


@router.put("/di/configurations")
def replace_configuration(body: ConfigurationReplace, p: PlatformDep, caller: CallerDep,
                          space: SpaceParam = None) -> dict[str, Any]:
    view = service.update(p, caller, _ws(p, caller, space), _input(body), full=True)
    return {"object": configuration_json(view)}


@router.patch("/di/configurations")
def patch_configuration(body: ConfigurationPatch, p: PlatformDep, caller: CallerDep,
                        space: SpaceParam = None) -> dict[str, Any]:
    view = service.update(p, caller, _ws(p, caller, space), _input(body), full=False)
    return {"object": configuration_json(view)}


@router.get("/di/configurations/{type}/{identifier}")
def get_configuration(type: str, identifier: str, p: PlatformDep,  # noqa: A002
                      caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    view = service.get(p, caller, _ws(p, caller, space), type, identifier)
    return {"object": configuration_json(view)}


@router.delete("/di/configurations/{type}/{identifier}")
def delete_configuration(type: str, identifier: str, p: PlatformDep,  # noqa: A002
                         caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    service.delete(p, caller, _ws(p, caller, space), type, identifier)
    return {"message": f"Configuration {type}/{identifier} deleted"}


@router.put("/di/configurations/{type}/{identifier}/status")
def set_status(type: str, identifier: str, body: Status, p: PlatformDep,  # noqa: A002
               caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    view = service.set_status(p, caller, _ws(p, caller, space), type, identifier,
                              body.disabled)
    return {"object": configuration_json(view)}


@router.put("/di/configurations/{type}/{identifier}/labels")
def set_labels(type: str, identifier: str, body: Labels, p: PlatformDep,  # noqa: A002
               caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    labels = service.set_labels(p, caller, _ws(p, caller, space), type, identifier,
                                body.labels)
    return listing([{"name": label} for label in labels], len(labels))


@router.post("/di/configurations/{type}/delete")
async def delete_matching(type: str, request: Request, p: PlatformDep,  # noqa: A002
                          caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(await body_filter(request), service.COLUMNS)
    return {"deleted": service.delete_matching(p, caller, _ws(p, caller, space), type, c)}


@router.post("/di/favourites")
def toggle_favourite(body: Favourite, p: PlatformDep, caller: CallerDep,
                     space: SpaceParam = None) -> dict[str, Any]:
    f = service.toggle_favourite(p, caller, _ws(p, caller, space), body.type, body.identifier)
    return {"id": f.id, "identifier": f.identifier, "type": f.type, "space": f.space,
            "user": f.user, "tag": list(f.tags), "createdAt": iso(f.created_at),
            "updatedAt": iso(f.updated_at), "favourite": f.favourite}


@router.get("/di/configurations/{type}/{identifier}/history")
def history(type: str, identifier: str, p: PlatformDep, caller: CallerDep,  # noqa: A002
            filter: FilterParam = None, space: SpaceParam = None,  # noqa: A002
            ) -> dict[str, Any]:
    c = criteria.parse(filter, history_service.HISTORY_COLUMNS)
    views, total = history_service.history(p, caller, _ws(p, caller, space), type, identifier, c)
    return listing([revision_json(v) for v in views], total)


@router.post("/di/configurations/{type}/{identifier}/restore")
def restore(type: str, identifier: str, body: Restore, p: PlatformDep,  # noqa: A002
            caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    view = history_service.restore(p, caller, _ws(p, caller, space), type, identifier, body.ulid)
    return {"object": revision_json(view)}

"""Spaces (#11-13, ``GET /spaces``, ``DELETE /spaces/{identifier}``) and space users
(#19-24)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.alumio.render import iso, listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import criteria, policy, space_sync, space_users, spaces, workers

router = APIRouter()
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=255)]
Role = Literal["ROLE_USER", "ROLE_EDITOR", "ROLE_ADMINISTRATOR"]
Purpose = Literal["prod", "uat", "test", "dev"]
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpaceUpsert(Strict):
    identifier: Identifier
    name: Annotated[str, Field(min_length=1, max_length=255)]
    purpose: Purpose
    description: Annotated[str, Field(max_length=64000)] = ""


class SpaceObject(SpaceUpsert):
    termsAgreed: bool = False


class UserRoles(Strict):
    email: Annotated[str, Field(min_length=3, max_length=320)]
    roles: Annotated[list[Role], Field(min_length=1)]


class DataEngine(Strict):
    spaceIdentifier: str | None = None
    workers: Annotated[int, Field(ge=0)]


class SpaceCreate(Strict):
    object: SpaceObject
    users: list[UserRoles]
    dataEngines: list[DataEngine]


class SpaceUsers(Strict):
    users: list[UserRoles]


def space_json(v: spaces.SpaceView) -> dict[str, Any]:
    return {"identifier": v.identifier, "name": v.name, "description": v.description,
            "purpose": v.purpose, "workers": None, "createdAt": iso(v.created_at),
            "updatedAt": iso(v.updated_at or v.created_at), "isLocked": 0,
            "termsAgreed": int(v.terms_agreed), "createUser": v.created_by,
            "expireDate": None, "cancelUser": None, "cancelDate": None, "status": "new"}


def member_json(v: space_users.MemberView) -> dict[str, Any]:
    return {"email": v.email, "space": v.space, "roles": v.roles}


def _input(o: SpaceUpsert) -> spaces.SpaceInput:
    return spaces.SpaceInput(o.identifier, o.name, o.purpose, o.description,
                             getattr(o, "termsAgreed", False))


@router.get("/spaces")
def list_spaces(p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    views = spaces.list_spaces(p, caller)
    return listing([space_json(v) for v in views], len(views))


@router.post("/spaces")
def create_space(body: SpaceCreate, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    users = [(u.email, policy.strongest(u.roles).value) for u in body.users]
    engines = [(d.spaceIdentifier or body.object.identifier, d.workers)
               for d in body.dataEngines]
    workers.check_counts(p, engines, "dataEngines")
    view = spaces.create(p, caller, _input(body.object), users)
    if engines:
        workers.allocate(p, caller, engines)
    return {"object": space_json(view)}


@router.put("/spaces")
def upsert_space(body: SpaceUpsert, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    view, _ = spaces.upsert(p, caller, _input(body))
    return {"object": space_json(view)}


@router.get("/spaces/{identifier}")
def get_space(identifier: str, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    return {"object": space_json(spaces.get(p, caller, identifier))}


@router.delete("/spaces/{identifier}")
def delete_space(identifier: str, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    spaces.delete_space(p, caller, identifier)
    return {"message": f"Space {identifier} deleted"}


@router.post("/spaces/{identifier}/retry_sync")
def retry_sync(identifier: str, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    return {"message": space_sync.retry_sync(p, caller, identifier)}


@router.post("/spaces/{space}/assign_users")
def assign_users(space: str, body: SpaceUsers, p: PlatformDep,
                 caller: CallerDep) -> dict[str, Any]:
    space_users.assign(p, caller, space, [(u.email, u.roles) for u in body.users])
    return {}


@router.get("/spaces/{space}/users")
def list_space_users(space: str, p: PlatformDep, caller: CallerDep,
                     filter: FilterParam = None) -> dict[str, Any]:  # noqa: A002
    c = criteria.parse(filter, space_users.COLUMNS)
    views, total = space_users.list_members(p, caller, space, c)
    return listing([member_json(v) for v in views], total)


@router.post("/spaces/{space}/users")
def add_space_user(space: str, body: UserRoles, p: PlatformDep,
                   caller: CallerDep) -> dict[str, Any]:
    return {"object": member_json(space_users.add_member(p, caller, space, body.email,
                                                         body.roles))}


@router.get("/spaces/{space}/users/{email}")
def get_space_user(space: str, email: str, p: PlatformDep,
                   caller: CallerDep) -> dict[str, Any]:
    return {"object": member_json(space_users.get_member(p, caller, space, email))}


@router.put("/spaces/{space}/users/{email}")
def update_space_user(space: str, email: str, body: UserRoles, p: PlatformDep,
                      caller: CallerDep) -> dict[str, Any]:
    return {"object": member_json(space_users.update_member(p, caller, space, email,
                                                            body.email, body.roles))}


@router.delete("/spaces/{space}/users/{email}")
def remove_space_user(space: str, email: str, p: PlatformDep,
                      caller: CallerDep) -> dict[str, Any]:
    space_users.remove_member(p, caller, space, email)
    return {"message": f"User {email} removed from space {space}"}

"""System administrators (#130-133 and ``DELETE /system_administrators/{email}``): for system
administrators only; the last one cannot be removed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from sluiceway.api.alumio.render import listing
from sluiceway.api.alumio.spaces import FilterParam, Strict
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import criteria, directory

router = APIRouter()


class SystemAdministrator(Strict):
    email: Annotated[str, Field(min_length=3, max_length=320)]
    roles: list[str]


def admin_json(v: directory.AdminView) -> dict[str, Any]:
    return {"email": v.email, "roles": v.roles}


@router.get("/system_administrators")
def list_admins(p: PlatformDep, caller: CallerDep,
                filter: FilterParam = None) -> dict[str, Any]:  # noqa: A002
    views, total = directory.list_admins(p, caller, criteria.parse(filter, directory.COLUMNS))
    return listing([admin_json(v) for v in views], total)


@router.post("/system_administrators")
def create_admin(body: SystemAdministrator, p: PlatformDep,
                 caller: CallerDep) -> dict[str, Any]:
    return {"object": admin_json(directory.add_admin(p, caller, body.email, body.roles))}


@router.get("/system_administrators/{email}")
def get_admin(email: str, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    return {"object": admin_json(directory.get_admin(p, caller, email))}


@router.put("/system_administrators/{email}")
def update_admin(email: str, body: SystemAdministrator, p: PlatformDep,
                 caller: CallerDep) -> dict[str, Any]:
    return {"object": admin_json(directory.update_admin(p, caller, email, body.email,
                                                        body.roles))}


@router.delete("/system_administrators/{email}")
def delete_admin(email: str, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    directory.remove_admin(p, caller, email)
    return {"message": f"{email} is no longer a system administrator"}

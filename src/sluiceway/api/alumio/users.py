"""The current user (#25)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import policy, spaces

router = APIRouter()
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]


@router.get("/users/current")
def current_user(p: PlatformDep, caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    current = spaces.current(p, caller, space)
    role = policy.role_in(caller, current.id)
    roles = policy.roles_of(role) if role is not None else []
    if caller.system_admin:
        roles.append(policy.SYSTEM_ADMINISTRATOR)
    return {"message": "Current user",
            "object": {"email": caller.username, "roles": roles, "preferences": {}}}

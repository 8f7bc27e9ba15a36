"""The current user (#25, #35, #36), the users of the current space (#26-29) and the caller's
preferences within it (#30)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from sluiceway.api.alumio.render import iso, listing
from sluiceway.api.alumio.spaces import FilterParam, Strict, UserRoles
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import criteria, profile, space_users, spaces

router = APIRouter()
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]


class PreferencesUpdate(Strict):
    updatedPreferences: dict[str, Any]


class PasswordUpdate(Strict):
    password: Annotated[str, Field(max_length=1024)]
    currentPassword: Annotated[str | None, Field(max_length=1024)] = None


def user_json(v: profile.UserView) -> dict[str, Any]:
    return {"email": v.email, "roles": v.roles, "preferences": v.preferences,
            "termsAcceptedAt": iso(v.terms_accepted_at)}


def member_json(v: space_users.MemberView) -> dict[str, Any]:
    return {"email": v.email, "roles": v.roles}


@router.get("/users/current")
def current_user(p: PlatformDep, caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    return {"message": "Current user", "object": user_json(profile.me(p, caller, space))}


@router.put("/users/preferences/update")
def update_preferences(body: PreferencesUpdate, p: PlatformDep, caller: CallerDep,
                       space: SpaceParam = None) -> dict[str, Any]:
    view = profile.update_preferences(p, caller, space, body.updatedPreferences)
    return {"message": "Preferences updated", "object": user_json(view)}


@router.post("/users/current/accept_terms")
def accept_terms(p: PlatformDep, caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    view = profile.accept_terms(p, caller, space)
    return {"message": "Terms and conditions accepted",
            "object": {"email": view.email, "roles": view.roles,
                       "termsAcceptedAt": iso(view.terms_accepted_at)}}


@router.put("/current_space/preferences")
def update_space_preferences(body: PreferencesUpdate, p: PlatformDep, caller: CallerDep,
                             space: SpaceParam = None) -> dict[str, Any]:
    view = profile.update_space_preferences(p, caller, space, body.updatedPreferences)
    return {"object": {"email": view.email, "roles": view.roles,
                       "preferences": view.preferences}}


@router.get("/current_space/users")
def list_users(p: PlatformDep, caller: CallerDep, space: SpaceParam = None,
               filter: FilterParam = None) -> dict[str, Any]:  # noqa: A002
    c = criteria.parse(filter, space_users.COLUMNS)
    current = spaces.current(p, caller, space)
    views, total = space_users.list_members(p, caller, current.identifier, c)
    return listing([member_json(v) for v in views], total)


@router.post("/current_space/users")
def create_user(body: UserRoles, p: PlatformDep, caller: CallerDep,
                space: SpaceParam = None) -> dict[str, Any]:
    current = spaces.current(p, caller, space)
    return {"object": member_json(space_users.add_member(p, caller, current.identifier,
                                                         body.email, body.roles))}


@router.get("/current_space/users/{email}")
def get_user(email: str, p: PlatformDep, caller: CallerDep,
             space: SpaceParam = None) -> dict[str, Any]:
    current = spaces.current(p, caller, space)
    return {"object": member_json(space_users.get_member(p, caller, current.identifier,
                                                         email))}


@router.put("/current_space/users/{email}")
def update_user(email: str, body: UserRoles, p: PlatformDep, caller: CallerDep,
                space: SpaceParam = None) -> dict[str, Any]:
    current = spaces.current(p, caller, space)
    return {"object": member_json(space_users.update_member(
        p, caller, current.identifier, email, body.email, body.roles))}


@router.put("/users/{email}/password", summary="Set a user's password (extension)")
async def set_password(email: str, body: PasswordUpdate, p: PlatformDep,
                       caller: CallerDep) -> dict[str, Any]:
    """One's own password (with ``currentPassword``), or another user's: for an
    administrator of every space that user is in, or a system administrator. The user's
    browser sessions end; the old password stops working at once."""
    if email == caller.username:
        await space_users.set_own_password(p, caller, body.password, body.currentPassword)
    else:
        await asyncio.to_thread(space_users.set_password, p, caller, email, body.password)
    return {"message": f"password of {email} set", "object": {"email": email}}

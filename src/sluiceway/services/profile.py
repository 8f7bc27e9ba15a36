"""The calling user's own settings: their preferences (installation-wide and per space) and
their acceptance of the terms and conditions. Anyone signed in may change their own, and
each change leaves one audit entry.

Preferences are free-form JSON objects; an update merges its keys into what is stored (a key
set to ``null`` is removed), as the platform API's ``updatedPreferences`` asks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from sluiceway.core.errors import Conflict, FieldError, InvalidInput
from sluiceway.services import audit, policy, spaces
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Membership, User

#: what a stored preferences object may weigh, as compact JSON
MAX_PREFERENCES = 64 * 1024


@dataclass(frozen=True)
class UserView:
    email: str
    #: the roles in the current space (the strongest), plus the system role
    roles: list[str]
    preferences: dict[str, Any] = field(default_factory=dict)
    terms_accepted_at: float | None = None


def roles(caller: Caller, workspace_id: str) -> list[str]:
    """The role array shown for the caller in a space."""
    role = policy.role_in(caller, workspace_id)
    out = policy.roles_of(role) if role is not None else []
    if caller.system_admin:
        out.append(policy.SYSTEM_ADMINISTRATOR)
    return out


def merged(stored: Mapping[str, Any] | None, update: Mapping[str, Any],
           field_name: str = "updatedPreferences") -> dict[str, Any]:
    """``stored`` with ``update``'s keys set (``None`` removes a key), checked for size."""
    out = dict(stored or {})
    for key, value in update.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    size = len(json.dumps(out, separators=(",", ":")).encode())
    if size > MAX_PREFERENCES:
        raise InvalidInput("invalid preferences", [FieldError(
            field_name, f"the merged preferences would take {size} bytes; at most "
                        f"{MAX_PREFERENCES} are kept")])
    return out


def _user(s: Session, caller: Caller) -> User:
    return s.get_one(User, caller.user_id)


def me(p: Platform, caller: Caller, space: str | None) -> UserView:
    """The caller, with their roles in the current space (``space``, or their first)."""
    current = spaces.current(p, caller, space)
    with p.db.session() as s:
        user = _user(s, caller)
        return UserView(user.username, roles(caller, current.id), dict(user.preferences or {}),
                        user.terms_accepted_at)


def update_preferences(p: Platform, caller: Caller, space: str | None,
                       update: Mapping[str, Any]) -> UserView:
    current = spaces.current(p, caller, space)
    with p.db.session() as s:
        user = _user(s, caller)
        user.preferences = merged(user.preferences, update)
        audit.record(s, caller, "user.preferences", "user",
                     f"preferences of {user.username!r} updated",
                     request={"updatedPreferences": dict(update)})
        return UserView(user.username, roles(caller, current.id), dict(user.preferences),
                        user.terms_accepted_at)


def accept_terms(p: Platform, caller: Caller, space: str | None) -> UserView:
    """Record that the caller accepted the terms and conditions now (the latest time is
    kept)."""
    current = spaces.current(p, caller, space)
    with p.db.session() as s:
        user = _user(s, caller)
        user.terms_accepted_at = now()
        audit.record(s, caller, "user.accept_terms", "user",
                     f"{user.username!r} accepted the terms and conditions")
        return UserView(user.username, roles(caller, current.id), dict(user.preferences or {}),
                        user.terms_accepted_at)


def update_space_preferences(p: Platform, caller: Caller, space: str | None,
                             update: Mapping[str, Any]) -> UserView:
    """Merge ``update`` into the caller's preferences within the current space (kept with
    their membership; a system administrator who is not a member has none to keep)."""
    current = spaces.current(p, caller, space)
    with p.db.session() as s:
        member = s.get(Membership, (caller.user_id, current.id))
        if member is None:
            raise Conflict(f"{caller.username!r} is not a member of space "
                           f"{current.identifier!r}: preferences within a space are kept "
                           "with a membership; add yourself to the space first")
        member.preferences = merged(member.preferences, update)
        audit.record(s, caller, "space_user.preferences", "user",
                     f"preferences of {caller.username!r} in space {current.identifier!r} "
                     "updated", request={"updatedPreferences": dict(update)},
                     workspace_id=current.id)
        return UserView(caller.username, roles(caller, current.id), dict(member.preferences))

"""Who may do what in which space: the one rule every service call consults.

Roles, weakest first, per space (a space is a workspace):

    ROLE_USER            (viewer)         reads
    ROLE_EDITOR          (editor)         also creates, changes, runs, exports and restores
    ROLE_ADMINISTRATOR   (administrator)  also manages the space's users, tokens and variables

and one for the installation: ``ROLE_SYSTEM_ADMINISTRATOR`` manages spaces and system
administrators, and acts as an administrator in every space.

:func:`require` answers by raising: :class:`~sluiceway.core.errors.NotFound` for a space the
caller is not in (the same answer as a space that does not exist, so nothing leaks), and
:class:`~sluiceway.core.errors.Forbidden` for a space the caller is in with too weak a role.
Faces only map these to their own error bodies; none decides access itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum, StrEnum

from sluiceway.core.errors import FieldError, Forbidden, InvalidInput, NotFound
from sluiceway.services.caller import Caller


class Role(StrEnum):
    VIEWER = "ROLE_USER"
    EDITOR = "ROLE_EDITOR"
    ADMINISTRATOR = "ROLE_ADMINISTRATOR"


SYSTEM_ADMINISTRATOR = "ROLE_SYSTEM_ADMINISTRATOR"
_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMINISTRATOR: 2}
_LABEL = {Role.VIEWER: "a viewer", Role.EDITOR: "an editor",
          Role.ADMINISTRATOR: "an administrator"}


class Action(Enum):
    """What a call does, by the weakest role that may do it."""

    READ = Role.VIEWER
    CHANGE = Role.EDITOR  # create, change, delete, run, export, restore
    MANAGE = Role.ADMINISTRATOR  # the space's users, tokens and variables
    SYSTEM = SYSTEM_ADMINISTRATOR  # spaces and system administrators


READ, CHANGE, MANAGE, SYSTEM = Action.READ, Action.CHANGE, Action.MANAGE, Action.SYSTEM


def role_in(caller: Caller, workspace_id: str) -> Role | None:
    """The caller's role in a space; ``None`` when the caller is not in it. A system
    administrator is an administrator everywhere."""
    if caller.system_admin:
        return Role.ADMINISTRATOR
    given = caller.roles.get(workspace_id)
    if given is None:
        return Role.VIEWER if workspace_id in caller.workspace_ids else None
    return Role(given) if given in Role._value2member_map_ else Role.VIEWER


def allows(caller: Caller, action: Action, workspace_id: str | None = None) -> bool:
    try:
        require(caller, action, workspace_id)
    except (Forbidden, NotFound):
        return False
    return True


def require(caller: Caller, action: Action, workspace_id: str | None = None) -> None:
    """Pass, or raise ``NotFound`` (a space the caller is not in) or ``Forbidden``."""
    if action is SYSTEM:
        if not caller.system_admin:
            raise Forbidden("only a system administrator (ROLE_SYSTEM_ADMINISTRATOR) may do "
                            "this")
        return
    if workspace_id is None:
        raise TypeError("a space action needs the workspace it acts in")
    role = role_in(caller, workspace_id)
    if role is None:
        raise NotFound(f"workspace {workspace_id} not found", workspace_id)
    needed = Role(action.value)
    if _RANK[role] < _RANK[needed]:
        raise Forbidden(f"{_LABEL[role]} ({role.value}) of this space may not do this: it "
                        f"needs {needed.value} or more")


def strongest(roles: Iterable[str], field: str = "roles") -> Role:
    """One role from a role array as the Alumio face sends it (non-empty, unique, known):
    the strongest of them (a role includes every weaker one)."""
    given = list(roles)
    errors = []
    if not given:
        errors.append(FieldError(field, "must name at least one role"))
    if len(set(given)) != len(given):
        errors.append(FieldError(field, "must not repeat a role"))
    unknown = [r for r in given if r not in Role._value2member_map_]
    if unknown:
        errors.append(FieldError(field, f"unknown role {unknown[0]!r}; one of "
                                        f"{[r.value for r in Role]}", unknown[0]))
    if errors:
        raise InvalidInput("invalid roles", errors)
    return max((Role(r) for r in given), key=_RANK.__getitem__)


def roles_of(role: Role) -> list[str]:
    """The role array a face shows for a membership."""
    return [role.value]

"""Spaces: the workspaces as the platform API names them (the same rows), addressed by their
identifier (the workspace's slug). Making, changing and deleting spaces is for system
administrators; a space's members read it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.services import audit, policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import (
    Actor,
    Artifact,
    Configuration,
    Connection,
    ConnectorDefinition,
    EnvironmentVariable,
    Job,
    Membership,
    StorageEntity,
    Task,
    User,
    Workspace,
)

IDENTIFIER = re.compile(r"^[a-z0-9-]+$")
PURPOSES = ("prod", "uat", "test", "dev")


@dataclass(frozen=True)
class SpaceView:
    id: str
    identifier: str
    name: str
    description: str
    purpose: str
    terms_agreed: bool
    created_by: str | None
    created_at: float
    updated_at: float | None


@dataclass(frozen=True)
class SpaceInput:
    identifier: str
    name: str
    purpose: str
    description: str = ""
    terms_agreed: bool = False


def _view(ws: Workspace) -> SpaceView:
    return SpaceView(ws.id, ws.slug, ws.name, ws.description or "", ws.purpose,
                     bool(ws.terms_agreed), ws.created_by, ws.created_at, ws.updated_at)


def check_identifier(value: str, field: str = "identifier") -> str:
    if not value or len(value) > 255 or not IDENTIFIER.match(value):
        raise InvalidInput("invalid identifier", [FieldError(
            field, "must be 1 to 255 characters of a-z, 0-9 and -", value)])
    return value


def _checked(given: SpaceInput) -> SpaceInput:
    errors = []
    if not given.identifier or len(given.identifier) > 255 or not IDENTIFIER.match(
            given.identifier):
        errors.append(FieldError("identifier", "must be 1 to 255 characters of a-z, 0-9 and -",
                                 given.identifier))
    if not given.name.strip() or len(given.name) > 255:
        errors.append(FieldError("name", "must be 1 to 255 characters", given.name))
    if len(given.description) > 64000:
        errors.append(FieldError("description", "must be at most 64000 characters"))
    if given.purpose not in PURPOSES:
        errors.append(FieldError("purpose", f"must be one of {', '.join(PURPOSES)}",
                                 given.purpose))
    if errors:
        raise InvalidInput("invalid space", errors)
    return given


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_email(value: str, field: str = "email") -> str:
    if not EMAIL.match(value or "") or len(value) > 320:
        raise InvalidInput("invalid user", [FieldError(field, "must be an email address",
                                                       value)])
    return value


def put_member(s: Session, ws_id: str, email: str, role: policy.Role) -> bool:
    """Give ``email`` ``role`` in the space (the user is made, without a password, when
    new); whether the user was not a member before."""
    user = s.scalars(select(User).where(User.username == email)).first()
    if user is None:
        check_email(email)
        user = User(username=email, password_hash="")
        s.add(user)
        s.flush()
    member = s.get(Membership, (user.id, ws_id))
    if member is None:
        s.add(Membership(user_id=user.id, workspace_id=ws_id, role=role.value))
        return True
    member.role = role.value
    return False


def find(s: Session, caller: Caller, identifier: str,
         action: policy.Action = policy.READ) -> Workspace:
    """The space ``identifier`` if the policy lets the caller ``action`` in it; a space the
    caller is not in is not found (as one that does not exist)."""
    ws = s.scalars(select(Workspace).where(Workspace.slug == identifier)).first()
    if ws is None:
        raise NotFound(f"space {identifier!r} not found", identifier)
    try:
        policy.require(caller, action, ws.id)
    except NotFound:
        raise NotFound(f"space {identifier!r} not found", identifier) from None
    return ws


def current(p: Platform, caller: Caller, identifier: str | None,
            action: policy.Action = policy.READ) -> SpaceView:
    """The current space: ``identifier`` when given, else the caller's first space (or
    ``default``)."""
    with p.db.session() as s:
        if identifier is None:
            first = s.scalars(select(Workspace.slug)
                              .where(Workspace.id.in_(sorted(caller.workspace_ids)))
                              .order_by(Workspace.created_at, Workspace.id).limit(1)).first()
            identifier = first or "default"
        return _view(find(s, caller, identifier, action))


def list_spaces(p: Platform, caller: Caller) -> list[SpaceView]:
    """The caller's spaces; every space for a system administrator."""
    with p.db.session() as s:
        q = select(Workspace).order_by(Workspace.created_at, Workspace.id)
        if not caller.system_admin:
            q = q.where(Workspace.id.in_(sorted(caller.workspace_ids)))
        return [_view(ws) for ws in s.scalars(q)]


def get(p: Platform, caller: Caller, identifier: str) -> SpaceView:
    with p.db.session() as s:
        return _view(find(s, caller, identifier))


def create(p: Platform, caller: Caller, given: SpaceInput,
           users: Sequence[tuple[str, str]] = ()) -> SpaceView:
    """A new space with its first users (email, role); 409 if the identifier is taken."""
    policy.require(caller, policy.SYSTEM)
    given = _checked(given)
    with p.db.claim() as s:
        if s.scalars(select(Workspace.id).where(Workspace.slug == given.identifier)).first():
            raise Conflict(f"space {given.identifier!r} exists already")
        ws = Workspace(slug=given.identifier, name=given.name, description=given.description,
                       purpose=given.purpose, terms_agreed=given.terms_agreed,
                       created_by=caller.username)
        s.add(ws)
        s.flush()
        for email, role in users:
            put_member(s, ws.id, email, policy.Role(role))
        audit.record(s, caller, "space.create", "space", f"space {ws.slug!r} created",
                     request={"identifier": ws.slug, "name": ws.name, "purpose": ws.purpose,
                              "users": [{"email": e, "roles": [r]} for e, r in users]},
                     workspace_id=ws.id)
        return _view(ws)


def upsert(p: Platform, caller: Caller, given: SpaceInput) -> tuple[SpaceView, bool]:
    """Create the space, or change its name, description and purpose; and whether it is new."""
    policy.require(caller, policy.SYSTEM)
    given = _checked(given)
    with p.db.session() as s:
        ws = s.scalars(select(Workspace).where(Workspace.slug == given.identifier)).first()
    if ws is None:
        return create(p, caller, given), True
    with p.db.claim() as s:
        ws = s.get_one(Workspace, ws.id)
        ws.name, ws.description, ws.purpose = given.name, given.description, given.purpose
        audit.record(s, caller, "space.update", "space", f"space {ws.slug!r} updated",
                     request={"identifier": ws.slug, "name": ws.name, "purpose": ws.purpose,
                              "description": ws.description}, workspace_id=ws.id)
        s.flush()
        return _view(ws), False


def holdings(s: Session, ws_id: str) -> dict[str, int]:
    """What a space still holds that deleting it would lose, by kind (only the non-zero)."""
    counts = {
        "sources": s.scalar(select(func.count()).where(
            Actor.workspace_id == ws_id, Actor.kind == "source", Actor.tombstone.is_(False))),
        "destinations": s.scalar(select(func.count()).where(
            Actor.workspace_id == ws_id, Actor.kind == "destination",
            Actor.tombstone.is_(False))),
        "connections": s.scalar(select(func.count()).where(
            Connection.workspace_id == ws_id, Connection.status != "deprecated")),
        "files": s.scalar(select(func.count()).where(Artifact.workspace_id == ws_id)),
        "definitions": s.scalar(select(func.count()).where(
            ConnectorDefinition.workspace_id == ws_id)),
        "variables": s.scalar(select(func.count()).where(
            EnvironmentVariable.workspace_id == ws_id)),
        "configurations": s.scalar(select(func.count()).where(
            Configuration.workspace_id == ws_id)),
    }
    return {k: int(v or 0) for k, v in counts.items() if v}


def delete_space(p: Platform, caller: Caller, identifier: str) -> None:
    """Delete an empty space with its memberships and history (jobs, deleted objects); a
    space that still holds objects answers 409 naming them."""
    policy.require(caller, policy.SYSTEM)
    with p.db.claim() as s:
        ws = find(s, caller, identifier, policy.SYSTEM)
        if ws.slug == "default":
            raise Conflict("the default space cannot be deleted")
        held = holdings(s, ws.id)
        if held:
            raise Conflict(f"space {identifier!r} still holds "
                           + ", ".join(f"{n} {k}" for k, n in held.items())
                           + "; delete them first")
        audit.record(s, caller, "space.delete", "space", f"space {ws.slug!r} deleted",
                     request={"identifier": ws.slug}, workspace_id=ws.id)
        connections = select(Connection.id).where(Connection.workspace_id == ws.id)
        s.execute(delete(Job).where(Job.workspace_id == ws.id))
        s.execute(delete(Connection).where(Connection.id.in_(connections)))
        s.execute(delete(Actor).where(Actor.workspace_id == ws.id))
        s.execute(delete(Membership).where(Membership.workspace_id == ws.id))
        # no foreign key holds these to the space (a route records them in bulk): the
        # space's row is locked first, so that a route's chunk committed until now is
        # deleted below and a later one, waiting for the row, finds the space gone
        s.execute(select(Workspace.id).where(Workspace.id == ws.id).with_for_update())
        s.execute(delete(Task).where(Task.workspace_id == ws.id))
        s.execute(delete(StorageEntity).where(StorageEntity.workspace_id == ws.id))
        s.delete(ws)

"""Workspaces: read, find by slug, update flags, create (the creator becomes a member)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.services import audit, policy, scope
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Membership, Workspace

FLAGS = ("initial_setup_complete", "onboarding_complete", "anonymous_data_collection",
         "news", "security_updates")


@dataclass(frozen=True)
class WorkspaceView:
    id: str
    customer_id: str
    name: str
    slug: str
    email: str | None
    initial_setup_complete: bool
    onboarding_complete: bool
    anonymous_data_collection: bool
    news: bool
    security_updates: bool


def _view(ws: Workspace) -> WorkspaceView:
    return WorkspaceView(
        id=ws.id, customer_id=ws.customer_id, name=ws.name, slug=ws.slug, email=ws.email,
        initial_setup_complete=bool(ws.initial_setup_complete),
        onboarding_complete=bool(ws.onboarding_complete),
        anonymous_data_collection=bool(ws.anonymous_data_collection), news=bool(ws.news),
        security_updates=bool(ws.security_updates))


def get(p: Platform, caller: Caller, workspace_id: str) -> WorkspaceView:
    """A workspace of the caller's (any, for a system administrator, who lists them all)."""
    with p.db.session() as s:
        ws = s.get(Workspace, workspace_id) if caller.system_admin else None
        return _view(ws if ws is not None else scope.workspace(s, caller, workspace_id))


def get_by_slug(p: Platform, caller: Caller, slug: str) -> WorkspaceView:
    with p.db.session() as s:
        ws = s.scalars(select(Workspace).where(Workspace.slug == slug)).first()
        if ws is None or not (caller.can_see(ws.id) or caller.system_admin):
            raise NotFound(f"workspace with slug {slug!r} not found", slug)
        return _view(ws)


def list_for(p: Platform, caller: Caller) -> list[WorkspaceView]:
    """The caller's workspaces; every workspace for a system administrator."""
    with p.db.session() as s:
        q = select(Workspace).order_by(Workspace.created_at, Workspace.id)
        if not caller.system_admin:
            q = q.where(Workspace.id.in_(caller.workspace_ids))
        return [_view(ws) for ws in s.scalars(q)]


def update(p: Platform, caller: Caller, workspace_id: str, email: str | None,
           flags: dict[str, bool]) -> WorkspaceView:
    with p.db.claim() as s:
        ws = scope.workspace(s, caller, workspace_id)
        policy.require(caller, policy.MANAGE, ws.id)
        if email is not None:
            ws.email = email
        for name in FLAGS:
            if name in flags:
                setattr(ws, name, bool(flags[name]))
        audit.record(s, caller, "workspace.update", "space", f"workspace {ws.slug!r} updated",
                     request={"id": ws.id, "email": email, **flags}, workspace_id=ws.id)
        s.flush()
        return _view(ws)


def create(p: Platform, caller: Caller, name: str, email: str | None = None,
           **flags: Any) -> tuple[WorkspaceView, Caller]:
    """A new workspace with the caller as member; returns it and the widened caller."""
    policy.require(caller, policy.SYSTEM)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise InvalidInput("invalid workspace", [FieldError("name", "needs a letter or digit")])
    with p.db.claim() as s:
        if s.scalars(select(Workspace).where(Workspace.slug == slug)).first() is not None:
            raise Conflict(f"a workspace with slug {slug!r} already exists")
        ws = Workspace(name=name, slug=slug, email=email,
                       **{k: bool(v) for k, v in flags.items() if k in FLAGS})
        s.add(ws)
        s.flush()
        s.add(Membership(user_id=caller.user_id, workspace_id=ws.id,
                         role=policy.Role.ADMINISTRATOR.value))
        audit.record(s, caller, "workspace.create", "space", f"workspace {slug!r} created",
                     request={"id": ws.id, "name": name, "email": email},
                     workspace_id=ws.id)
        made = _view(ws)
    return made, replace(caller, workspace_ids=caller.workspace_ids | {ws.id},
                       roles={**caller.roles, ws.id: policy.Role.ADMINISTRATOR.value})

"""Load an object for a caller: anything outside the caller's workspaces does not exist."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from sluiceway.core.errors import NotFound
from sluiceway.services.auth import Caller
from sluiceway.store.models import Actor, Connection, ConnectorDefinition, Job, Workspace


def visible(caller: Caller, column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """The rows (by their workspace ``column``) of the spaces the caller sees: their own,
    or every space for a system administrator, who acts as an administrator in each."""
    if caller.system_admin:
        return true()
    return column.in_(sorted(caller.workspace_ids))


def workspace(s: Session, caller: Caller, workspace_id: str) -> Workspace:
    ws = s.get(Workspace, workspace_id)
    if ws is None or not caller.can_see(ws.id):
        raise NotFound(f"workspace {workspace_id} not found", workspace_id)
    return ws


def definition(s: Session, caller: Caller, kind: str, definition_id: str,
               workspace_id: str | None = None) -> ConnectorDefinition:
    """A definition every workspace sees, or one of a workspace of the caller's (of
    ``workspace_id`` when given: the workspace something is being made in)."""
    d = s.get(ConnectorDefinition, definition_id)
    if d is None or d.kind != kind or (d.workspace_id is not None and (
            not caller.can_see(d.workspace_id)
            or (workspace_id is not None and d.workspace_id != workspace_id))):
        raise NotFound(f"{kind} definition {definition_id} not found", definition_id)
    return d


def actor(s: Session, caller: Caller, kind: str, actor_id: str) -> Actor:
    a = s.get(Actor, actor_id)
    if a is None or a.kind != kind or a.tombstone or not caller.can_see(a.workspace_id):
        raise NotFound(f"{kind} {actor_id} not found", actor_id)
    return a


def connection(s: Session, caller: Caller, connection_id: str) -> Connection:
    c = s.get(Connection, connection_id)
    if c is None or not caller.can_see(c.workspace_id):
        raise NotFound(f"connection {connection_id} not found", connection_id)
    return c


def job(s: Session, caller: Caller, job_id: int) -> Job:
    j = s.get(Job, job_id)
    if j is None or not caller.can_see(j.workspace_id):
        raise NotFound(f"job {job_id} not found", str(job_id))
    return j

"""The history of configurations: every save is a revision keyed by a ULID (ascending within
a configuration); a restore saves an old state again as a new revision (re-creating a deleted
configuration) and never rewrites history. Revisions outlive their configuration."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from sluiceway.core.errors import NotFound
from sluiceway.services import criteria, policy
from sluiceway.services.caller import Caller
from sluiceway.services.configurations import (
    as_bool,
    audit_change,
    find,
    flush_new,
    save_revision,
    shown_object,
)
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Configuration, ConfigurationRevision


@dataclass(frozen=True)
class RevisionView:
    type: str
    identifier: str
    ulid: str
    name: str
    editor: str | None
    description: str
    object: dict[str, Any]
    created_at: float
    disabled: bool
    labels: tuple[str, ...]


HISTORY_COLUMNS: dict[str, criteria.Column] = {
    "ulid": criteria.Column(ConfigurationRevision.ulid, criteria.as_text),
    "name": criteria.Column(ConfigurationRevision.name, criteria.as_text),
    "editor": criteria.Column(ConfigurationRevision.editor, criteria.as_text),
    "disabled": criteria.Column(ConfigurationRevision.disabled, as_bool),
    "createdAt": criteria.Column(ConfigurationRevision.created_at, criteria.as_time),
}


def _revision_view(r: ConfigurationRevision) -> RevisionView:
    return RevisionView(r.type, r.identifier, r.ulid, r.name, r.editor, r.description or "",
                        shown_object(r), r.created_at, bool(r.disabled), tuple(r.labels or ()))


def history(p: Platform, caller: Caller, workspace_id: str, type_: str, identifier: str,
            c: criteria.Criteria) -> tuple[list[RevisionView], int]:
    """The saved states, newest first unless ordered otherwise (also of a deleted one)."""
    policy.require(caller, policy.READ, workspace_id)
    if not c.order:
        c = criteria.Criteria(c.where, (("ulid", True),), c.limit, c.skip)
    with p.db.session() as s:
        base = select(ConfigurationRevision).where(
            ConfigurationRevision.workspace_id == workspace_id,
            ConfigurationRevision.type == type_, ConfigurationRevision.identifier == identifier)
        rows, total = criteria.apply(s, base, HISTORY_COLUMNS, c, ConfigurationRevision.ulid)
        if total == 0:
            find(s, workspace_id, type_, identifier)
        return [_revision_view(r) for r in rows], total


def restore(p: Platform, caller: Caller, workspace_id: str, type_: str, identifier: str,
            ulid: str) -> RevisionView:
    """Save the state of revision ``ulid`` again, as a new revision (re-creating the
    configuration when it was deleted)."""
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.claim() as s:
        old = s.get(ConfigurationRevision, ulid)
        if old is None or (old.workspace_id, old.type, old.identifier) != (
                workspace_id, type_, identifier):
            raise NotFound(f"revision {ulid} of configuration {type_}/{identifier} not found",
                           ulid)
        c = s.scalars(select(Configuration).where(
            Configuration.workspace_id == workspace_id, Configuration.type == type_,
            Configuration.identifier == identifier)).first()
        fresh = c is None
        if c is None:
            c = Configuration(workspace_id=workspace_id, type=type_, identifier=identifier,
                              created_at=now(), removable=False, resettable=False)
        c.name, c.description = old.name, old.description
        c.object, c.prototype = copy.deepcopy(old.object), str(old.object.get("prototype"))
        c.disabled, c.labels = old.disabled, list(old.labels or [])
        save_revision(s, c, caller)
        if fresh:
            s.add(c)
        flush_new(s, f"configuration {type_}/{identifier}")
        audit_change(s, caller, c, "restore", f"restored from revision {ulid}", ulid=ulid)
        new = s.get(ConfigurationRevision, c.revision)
        assert new is not None
        return _revision_view(new)

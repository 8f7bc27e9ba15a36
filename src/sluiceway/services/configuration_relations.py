"""Relations: configurations owned by another (a transformer's ``transformer-test`` cases),
listed and changed under their owner's identifier."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluiceway.core.errors import NotFound
from sluiceway.services import criteria, policy, prototypes
from sluiceway.services.caller import Caller
from sluiceway.services.configurations import (
    COLUMNS,
    ConfigurationInput,
    ConfigurationView,
    base_query,
    create,
    delete,
    get,
    update,
    views_of,
)
from sluiceway.services.platform import Platform
from sluiceway.store.models import Configuration


def _owner_exists(s: Session, workspace_id: str, owner: str) -> None:
    if s.scalars(select(Configuration.id).where(
            Configuration.workspace_id == workspace_id,
            Configuration.identifier == owner)).first() is None:
        raise NotFound(f"owner {owner} not found", owner)


def list_relations(p: Platform, caller: Caller, workspace_id: str, type_: str, owner: str,
                   c: criteria.Criteria) -> tuple[list[ConfigurationView], int]:
    policy.require(caller, policy.READ, workspace_id)
    prototypes.get_type(type_)
    if not c.order:
        c = criteria.Criteria(c.where, (("identifier", False),), c.limit, c.skip)
    with p.db.session() as s:
        _owner_exists(s, workspace_id, owner)
        base = base_query(workspace_id, type_).where(Configuration.owner == owner)
        rows, total = criteria.apply(s, base, COLUMNS, c, Configuration.id)
        return views_of(s, caller, workspace_id, rows), total


def get_relation(p: Platform, caller: Caller, workspace_id: str, type_: str, owner: str,
                 identifier: str) -> ConfigurationView:
    view = get(p, caller, workspace_id, type_, identifier)
    if view.owner != owner:
        raise NotFound(f"{type_} {identifier} of {owner} not found", identifier)
    return view


def create_relation(p: Platform, caller: Caller, workspace_id: str, owner: str,
                    given: ConfigurationInput) -> ConfigurationView:
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.session() as s:
        _owner_exists(s, workspace_id, owner)
    return create(p, caller, workspace_id, replace(given, owner=owner))


def update_relation(p: Platform, caller: Caller, workspace_id: str, owner: str,
                    given: ConfigurationInput) -> ConfigurationView:
    get_relation(p, caller, workspace_id, given.type, owner, str(given.identifier))
    return update(p, caller, workspace_id, replace(given, owner=owner), full=True)


def delete_relation(p: Platform, caller: Caller, workspace_id: str, type_: str, owner: str,
                    identifier: str) -> None:
    get_relation(p, caller, workspace_id, type_, owner, identifier)
    delete(p, caller, workspace_id, type_, identifier)

"""Connector definitions: a built-in connector per definition, named by its repository.

A definition the admin makes (and every built-in one) is seen by every workspace; one made
by another user belongs to that user's workspace, and no other workspace sees it. Names
are unique among the definitions one workspace sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sluiceway.connectors import registry
from sluiceway.core.errors import FieldError, Forbidden, InvalidInput
from sluiceway.protocol.spec import ConnectorSpec
from sluiceway.services import audit, policy, scope
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import ConnectorDefinition

Kind = registry.Kind


@dataclass(frozen=True)
class DefinitionView:
    """A connector definition: ``connector`` is the built-in connector it runs (its
    repository name), ``version`` the image tag; ``workspace_id`` None when shared."""

    id: str
    kind: str
    name: str
    connector: str
    version: str
    documentation_url: str | None
    builtin: bool
    workspace_id: str | None


def _view(d: ConnectorDefinition) -> DefinitionView:
    return DefinitionView(id=d.id, kind=d.kind, name=d.name, connector=d.docker_repository,
                          version=d.docker_image_tag, documentation_url=d.documentation_url,
                          builtin=bool(d.builtin), workspace_id=d.workspace_id)


def list_all(p: Platform, caller: Caller, kind: Kind) -> list[DefinitionView]:
    """The definitions of ``kind`` the caller sees: shared ones and their workspaces' own."""
    with p.db.session() as s:
        return [_view(d) for d in s.scalars(select(ConnectorDefinition).where(
            ConnectorDefinition.kind == kind,
            or_(ConnectorDefinition.workspace_id.is_(None),
                scope.visible(caller, ConnectorDefinition.workspace_id)))
            .order_by(ConnectorDefinition.name, ConnectorDefinition.id))]


def get(p: Platform, caller: Caller, kind: Kind, definition_id: str) -> DefinitionView:
    with p.db.session() as s:
        return _view(scope.definition(s, caller, kind, definition_id))


def spec(p: Platform, caller: Caller, kind: Kind,
         definition_id: str) -> tuple[DefinitionView, ConnectorSpec]:
    d = get(p, caller, kind, definition_id)
    return d, registry.entry(d.connector, kind).load_spec()


def _connector_name(kind: Kind, repository: str) -> str:
    names = sorted({e.name for e in registry.entries(kind) if e.name != "memory"})
    if repository not in names:
        raise InvalidInput(f"invalid {kind} definition", [FieldError(
            "connector",
            f"{repository!r} is not a {kind} connector this server has; one of: "
            + ", ".join(names), repository)])
    return repository


def _owner(caller: Caller, kind: Kind) -> str | None:
    """The workspace a new definition of ``caller`` belongs to (``None``: shared)."""
    if caller.is_admin:
        return None
    if len(caller.workspace_ids) != 1:
        raise InvalidInput(f"invalid {kind} definition", [FieldError(
            "workspace_id", "a definition belongs to one workspace and this user is in "
            f"{len(caller.workspace_ids)}; ask the admin to make a shared one")])
    return next(iter(caller.workspace_ids))


def _clash(s: Session, kind: Kind, name: str, owner: str | None) -> bool:
    """Whether ``name`` is taken among what the new definition's viewers see: a shared
    name clashes with every definition, a workspace's with shared ones and its own."""
    q = select(ConnectorDefinition.id).where(ConnectorDefinition.kind == kind,
                                             ConnectorDefinition.name == name)
    if owner is not None:
        q = q.where(or_(ConnectorDefinition.workspace_id.is_(None),
                        ConnectorDefinition.workspace_id == owner))
    return s.scalars(q.limit(1)).first() is not None


def create(p: Platform, caller: Caller, kind: Kind, name: str, repository: str,
           image_tag: str, documentation_url: str | None) -> DefinitionView:
    _connector_name(kind, repository)
    if not name.strip():
        raise InvalidInput(f"invalid {kind} definition",
                           [FieldError("name", "must not be empty", name)])
    owner = _owner(caller, kind)
    if owner is not None:
        policy.require(caller, policy.CHANGE, owner)
    with p.db.claim() as s:
        if _clash(s, kind, name, owner):
            raise InvalidInput(f"invalid {kind} definition", [FieldError(
                "name", f"a {kind} definition named {name!r} exists already", name)])
        d = ConnectorDefinition(kind=kind, name=name, docker_repository=repository,
                                docker_image_tag=image_tag, documentation_url=documentation_url,
                                builtin=False, workspace_id=owner)
        s.add(d)
        s.flush()
        audit.record(s, caller, f"{kind}_definition.create", "definition",
                     f"{kind} definition {name!r} created",
                     request={"id": d.id, "name": name, "dockerRepository": repository,
                              "dockerImageTag": image_tag}, workspace_id=owner)
        return _view(d)


def update(p: Platform, caller: Caller, kind: Kind, definition_id: str,
           image_tag: str) -> DefinitionView:
    """Only the image tag may change (as the API allows); built-ins follow the server, and
    a shared definition is the admin's to change."""
    with p.db.claim() as s:
        d = scope.definition(s, caller, kind, definition_id)
        if d.workspace_id is not None:
            policy.require(caller, policy.CHANGE, d.workspace_id)
        if d.builtin and image_tag != d.docker_image_tag:
            raise InvalidInput(f"invalid {kind} definition", [FieldError(
                "image_tag", f"{d.name} is built in: its version is the server's "
                f"({d.docker_image_tag})", image_tag)])
        if d.workspace_id is None and not d.builtin and not caller.is_admin \
                and image_tag != d.docker_image_tag:
            raise Forbidden(f"{kind} definition {d.name!r} is shared by every workspace: "
                            "only the admin may change it", "image_tag")
        d.docker_image_tag = image_tag
        audit.record(s, caller, f"{kind}_definition.update", "definition",
                     f"{kind} definition {d.name!r} updated",
                     request={"id": d.id, "dockerImageTag": image_tag},
                     workspace_id=d.workspace_id)
        s.flush()
        return _view(d)

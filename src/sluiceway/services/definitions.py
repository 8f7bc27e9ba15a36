"""Connector definitions: a built-in connector per definition, named by its repository."""

from __future__ import annotations

from sqlalchemy import select

from sluiceway.connectors import registry
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.protocol.spec import ConnectorSpec
from sluiceway.services import scope
from sluiceway.services.platform import Platform
from sluiceway.store.models import ConnectorDefinition

Kind = registry.Kind


def list_all(p: Platform, kind: Kind) -> list[ConnectorDefinition]:
    with p.db.session() as s:
        return list(s.scalars(select(ConnectorDefinition).where(ConnectorDefinition.kind == kind)
                              .order_by(ConnectorDefinition.name)))


def get(p: Platform, kind: Kind, definition_id: str) -> ConnectorDefinition:
    with p.db.session() as s:
        return scope.definition(s, kind, definition_id)


def spec(p: Platform, kind: Kind, definition_id: str) -> tuple[ConnectorDefinition,
                                                                ConnectorSpec]:
    d = get(p, kind, definition_id)
    return d, registry.entry(d.docker_repository, kind).load_spec()


def _connector_name(kind: Kind, repository: str) -> str:
    names = sorted({e.name for e in registry.entries(kind) if e.name != "memory"})
    if repository not in names:
        raise InvalidInput(f"invalid {kind} definition", [FieldError(
            "dockerRepository",
            f"{repository!r} is not a {kind} connector this server has; one of: "
            + ", ".join(names), repository)])
    return repository


def create(p: Platform, kind: Kind, name: str, repository: str, image_tag: str,
           documentation_url: str | None) -> ConnectorDefinition:
    _connector_name(kind, repository)
    if not name.strip():
        raise InvalidInput(f"invalid {kind} definition",
                           [FieldError("name", "must not be empty", name)])
    with p.db.session() as s:
        clash = s.scalars(select(ConnectorDefinition).where(
            ConnectorDefinition.kind == kind, ConnectorDefinition.name == name)).first()
        if clash is not None:
            raise InvalidInput(f"invalid {kind} definition", [FieldError(
                "name", f"a {kind} definition named {name!r} exists already", name)])
        d = ConnectorDefinition(kind=kind, name=name, docker_repository=repository,
                                docker_image_tag=image_tag, documentation_url=documentation_url,
                                builtin=False)
        s.add(d)
        return d


def update(p: Platform, kind: Kind, definition_id: str, image_tag: str) -> ConnectorDefinition:
    """Only the image tag may change (as the API allows); built-ins follow the server."""
    with p.db.session() as s:
        d = scope.definition(s, kind, definition_id)
        if d.builtin and image_tag != d.docker_image_tag:
            raise InvalidInput(f"invalid {kind} definition", [FieldError(
                "dockerImageTag", f"{d.name} is built in: its version is the server's "
                f"({d.docker_image_tag})", image_tag)])
        d.docker_image_tag = image_tag
        return d

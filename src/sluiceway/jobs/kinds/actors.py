"""Read any actor's data: a source as it is, a destination through the source of the same
system (its tables read back), with configs unsealed and secrets registered for redaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluiceway.connectors import registry
from sluiceway.connectors.base import Source
from sluiceway.core.errors import Fatal, FieldError, InvalidInput
from sluiceway.jobs.context import AttemptContext
from sluiceway.protocol.spec import validate_config
from sluiceway.secrets import Cipher, secret_values, unseal
from sluiceway.store.models import Actor, ConnectorDefinition

#: destinations whose tables the same system's source reads back
READABLE_DESTINATIONS = ("postgres", "mysql", "sqlite", "duckdb")


@dataclass(frozen=True)
class Plain:
    connector: str
    kind: str
    config: dict[str, Any]
    workspace_id: str


def load_actor(ctx: AttemptContext, actor_id: str, what: str | None = None) -> Plain:
    """An actor with its config unsealed and validated; its secrets are registered with
    ``ctx`` for redaction. A deleted actor is :class:`Fatal`, named as ``what`` says."""
    with ctx.db.session() as s:
        actor = s.get(Actor, actor_id)
        if actor is None or actor.tombstone:
            raise Fatal(f"{what or actor_id} was deleted")
        d = s.get(ConnectorDefinition, actor.definition_id)
        if d is None:
            raise Fatal(f"the definition {actor.definition_id} does not exist")
        sealed, kind, ws = dict(actor.config or {}), actor.kind, actor.workspace_id
        name = d.docker_repository
    spec = registry.entry(name, kind).load_spec()  # type: ignore[arg-type]
    plain = unseal(sealed, Cipher.from_settings(ctx.settings))
    ctx.add_secrets(secret_values(spec, plain))
    return Plain(name, kind, validate_config(spec, plain), ws)


def reader(actor: Plain, where: str = "destination_id", roots: Sequence[Path] | None = None,
           ) -> tuple[Source, dict[str, Any]]:
    """A source that reads the actor's data, and its config."""
    if actor.kind == "source":
        return registry.source(actor.connector, roots), actor.config
    if actor.connector not in READABLE_DESTINATIONS:
        raise InvalidInput("cannot read this destination", [FieldError(
            where, f"a {actor.connector} destination cannot be read back; readable ones: "
            + ", ".join(READABLE_DESTINATIONS))])
    config = dict(actor.config)
    if actor.connector == "postgres":
        config["schemas"] = [config.pop("schema", "public")]
    spec = registry.entry(actor.connector, "source").load_spec()
    keep = set(spec.connection_specification.get("properties", {}))
    return registry.source(actor.connector, roots), validate_config(
        spec, {k: v for k, v in config.items() if k in keep})

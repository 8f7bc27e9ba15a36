"""Read any actor's data: a source as it is, a destination through the source of the same
system (its tables read back), with configs unsealed and secrets registered for redaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluiceway.connectors import registry
from sluiceway.connectors.base import Source
from sluiceway.core.errors import ConfigInvalid, Fatal, FieldError, InvalidInput
from sluiceway.jobs.context import AttemptContext
from sluiceway.protocol.spec import MASK, ConnectorSpec, validate_config
from sluiceway.secrets import Cipher, secret_values, unseal
from sluiceway.secrets import variables as refs
from sluiceway.store.models import Actor, ConnectorDefinition, EnvironmentVariable

#: destinations whose tables the same system's source reads back
READABLE_DESTINATIONS = ("postgres", "mysql", "sqlite", "duckdb")


@dataclass(frozen=True)
class Plain:
    connector: str
    kind: str
    config: dict[str, Any]
    workspace_id: str


def space_variables(s: Session, workspace_id: str, cipher: Cipher,
                    only: set[str] | None = None) -> dict[str, refs.Variable]:
    """The space's variables (encrypted ones decrypted), or those of them named in ``only``."""
    q = select(EnvironmentVariable).where(EnvironmentVariable.workspace_id == workspace_id)
    if only is not None:
        if not only:
            return {}
        q = q.where(EnvironmentVariable.name.in_(sorted(only)))
    out = {}
    for v in s.scalars(q):
        value = cipher.decrypt(v.value) if v.encrypted else v.value
        targets = tuple(v.allowed_targets) if v.allowed_targets is not None else None
        out[v.name] = refs.Variable(v.name, value, bool(v.encrypted), targets)
    return out


def with_variables(spec: ConnectorSpec, plain: dict[str, Any],
                   variables: dict[str, refs.Variable]) -> dict[str, Any]:
    """The config with its references resolved (not yet checked against the spec); a
    missing variable or a target an encrypted one may not go to is
    :class:`~sluiceway.core.errors.ConfigInvalid` naming the field and the variable."""
    resolved, missing = refs.resolve(plain, variables, spec.connection_specification)
    problems = missing + refs.guard(plain, resolved, variables)
    if problems:
        raise ConfigInvalid("the configuration's variables cannot be used", problems)
    out: dict[str, Any] = resolved
    return out


def validated(spec: ConnectorSpec, plain: dict[str, Any], resolved: dict[str, Any],
              variables: dict[str, refs.Variable], skip: Collection[str] = ()) -> dict[str, Any]:
    """``validate_config`` of a resolved config; a field filled from an encrypted variable
    is named without its value."""
    try:
        return validate_config(spec, resolved, skip)
    except ConfigInvalid as exc:
        hidden = {path: names for path, names in refs.references(plain).items()
                  if any(n in variables and variables[n].encrypted for n in names)}
        raise ConfigInvalid(exc.message, [
            FieldError(e.path, f"the value of the encrypted variable ${{{hidden[e.path][0]}}} "
                       "does not fit this field", MASK) if e.path in hidden else e
            for e in exc.errors]) from None


def load_actor(ctx: AttemptContext, actor_id: str, what: str | None = None) -> Plain:
    """An actor with its config unsealed and validated; its secrets are registered with
    ``ctx`` for redaction. A deleted actor is :class:`Fatal`, named as ``what`` says."""
    cipher = Cipher.from_settings(ctx.settings)
    with ctx.db.session() as s:
        actor = s.get(Actor, actor_id)
        if actor is None or actor.tombstone:
            raise Fatal(f"{what or actor_id} was deleted")
        d = s.get(ConnectorDefinition, actor.definition_id)
        if d is None:
            raise Fatal(f"the definition {actor.definition_id} does not exist")
        sealed, kind, ws = dict(actor.config or {}), actor.kind, actor.workspace_id
        name = d.docker_repository
        plain = unseal(sealed, cipher)
        variables = space_variables(s, ws, cipher, refs.names(plain))
    spec = registry.entry(name, kind).load_spec()  # type: ignore[arg-type]
    ctx.add_secrets(refs.secret_values(plain, variables))
    try:
        resolved = with_variables(spec, plain, variables)
    except ConfigInvalid as exc:
        raise Fatal(f"{what or 'the ' + kind + ' ' + actor_id}: "
                    + "; ".join(str(e) for e in exc.errors)) from None
    ctx.add_secrets(secret_values(spec, resolved))
    return Plain(name, kind, validated(spec, plain, resolved, variables), ws)


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

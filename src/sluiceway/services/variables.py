"""A space's environment variables: plain, or encrypted at rest; referenced as ``${NAME}`` in
any connector configuration and resolved only when the connector runs
(:mod:`sluiceway.secrets.variables`).

Who may do what: viewers read the names (never a value); editors also read plain values and
create, change and delete plain variables; administrators also manage encrypted ones. An
encrypted value is never returned to anyone, not even an administrator. Every change is
audited (with the value masked).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluiceway.connectors import registry
from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.secrets import unseal
from sluiceway.secrets import variables as refs
from sluiceway.services import audit, criteria, policy, prototypes
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import (
    Actor,
    Configuration,
    ConnectorDefinition,
    EnvironmentVariable,
)

#: names a configuration can refer to as ``${NAME}`` (the seed allows more; those warn)
REFERABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SECRET_KEY = re.compile(r"pass|secret|token|key|credential|private", re.IGNORECASE)


@dataclass(frozen=True)
class VariableView:
    name: str
    description: str
    #: the plain value; ``None`` for an encrypted variable and for viewers
    value: str | None
    encrypted: bool
    allowed_targets: list[str] | None
    created_at: float
    updated_at: float
    #: set when the name cannot be referenced as ``${NAME}`` in a configuration
    warning: str | None = None


@dataclass(frozen=True)
class VariableInput:
    name: str
    value: str | None = None
    description: str | None = None
    encrypted: bool | None = None
    allowed_targets: Sequence[str] | None = None


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("must be true or false")
    return value


COLUMNS: dict[str, criteria.Column] = {
    "name": criteria.Column(EnvironmentVariable.name, criteria.as_text),
    "description": criteria.Column(EnvironmentVariable.description, criteria.as_text),
    "encrypted": criteria.Column(EnvironmentVariable.encrypted, _as_bool),
    "createdAt": criteria.Column(EnvironmentVariable.created_at, criteria.as_time),
    "updatedAt": criteria.Column(EnvironmentVariable.updated_at, criteria.as_time),
}


def _warning(name: str) -> str | None:
    if REFERABLE.match(name):
        return None
    return (f"${{{name}}} is a valid name but configurations refer to variables by names of "
            "A-Z, 0-9 and _ starting with a letter")


def _view(v: EnvironmentVariable, caller: Caller) -> VariableView:
    reads_values = policy.allows(caller, policy.CHANGE, v.workspace_id)
    value = None if v.encrypted or not reads_values else v.value
    targets = list(v.allowed_targets) if v.allowed_targets is not None else None
    return VariableView(v.name, v.description or "", value, bool(v.encrypted), targets,
                        v.created_at, v.updated_at, _warning(v.name))


def _find(s: Session, workspace_id: str, name: str) -> EnvironmentVariable:
    v = s.scalars(select(EnvironmentVariable).where(
        EnvironmentVariable.workspace_id == workspace_id,
        EnvironmentVariable.name == name)).first()
    if v is None:
        raise NotFound(f"environment variable {name!r} not found", name)
    return v


def _check(given: VariableInput, creating: bool) -> None:
    errors = []
    if creating and (not refs.NAME.match(given.name or "") or len(given.name) > 255):
        errors.append(FieldError("name", "must be 1 to 255 characters of a-z, A-Z, 0-9, _ "
                                         "and -", given.name))
    if creating and given.value is None:
        errors.append(FieldError("value", "is required"))
    if given.value is not None and len(given.value) > 64000:
        errors.append(FieldError("value", "must be at most 64000 characters"))
    if given.description is not None and len(given.description) > 150:
        errors.append(FieldError("description", "must be at most 150 characters"))
    if given.allowed_targets is not None:
        bad = [t for t in given.allowed_targets
               if not isinstance(t, str) or not t.strip() or len(t) > 2000]
        if bad or len(given.allowed_targets) > 100:
            errors.append(FieldError("allowedTargets", "must be up to 100 hosts or URL "
                                     "prefixes (non-empty text)"))
    if errors:
        raise InvalidInput("invalid environment variable", errors)


def _needs(encrypted: bool) -> policy.Action:
    return policy.MANAGE if encrypted else policy.CHANGE


def _request(v: EnvironmentVariable) -> dict[str, Any]:
    return {"name": v.name, "description": v.description, "encrypted": v.encrypted,
            "value": audit.MASK if v.encrypted else v.value,
            "allowedTargets": v.allowed_targets}


def list_variables(p: Platform, caller: Caller, workspace_id: str,
                   c: criteria.Criteria) -> tuple[list[VariableView], int]:
    policy.require(caller, policy.READ, workspace_id)
    if not c.order:
        c = criteria.Criteria(c.where, (("name", False),), c.limit, c.skip)
    with p.db.session() as s:
        base = select(EnvironmentVariable).where(
            EnvironmentVariable.workspace_id == workspace_id)
        rows, total = criteria.apply(s, base, COLUMNS, c, EnvironmentVariable.id)
        return [_view(v, caller) for v in rows], total


def get(p: Platform, caller: Caller, workspace_id: str, name: str) -> VariableView:
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        return _view(_find(s, workspace_id, name), caller)


def create(p: Platform, caller: Caller, workspace_id: str,
           given: VariableInput) -> VariableView:
    encrypted = bool(given.encrypted)
    policy.require(caller, _needs(encrypted), workspace_id)
    _check(given, creating=True)
    if given.allowed_targets is not None and not encrypted:
        raise InvalidInput("invalid environment variable", [FieldError(
            "allowedTargets", "only an encrypted variable carries allowed targets")])
    value = given.value or ""
    with p.db.claim() as s:
        if s.scalars(select(EnvironmentVariable.id).where(
                EnvironmentVariable.workspace_id == workspace_id,
                EnvironmentVariable.name == given.name)).first():
            raise Conflict(f"environment variable {given.name!r} exists already")
        v = EnvironmentVariable(
            workspace_id=workspace_id, name=given.name, description=given.description or "",
            value=p.cipher.encrypt(value) if encrypted else value, encrypted=encrypted,
            allowed_targets=list(given.allowed_targets)
            if given.allowed_targets is not None else None)
        s.add(v)
        s.flush()
        audit.record(s, caller, "variable.create", "environment",
                     f"environment variable {v.name!r} created", request=_request(v),
                     workspace_id=workspace_id)
        return _view(v, caller)


def update(p: Platform, caller: Caller, workspace_id: str, name: str,
           given: VariableInput) -> VariableView:
    """Change the description, value, encryption or targets; a blank value keeps an
    encrypted one. An encrypted variable becomes plain only with a new value (its old one
    is never shown)."""
    _check(given, creating=False)
    policy.require(caller, policy.READ, workspace_id)
    with p.db.claim() as s:
        v = _find(s, workspace_id, name)
        encrypted = v.encrypted if given.encrypted is None else bool(given.encrypted)
        policy.require(caller, _needs(v.encrypted or encrypted), workspace_id)
        keep = given.value is None or (given.value == "" and v.encrypted)
        if v.encrypted and not encrypted and keep:
            raise InvalidInput("invalid environment variable", [FieldError(
                "value", "an encrypted variable becomes plain only with a new value")])
        old = p.cipher.decrypt(v.value) if v.encrypted else v.value
        value = old if keep else (given.value or "")
        targets = (list(given.allowed_targets) if given.allowed_targets is not None
                   else v.allowed_targets)
        if not encrypted and given.allowed_targets is not None:
            raise InvalidInput("invalid environment variable", [FieldError(
                "allowedTargets", "only an encrypted variable carries allowed targets")])
        v.value = p.cipher.encrypt(value) if encrypted else value
        v.encrypted = encrypted
        v.allowed_targets = targets if encrypted else None
        if given.description is not None:
            v.description = given.description
        s.flush()
        audit.record(s, caller, "variable.update", "environment",
                     f"environment variable {v.name!r} updated", request=_request(v),
                     workspace_id=workspace_id)
        return _view(v, caller)


def delete(p: Platform, caller: Caller, workspace_id: str, name: str) -> None:
    policy.require(caller, policy.READ, workspace_id)
    with p.db.claim() as s:
        v = _find(s, workspace_id, name)
        policy.require(caller, _needs(v.encrypted), workspace_id)
        audit.record(s, caller, "variable.delete", "environment",
                     f"environment variable {v.name!r} deleted", request={"name": v.name},
                     workspace_id=workspace_id)
        s.delete(v)


# --- where variables are used, and values that could become variables ---------------------

@dataclass(frozen=True)
class Usage:
    type: str  # source | destination | a configuration's type
    identifier: str
    name: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    type: str
    identifier: str
    name: str
    path: str


@dataclass(frozen=True)
class Candidate:
    """A literal value found in configurations that could become a variable: where it sits,
    never what it is."""

    name: str
    reason: str  # secret | repeated
    matches: tuple[Match, ...]


def _configs(s: Session, p: Platform, workspace_id: str,
             ) -> list[tuple[Actor, ConnectorDefinition, dict[str, Any]]]:
    rows = s.execute(select(Actor, ConnectorDefinition)
                     .join(ConnectorDefinition, Actor.definition_id == ConnectorDefinition.id)
                     .where(Actor.workspace_id == workspace_id, Actor.tombstone.is_(False))
                     .order_by(Actor.created_at, Actor.id)).all()
    return [(a, d, unseal(dict(a.config or {}), p.cipher)) for a, d in rows]


def usages(p: Platform, caller: Caller, workspace_id: str, name: str) -> list[Usage]:
    """The sources, destinations and ``/di`` configurations that refer to ``${name}`` (also
    when the space lacks it)."""
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        out = []
        for a, _, config in _configs(s, p, workspace_id):
            paths = tuple(path for path, names in refs.references(config).items()
                          if name in names)
            if paths:
                out.append(Usage(a.kind, a.id, a.name, paths))
        for c in s.scalars(select(Configuration).where(
                Configuration.workspace_id == workspace_id)
                .order_by(Configuration.type, Configuration.identifier)):
            parameters = (c.object or {}).get("parameters")
            paths = tuple(f"object.parameters.{path}" for path, names
                          in refs.references(parameters).items() if name in names)
            if paths:
                out.append(Usage(c.type, c.identifier, c.name, paths))
        return out


def _secret_paths(d: ConnectorDefinition) -> set[str]:
    try:
        spec = registry.entry(d.docker_repository, d.kind).load_spec()  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a definition without a loadable spec has no secret paths
        return set()
    return {".".join(path) for path in spec.secret_paths()}


def _suggest(path: str, taken: set[str]) -> str:
    last = [p for p in path.split(".") if not p.isdigit()][-1:] or ["VALUE"]
    base = re.sub(r"[^A-Z0-9_]", "_", last[0].upper()) or "VALUE"
    if not base[0].isalpha():
        base = "V_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _configuration_leaves(s: Session, p: Platform, workspace_id: str,
                          ) -> list[tuple[str, str, str, dict[str, Any], set[str], str]]:
    """(type, identifier, name, plain parameters, secret paths, path prefix) of each ``/di``
    configuration of the space."""
    out = []
    for c in s.scalars(select(Configuration).where(Configuration.workspace_id == workspace_id)
                       .order_by(Configuration.type, Configuration.identifier)):
        try:
            proto = prototypes.get_prototype(c.type, str((c.object or {}).get("prototype")))
        except NotFound:
            continue
        plain = unseal(dict((c.object or {}).get("parameters") or {}), p.cipher)
        secret = {".".join(path) for path in proto.spec.secret_paths()}
        out.append((c.type, c.identifier, c.name, plain, secret, "object.parameters."))
    return out


def candidates(p: Platform, caller: Caller, workspace_id: str) -> list[Candidate]:
    """Literal values of the space's configurations (sources, destinations and ``/di``
    configurations) that look like secrets (a secret field of the spec, or a key named like
    one) or that repeat across configurations."""
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.session() as s:
        found: dict[str, list[Match]] = defaultdict(list)
        secret: set[str] = set()
        taken = {n for n in s.scalars(select(EnvironmentVariable.name).where(
            EnvironmentVariable.workspace_id == workspace_id))}
        every = [(a.kind, a.id, a.name, config, _secret_paths(d), "")
                 for a, d, config in _configs(s, p, workspace_id)]
        every += _configuration_leaves(s, p, workspace_id)
        for kind, identifier, name, config, secret_paths, prefix in every:
            for parts, value in refs.leaves(config):
                if not isinstance(value, str) or len(value) < 4 or "${" in value:
                    continue
                if value.isdigit() or value.lower() in ("true", "false", "null"):
                    continue
                path = ".".join(parts)
                found[value].append(Match(kind, identifier, name, prefix + path))
                if path in secret_paths or (parts and _SECRET_KEY.search(parts[-1])):
                    secret.add(value)
        out = []
        for value, matches in found.items():
            holders = {(m.type, m.identifier) for m in matches}
            if value in secret:
                out.append(Candidate(_suggest(matches[0].path, taken), "secret",
                                     tuple(matches)))
            elif len(holders) > 1:
                out.append(Candidate(_suggest(matches[0].path, taken), "repeated",
                                     tuple(matches)))
        return out

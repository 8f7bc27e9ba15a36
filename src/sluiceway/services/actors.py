"""Sources and destinations: configs validated against the spec, secrets sealed at rest and
masked on the way out; check and discover run against the real system within a time limit."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sluiceway.connectors import registry
from sluiceway.connectors.base import CheckResult
from sluiceway.core.errors import (
    ConfigInvalid,
    ConnectorError,
    FieldError,
    Forbidden,
    InvalidInput,
    SluicewayError,
    TooManyRequests,
)
from sluiceway.jobs.kinds.actors import space_variables, validated, with_variables
from sluiceway.protocol.catalog import Catalog
from sluiceway.protocol.spec import (
    MASK,
    ConnectorSpec,
    mask_paths,
    mask_secrets,
    validate_config,
)
from sluiceway.secrets import SEALED, merge_masked, redact, seal, secret_values, unseal
from sluiceway.secrets import variables as refs
from sluiceway.services import audit, calls, policy, scope
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Actor, Connection, ConnectorDefinition

Kind = registry.Kind
Check = CheckResult
T = TypeVar("T")


@dataclass(frozen=True)
class ActorView:
    """A source or destination as faces show it: the config with secrets masked."""

    id: str
    kind: str
    workspace_id: str
    definition_id: str
    definition_name: str
    name: str
    config: dict[str, Any]
    #: the definition's connector (its docker repository) and when the actor was made
    connector: str = ""
    created_at: float = 0.0


def _spec(d: ConnectorDefinition) -> ConnectorSpec:
    return registry.entry(d.docker_repository, d.kind).load_spec()  # type: ignore[arg-type]


def _view(a: Actor, d: ConnectorDefinition, p: Platform) -> ActorView:
    plain = unseal(a.config, p.cipher)
    return ActorView(a.id, a.kind, a.workspace_id, a.definition_id, d.name, a.name,
                     mask_secrets(_spec(d), plain), d.docker_repository, a.created_at)


def _validated(spec: ConnectorSpec, config: Any, skip: set[str] | None = None,
               ) -> dict[str, Any]:
    try:
        return validate_config(spec, config, skip or ())
    except ConfigInvalid as exc:
        raise _prefixed(exc) from None


#: the neutral name of an actor's configuration in error paths (each face names it its way)
CONFIG = "config"


def _prefixed(exc: ConfigInvalid) -> ConfigInvalid:
    return ConfigInvalid("invalid configuration", [
        FieldError(f"{CONFIG}.{e.path}" if e.path else CONFIG, e.reason, e.value)
        for e in exc.errors])


def _checked(s: Session, p: Platform, caller: Caller, d: ConnectorDefinition,
             spec: ConnectorSpec, config: Any, workspace_id: str) -> dict[str, Any]:
    """The config to store, checked against the spec with the values of the ``${NAME}``
    variables it refers to in place (a field whose variable does not exist yet is not
    checked); the references themselves are stored. An encrypted variable without
    ``allowedTargets`` is for administrators only; one with them only goes there."""
    used = refs.names(config) if isinstance(config, dict) else set()
    if not used:
        return _confined(p, d, _validated(spec, config))
    variables = space_variables(s, workspace_id, p.cipher, used)
    for v in variables.values():
        if v.encrypted and v.allowed_targets is None and not policy.allows(
                caller, policy.MANAGE, workspace_id):
            raise Forbidden(f"only an administrator may use the encrypted variable "
                            f"${{{v.name}}} (it names no allowedTargets)")
    resolved, missing = refs.resolve(config, variables, spec.connection_specification)
    problems = refs.guard(config, resolved, variables)
    if problems:
        raise _prefixed(ConfigInvalid("invalid configuration", problems))
    try:
        checked = validated(spec, config, resolved, variables, {e.path for e in missing})
    except ConfigInvalid as exc:
        raise _prefixed(exc) from None
    stored = {**{k: v for k, v in checked.items() if k not in config}, **config}
    return _confined(p, d, stored)


_GLOB = set("*?[")
#: the connectors whose ``path`` is a local file or folder, kept inside the allowed folders
LOCAL_PATH_CONNECTORS = ("file", "duckdb", "sqlite")


def local_folders(p: Platform) -> list[Path]:
    """The folders a local path may use (``SLUICEWAY_FILE_ROOTS``); a relative path is taken
    inside the first."""
    return list(p.settings.allowed_roots)


def _confined(p: Platform, d: ConnectorDefinition, config: dict[str, Any]) -> dict[str, Any]:
    """A connector that reads or writes local files may only use the allowed folders; a
    relative path is taken inside the first of them (and stored absolute)."""
    raw = config.get("path")
    if not isinstance(raw, str) or d.docker_repository not in LOCAL_PATH_CONNECTORS:
        return config
    if refs.names(raw):
        raise ConfigInvalid("invalid configuration", [FieldError(
            f"{CONFIG}.path", "a local path cannot come from a variable "
            "(it is kept inside the allowed folders when saved)")])
    roots = p.settings.allowed_roots
    if raw == ":memory:":
        return config
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = roots[0] / path
    fixed = Path(*(part for part in path.parts
                   if not _GLOB & set(part)))  # the folder part before any glob
    resolved = fixed.resolve()
    if not any(resolved == r or resolved.is_relative_to(r) for r in roots):
        raise ConfigInvalid("invalid configuration", [FieldError(
            f"{CONFIG}.path", "must be inside an allowed folder: "
            + ", ".join(str(r) for r in roots) + " (SLUICEWAY_FILE_ROOTS)", raw)])
    roots[0].mkdir(parents=True, exist_ok=True)
    return {**config, "path": str(path)}


def create(p: Platform, caller: Caller, kind: Kind, workspace_id: str, definition_id: str,
           config: Any, name: str | None) -> ActorView:
    with p.db.claim() as s:
        scope.workspace(s, caller, workspace_id)
        policy.require(caller, policy.CHANGE, workspace_id)
        d = scope.definition(s, caller, kind, definition_id, workspace_id)
        spec = _spec(d)
        if isinstance(config, dict):
            config = merge_masked(spec, config, None)
        plain = _checked(s, p, caller, d, spec, config, workspace_id)
        a = Actor(workspace_id=workspace_id, definition_id=d.id, kind=kind,
                  name=name or d.name, config=seal(spec, plain, p.cipher))
        s.add(a)
        s.flush()
        view = _view(a, d, p)
        audit.record(s, caller, f"{kind}.create", kind, f"{kind} {a.name!r} created",
                     request={"id": a.id, "name": a.name, "definitionId": d.id,
                              "configuration": view.config}, workspace_id=workspace_id)
        return view


def get(p: Platform, caller: Caller, kind: Kind, actor_id: str) -> ActorView:
    with p.db.session() as s:
        a = scope.actor(s, caller, kind, actor_id)
        return _view(a, s.get_one(ConnectorDefinition, a.definition_id), p)


def list_for(p: Platform, caller: Caller, kind: Kind, workspace_id: str) -> list[ActorView]:
    with p.db.session() as s:
        scope.workspace(s, caller, workspace_id)
        rows = s.execute(select(Actor, ConnectorDefinition)
                         .join(ConnectorDefinition, Actor.definition_id == ConnectorDefinition.id)
                         .where(Actor.workspace_id == workspace_id, Actor.kind == kind,
                                Actor.tombstone.is_(False))
                         .order_by(Actor.created_at)).all()
        return [_view(a, d, p) for a, d in rows]


def stamps(p: Platform, caller: Caller, actor_ids: Collection[str]
           ) -> dict[str, tuple[float, str, str]]:
    """What a view of each actor depends on: its ``updated_at`` and its definition (id and
    name); for actors the caller can see, deleted ones included."""
    ids = sorted(set(actor_ids))
    out: dict[str, tuple[float, str, str]] = {}
    with p.db.session() as s:
        for start in range(0, len(ids), 500):
            out.update((aid, (at, did, dname)) for aid, ws, at, did, dname in s.execute(
                select(Actor.id, Actor.workspace_id, Actor.updated_at, Actor.definition_id,
                       ConnectorDefinition.name)
                .join(ConnectorDefinition, Actor.definition_id == ConnectorDefinition.id)
                .where(Actor.id.in_(ids[start:start + 500])))
                if caller.can_see(ws))
    return out


def get_many(p: Platform, caller: Caller, actor_ids: Collection[str]) -> dict[str, ActorView]:
    """The views of many sources and destinations at once (those the caller can see, deleted
    ones included: connections still point at them), in a query per few hundred ids.
    (Visibility is checked here, not in SQL: a second IN list beside the ids makes
    PostgreSQL compare every row with every bound id.)

    Secrets are masked without being decrypted: a sealed value shows as the mask."""
    ids = sorted(set(actor_ids))
    secret_paths: dict[str, list[tuple[str, ...]]] = {}
    out: dict[str, ActorView] = {}
    with p.db.session() as s:
        for start in range(0, len(ids), 500):
            rows = s.execute(
                select(Actor.id, Actor.kind, Actor.workspace_id, Actor.definition_id,
                       Actor.name, Actor.config, ConnectorDefinition.name,
                       ConnectorDefinition.docker_repository, ConnectorDefinition.kind)
                .join(ConnectorDefinition, Actor.definition_id == ConnectorDefinition.id)
                .where(Actor.id.in_(ids[start:start + 500]))).all()
            for aid, kind, ws, did, name, config, dname, repo, dkind in rows:
                if not caller.can_see(ws):
                    continue
                paths = secret_paths.get(did)
                if paths is None:
                    spec = registry.entry(repo, dkind).load_spec()
                    paths = secret_paths[did] = spec.secret_paths()
                out[aid] = ActorView(aid, kind, ws, did, dname, name, _masked(config, paths))
    return out


def _masked(stored: Any, paths: list[tuple[str, ...]]) -> Any:
    """A copy of a stored config with sealed values and every secret path as the mask."""
    if isinstance(stored, dict):
        if len(stored) == 1 and SEALED in stored:
            return MASK
        out = {k: _masked(v, []) for k, v in stored.items()}
        mask_paths(out, paths)
        return out
    if isinstance(stored, list):
        return [_masked(v, []) for v in stored]
    return stored


def update_config(p: Platform, caller: Caller, kind: Kind, actor_id: str, config: Any,
                  name: str) -> ActorView:
    """Replace the config; a secret sent back as the mask keeps the stored secret."""
    with p.db.claim() as s:
        a = scope.actor(s, caller, kind, actor_id)
        policy.require(caller, policy.CHANGE, a.workspace_id)
        d = s.get_one(ConnectorDefinition, a.definition_id)
        spec = _spec(d)
        if isinstance(config, dict):
            config = merge_masked(spec, config, unseal(a.config, p.cipher))
        plain = _checked(s, p, caller, d, spec, config, a.workspace_id)
        a.config = seal(spec, plain, p.cipher)
        a.name = name
        view = _view(a, d, p)
        audit.record(s, caller, f"{kind}.update", kind, f"{kind} {a.name!r} updated",
                     request={"id": a.id, "name": name, "configuration": view.config},
                     workspace_id=a.workspace_id)
        return view


def delete(p: Platform, caller: Caller, kind: Kind, actor_id: str) -> None:
    """Tombstone the actor; connections that use it are deprecated (they stop running)."""
    with p.db.claim() as s:
        a = scope.actor(s, caller, kind, actor_id)
        policy.require(caller, policy.CHANGE, a.workspace_id)
        a.tombstone = True
        audit.record(s, caller, f"{kind}.delete", kind, f"{kind} {a.name!r} deleted",
                     request={"id": a.id}, workspace_id=a.workspace_id)
        column = Connection.source_id if kind == "source" else Connection.destination_id
        s.execute(update(Connection).where(column == a.id)
                  .values(status="deprecated", next_run_at=None))


def recreate(p: Platform, caller: Caller, kind: Kind, actor_id: str, workspace_id: str,
             definition_id: str, config: Any, name: str) -> ActorView:
    """Replace an actor by a new one made from the body (the old one is deleted)."""
    with p.db.session() as s:
        old = scope.actor(s, caller, kind, actor_id)
        policy.require(caller, policy.CHANGE, old.workspace_id)
        stored = unseal(old.config, p.cipher) if old.definition_id == definition_id else None
    if isinstance(config, dict) and stored is not None:
        with p.db.session() as s:
            spec = _spec(scope.definition(s, caller, kind, definition_id, workspace_id))
        config = merge_masked(spec, config, stored)
    new = create(p, caller, kind, workspace_id, definition_id, config, name)
    delete(p, caller, kind, actor_id)
    return new


# --- running the connector ------------------------------------------------------------------

@dataclass(frozen=True)
class Resolved:
    """An actor ready to run: connector name, plain config and its secrets (for redaction)."""

    connector: str
    config: dict[str, Any]
    secrets: list[str]


def resolve(s: Session, p: Platform, a: Actor) -> Resolved:
    """The actor's config to run: unsealed, its ``${NAME}`` variables resolved (a missing
    one is :class:`ConfigInvalid` naming it) and checked against the spec."""
    d = s.get_one(ConnectorDefinition, a.definition_id)
    spec = _spec(d)
    plain = unseal(a.config, p.cipher)
    variables = space_variables(s, a.workspace_id, p.cipher, refs.names(plain))
    try:
        resolved = with_variables(spec, plain, variables)
    except ConfigInvalid as exc:
        raise _prefixed(exc) from None
    try:
        config = validated(spec, plain, resolved, variables) if variables else resolved
    except ConfigInvalid as exc:
        raise _prefixed(exc) from None
    return Resolved(d.docker_repository, config,
                    secret_values(spec, config) + refs.secret_values(plain, variables))


def check(p: Platform, caller: Caller, kind: Kind, actor_id: str) -> CheckResult:
    """Connects with the stored configuration (its variables resolved): a run, so an
    editor's to start, as a configuration's test is."""
    with p.db.session() as s:
        a = scope.actor(s, caller, kind, actor_id)
        policy.require(caller, policy.CHANGE, a.workspace_id)
        r, workspace_id = resolve(s, p, a), a.workspace_id
    roots = p.settings.allowed_roots
    connector = registry.source(r.connector, roots) if kind == "source" else \
        registry.destination(r.connector, roots)
    try:
        result: CheckResult = calls.run(p, workspace_id, f"the {r.connector} check",
                                        connector.check, r.config)
    except ConnectorError as exc:
        return CheckResult(False, str(exc))
    return CheckResult(result.ok, redact(result.message, r.secrets))


def discover(p: Platform, caller: Caller, source_id: str) -> Catalog:
    """Reads the source's schema with its stored configuration: a run, as :func:`check`."""
    with p.db.session() as s:
        a = scope.actor(s, caller, "source", source_id)
        policy.require(caller, policy.CHANGE, a.workspace_id)
        r, workspace_id = resolve(s, p, a), a.workspace_id
    source = registry.source(r.connector, p.settings.allowed_roots)
    try:
        catalog: Catalog = calls.run(p, workspace_id, f"the {r.connector} discover",
                                     source.discover, r.config)
    except (InvalidInput, TooManyRequests):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure becomes one clear, redacted error
        text = str(exc) if isinstance(exc, SluicewayError) else f"{type(exc).__name__}: {exc}"
        raise ConnectorError("discover failed: " + redact(text, r.secrets)) from None
    return catalog

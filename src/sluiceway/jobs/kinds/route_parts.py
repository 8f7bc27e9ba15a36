"""A route's configurations made runnable: the incoming (a source and one stream of it), the
transformers (one callable over an entity) and the outgoing (a destination, a table and the
key it upserts on), with secrets unsealed and ``${NAME}`` variables resolved.

Enters: the space and the route's identifier. Leaves: :class:`RouteParts`. A configuration
that is missing or disabled, or that no longer fits its connector, is :class:`Fatal` (a retry
of the run cannot mend it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluiceway.connectors import registry
from sluiceway.connectors.base import Destination, Source
from sluiceway.core.errors import Cancelled, ConfigInvalid, Fatal, FieldError, InvalidInput
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.actors import load_actor, space_variables, validated, with_variables
from sluiceway.jobs.kinds.http_tokens import VariableTokens
from sluiceway.protocol.spec import ConnectorSpec
from sluiceway.secrets import Cipher, secret_values, unseal
from sluiceway.secrets import variables as refs
from sluiceway.store.db import Database, now
from sluiceway.store.models import Configuration, StorageEntity
from sluiceway.transforms import entities, vectorised

#: a spec that types nothing: transformer parameters take variables as text
_ANY = ConnectorSpec(connection_specification={"type": "object"})


@dataclass(frozen=True)
class End:
    """One end of a route: a connector with its plain config and one stream (table)."""

    identifier: str
    connector: str
    config: dict[str, Any]
    stream: str
    #: the incoming's entity identifier field, or the outgoing's upsert key
    keys: tuple[str, ...]
    #: the incoming's cursor field (a run reads from where the last one ended), if any
    cursor: str | None = None
    #: an HTTP end's token store (an ``oauth2-token`` client) and log
    tokens: Any = None
    log: Callable[[str], None] | None = None
    wait: Callable[[float], None] | None = None

    def source(self, roots: Sequence[Path] | None) -> Source:
        if self.connector == "webhook":
            raise Fatal(f"the incoming {self.identifier!r} is a webhook: its calls run its "
                        "routes with the entities they post; it is not read")
        made = registry.source(self.connector, roots)
        self._equip(made)
        return made

    def destination(self, roots: Sequence[Path] | None) -> Destination:
        made = registry.destination(self.connector, roots)
        self._equip(made)
        return made

    def _equip(self, made: Source | Destination) -> None:
        if self.connector == "http":
            made.tokens = self.tokens  # type: ignore[union-attr]
            made.log = self.log  # type: ignore[union-attr]
            if self.wait is not None:
                made.wait = self.wait  # type: ignore[union-attr]


@dataclass(frozen=True)
class RouteParts:
    identifier: str
    incoming: End
    outgoing: End
    transform: entities.Transformer
    #: the route's retry policy: attempts per entity (0: no automatic retry) and interval
    max_attempts: int
    interval_seconds: int
    #: entities written wait for an acknowledgement (``waiting``) instead of ``finished``
    waiting: bool = False
    #: a transformer may split an entity (``transform`` may give :class:`entities.Split`)
    splits: bool = False
    #: the transformers over record batches (vectorised where they allow it)
    plan: vectorised.Plan | None = None
    #: the storage of the route's change detection, if it has one
    change_storage: str | None = None


def _configuration(s: Session, workspace_id: str, type_: str, identifier: str,
                   what: str) -> Configuration:
    c = s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.type == type_,
        Configuration.identifier == identifier)).first()
    if c is None:
        raise Fatal(f"{what} {identifier!r} does not exist")
    if c.disabled:
        raise Fatal(f"{what} {identifier!r} is disabled")
    return c


def _resolved(ctx: AttemptContext, s: Session, workspace_id: str, spec: ConnectorSpec,
              sealed: Mapping[str, Any], what: str) -> dict[str, Any]:
    cipher = Cipher.from_settings(ctx.settings)
    plain = unseal(dict(sealed), cipher)
    variables = space_variables(s, workspace_id, cipher, refs.names(plain))
    ctx.add_secrets(refs.secret_values(plain, variables))
    try:
        resolved = with_variables(spec, plain, variables)
    except ConfigInvalid as exc:
        raise Fatal(f"{what}: " + "; ".join(str(e) for e in exc.errors)) from None
    if spec is _ANY:
        return resolved
    ctx.add_secrets(secret_values(spec, resolved))
    try:
        return validated(spec, plain, resolved, variables)
    except ConfigInvalid as exc:
        raise Fatal(f"{what}: " + "; ".join(str(e) for e in exc.errors)) from None


def _end(ctx: AttemptContext, s: Session, workspace_id: str, kind: str, identifier: str,
         ) -> End:
    type_ = f"{'incoming' if kind == 'source' else 'outgoing'}-configuration"
    c = _configuration(s, workspace_id, type_, identifier, f"the {type_.split('-')[0]}")
    return end_of(ctx, s, workspace_id, kind, identifier,
                  {"prototype": dict(c.object).get("prototype") or c.prototype,
                   "parameters": dict(c.object).get("parameters") or {}})


def end_of(ctx: AttemptContext, s: Session, workspace_id: str, kind: str, identifier: str,
           obj: Mapping[str, Any]) -> End:
    """The end an incoming (``kind`` source) or outgoing configuration's ``obj`` (its
    prototype and parameters, sealed or not) describes, ready to use."""
    type_ = f"{'incoming' if kind == 'source' else 'outgoing'}-configuration"
    what = f"the {type_.split('-')[0]} {identifier!r}"
    parameters = dict(obj.get("parameters") or {})
    connector = str(obj.get("prototype"))
    if connector in ("http", "webhook"):
        return _json_end(ctx, s, workspace_id, kind, identifier, connector, parameters, what)
    keys = (parameters.get("identifierField"),) if kind == "source" else tuple(
        parameters.get("key") or ())
    stream = str(parameters.get("stream") or "")
    named = parameters.get(kind)
    if named:
        actor = load_actor(ctx, str(named), f"the {kind} {named} of {what}")
        if actor.workspace_id != workspace_id or actor.connector != connector:
            raise Fatal(f"{what} names {kind} {named}, which is not a {connector} {kind} "
                        "of this space")
        config = actor.config
    else:
        spec = registry.entry(connector, kind).load_spec()  # type: ignore[arg-type]
        config = _resolved(ctx, s, workspace_id, spec, parameters.get("configuration") or {},
                           what)
    cursor = parameters.get("cursorField") if kind == "source" else None
    return End(identifier, connector, config, stream, tuple(k for k in keys if k),
               str(cursor) if cursor else None)


#: the http-client's fields that hold secrets (masked in the job's log)
_CLIENT_SECRETS = ("password", "token", "key", "clientSecret")


def _json_end(ctx: AttemptContext, s: Session, workspace_id: str, kind: str,
              identifier: str, connector: str, parameters: dict[str, Any], what: str) -> End:
    """An end whose entities are JSON: an HTTP API through an http-client configuration, or
    a webhook (its calls post the entities; there is nothing to read)."""
    stream = str(parameters.get("stream") or identifier)
    keys = ((parameters.get("identifierField"),) if kind == "source"
            else tuple(parameters.get("key") or ()))
    keys = tuple(str(k) for k in keys if k)
    if connector == "webhook":
        return End(identifier, connector, {}, stream, keys)
    own = _resolved(ctx, s, workspace_id, _ANY, {k: v for k, v in parameters.items()
                                                 if k != "client"}, what)
    name = str(parameters.get("client") or "")
    c = _configuration(s, workspace_id, "http-client", name, "the http-client")
    client = _resolved(ctx, s, workspace_id, _ANY, dict(dict(c.object).get("parameters")
                                                        or {}), f"the http-client {name!r}")
    auth = dict(client.get("auth") or {})
    ctx.add_secrets([str(auth[k]) for k in _CLIENT_SECRETS if auth.get(k)])
    tokens = None
    if auth.get("type") == "oauth2-token":
        tokens = VariableTokens(ctx, workspace_id, str(auth.get("variable")),
                                f"route-run:{ctx.job_id}",
                                [str(client.get("baseUrl"))] + ([str(auth["tokenUrl"])]
                                                                if auth.get("tokenUrl") else []))
    def wait(seconds: float) -> None:
        if ctx.cancel.wait(seconds):
            raise Cancelled("route run cancelled while waiting to retry an HTTP request")

    cursor = parameters.get("cursorField") if kind == "source" else None
    return End(identifier, connector, {**own, "client": client}, stream, keys,
               str(cursor) if cursor else None, tokens=tokens,
               log=lambda line: ctx.log("INFO", line), wait=wait)


def storage_reader(db: Database, cipher: Cipher, workspace_id: str) -> entities.StorageRead:
    """Reads the live value a storage of the space keeps under a key (``storage-merge``);
    :data:`entities.MISSING` when it keeps none. A storage that does not exist fails the
    entity, naming the parameter. Each read is one indexed SELECT on a pooled connection
    (no ORM session)."""
    known: set[str] = set()
    lookup = select(StorageEntity.value, StorageEntity.sealed, StorageEntity.expires_at)

    def read(storage: str, key: str) -> Any:
        with db.engine.connect() as conn:
            if storage not in known:
                if conn.execute(select(Configuration.id).where(
                        Configuration.workspace_id == workspace_id,
                        Configuration.type == "storage",
                        Configuration.identifier == storage)).first() is None:
                    raise entities.TransformFailed("unknown storage", [FieldError(
                        "parameters.storage", f"storage {storage!r} does not exist in this "
                        "space")])
                known.add(storage)
            row = conn.execute(lookup.where(
                StorageEntity.workspace_id == workspace_id, StorageEntity.storage == storage,
                StorageEntity.key == key)).first()
        if row is None or (row[2] is not None and row[2] <= now()):
            return entities.MISSING
        return json.loads(cipher.decrypt(row[1])) if row[1] is not None else row[0]
    return read


def _leaf_prototypes(s: Session, workspace_id: str, identifier: str,
                     path: tuple[str, ...]) -> set[str]:
    """The prototypes a transformer runs, through its chains."""
    if identifier in path:
        return set()
    c = s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.type == "transformer",
        Configuration.identifier == identifier)).first()
    if c is None:
        return set()
    obj = dict(c.object)
    prototype = str(obj.get("prototype") or c.prototype)
    if prototype != "chain":
        return {prototype}
    found: set[str] = set()
    for name in dict(obj.get("parameters") or {}).get("transformers") or ():
        found |= _leaf_prototypes(s, workspace_id, str(name), (*path, identifier))
    return found


def _transformer(ctx: AttemptContext, s: Session, workspace_id: str, identifier: str,
                 path: tuple[str, ...], read: entities.StorageRead) -> entities.Transformer:
    return _compiled(ctx, s, workspace_id, identifier, path, read)[0]


def _compiled(ctx: AttemptContext, s: Session, workspace_id: str, identifier: str,
              path: tuple[str, ...], read: entities.StorageRead,
              ) -> tuple[entities.Transformer, vectorised.Spec]:
    """The transformer ``identifier`` and what it is (for its vectorised form)."""
    if identifier in path:
        raise Fatal("a chain reaches itself: " + " -> ".join((*path, identifier)))
    c = _configuration(s, workspace_id, "transformer", identifier, "the transformer")
    obj = dict(c.object)
    parameters = _resolved(ctx, s, workspace_id, _ANY, obj.get("parameters") or {},
                           f"the transformer {identifier!r}")
    prototype = str(obj.get("prototype") or c.prototype)
    try:
        return entities.compile_transformer(
            prototype, parameters,
            lambda ident: _transformer(ctx, s, workspace_id, ident, (*path, identifier),
                                       read), read,
        ), vectorised.Spec(prototype, parameters)
    except InvalidInput as exc:
        raise Fatal(f"the transformer {identifier!r}: {exc}") from None


def _chain(steps: list[entities.Transformer]) -> entities.Transformer:
    """The route's transformers one after another (a split item can run on from its split:
    :func:`entities.resume`)."""
    return entities.Chain(steps, copies=False)


def load_route(ctx: AttemptContext, workspace_id: str, identifier: str,
               given: Mapping[str, Any] | None = None) -> RouteParts:
    """The route ``identifier`` of the space, ready to run (``given``: these parameters
    instead of the saved route's, for a test of a route not saved)."""
    with ctx.db.session() as s:
        p = dict(given) if given is not None else dict(dict(_configuration(
            s, workspace_id, "route-configuration", identifier, "the route").object)
            .get("parameters") or {})
        incoming = _end(ctx, s, workspace_id, "source", str(p["incoming"]))
        outgoing = _end(ctx, s, workspace_id, "destination", str(p["outgoing"]))
        read = storage_reader(ctx.db, Cipher.from_settings(ctx.settings), workspace_id)
        names = [str(t) for t in p.get("transformers") or ()]
        compiled = [_compiled(ctx, s, workspace_id, t, (identifier,), read) for t in names]
        splits = any("split" in _leaf_prototypes(s, workspace_id, t, (identifier,))
                     for t in names)
        retry = dict(p.get("retry") or {})
        detection = dict(p.get("changeDetection") or {})
    if not outgoing.keys and outgoing.connector != "http":
        raise Fatal(f"the outgoing {outgoing.identifier!r} names no key to upsert on")
    steps = [t for t, _ in compiled]
    return RouteParts(identifier, incoming, outgoing, _chain(steps),
                      int(retry.get("maxAttempts") or 0),
                      int(retry.get("intervalSeconds") or 60), bool(p.get("waitingStatus")),
                      splits=splits,
                      plan=vectorised.Plan([spec for _, spec in compiled], steps),
                      change_storage=(str(detection["storage"]) if detection.get("storage")
                                      else None))

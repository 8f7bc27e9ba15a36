"""Validating and testing configurations: stored ones checked against their prototypes as
they are now (#54-55); and (#65-66) a transformer, saved or not, run on an entity, or on the
``transformer-test`` configurations it owns; an incoming reads its first entities (at most
:data:`SAMPLE`, a first page of an HTTP API) and an outgoing checks its connection without
writing anything.

The transformer runs with its secrets unsealed and its ``${NAME}`` variables resolved (an
encrypted variable without allowed targets only for administrators, as everywhere); a chain
finds its transformers among the space's configurations (a chain that reaches itself is
refused).

A route reads the first entities of its incoming (at most :data:`SAMPLE`; or the entities
posted) and runs its transformers on them: each is reported as what would be sent, skipped
(and why), failed (and why) or, with change detection, unchanged; nothing is written and
the incoming's cursor is not used. A storage reports its counts and size and its first
entities. A scheduler entry reports its next five times in its time zone (``${NAME}``
variables resolved) and, for each command, whether its target exists and which routes it
would run. An http-client makes one ``GET`` of its ``testPath`` (else its base URL) through
the checked transport with its authentication, sent once, and reports the status and the
time taken, never the answer's body (a refreshed ``oauth2-token`` is kept in its variable,
as for any call). A ``transformer-test`` (saved or not) runs its owner, the transformer it
names, on its entity and reports passed or failed with what the transformer gave and the
differences from what it expected (:func:`judge`, as a transformer's own test reports the
tests it owns). A type with no test is :class:`NotTestable` (501 on the API).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sluiceway.artifacts.formats import json_safe
from sluiceway.connectors.base import EntitySource
from sluiceway.connectors.http.client import HttpClient
from sluiceway.core.errors import (
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    SluicewayError,
    UnknownStream,
)
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.jobs import schedule_entries
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds import route_ledger, route_parts
from sluiceway.jobs.kinds.actors import space_variables, with_variables
from sluiceway.jobs.kinds.http_tokens import VariableTokens
from sluiceway.jobs.kinds.route_parts import storage_reader
from sluiceway.protocol.messages import RecordBatch
from sluiceway.secrets import Cipher, unseal
from sluiceway.secrets import variables as refs
from sluiceway.services import (
    configuration_relations,
    configurations,
    criteria,
    policy,
    prototypes,
    storages,
)
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Configuration, StorageEntity
from sluiceway.transforms import entities


class NotTestable(SluicewayError):
    """A type Sluiceway cannot test yet."""


@dataclass(frozen=True)
class Difference:
    """Where what a transformer gave differs from what its test expected: ``path`` (dotted,
    ``[n]`` for a list's item; ``""`` for the whole value), and ``change``: ``missing``
    (expected, not given), ``unexpected`` (given, not expected) or ``changed``."""

    path: str
    change: str
    expected: Any = None
    actual: Any = None


@dataclass(frozen=True)
class CaseResult:
    identifier: str
    name: str
    passed: bool
    got: Any = None
    reason: str | None = None
    differences: tuple[Difference, ...] = ()


@dataclass(frozen=True)
class Trial:
    type: str
    #: the object tested (secrets masked)
    specification: dict[str, Any]
    #: the entity the transformer gave (``None`` when it skipped or failed)
    object: Any
    tester: str
    skipped: str | None = None
    error: str | None = None
    cases: tuple[CaseResult, ...] = field(default=())
    #: a route's outcomes counted (read, send, skipped, failed, unchanged)
    counts: dict[str, int] | None = None


def _plain(s: Session, p: Platform, caller: Caller, workspace_id: str,
           proto: prototypes.Prototype, parameters: dict[str, Any]) -> dict[str, Any]:
    plain = unseal(parameters, p.cipher)
    used = refs.names(plain)
    if not used:
        return plain
    variables = space_variables(s, workspace_id, p.cipher, used)
    for v in variables.values():
        if v.encrypted and v.allowed_targets is None and not policy.allows(
                caller, policy.MANAGE, workspace_id):
            raise Forbidden(f"only an administrator may use the encrypted variable "
                            f"${{{v.name}}} (it names no allowedTargets)")
    try:
        return with_variables(proto.spec, plain, variables)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, [FieldError(f"object.parameters.{e.path}", e.reason)
                                         for e in exc.errors]) from None


def _compiler(s: Session, p: Platform, caller: Caller, workspace_id: str,
              ) -> Callable[[dict[str, Any], tuple[str, ...]], entities.Transformer]:
    def compile_(obj: dict[str, Any], path: tuple[str, ...]) -> entities.Transformer:
        proto = prototypes.get_prototype("transformer", str(obj.get("prototype")))
        parameters = _plain(s, p, caller, workspace_id, proto, dict(obj.get("parameters")
                                                                     or {}))

        def lookup(identifier: str) -> entities.Transformer:
            if identifier in path:
                raise InvalidInput("a chain reaches itself", [FieldError(
                    "object.parameters.transformers", " -> ".join((*path, identifier)))])
            c = configurations.find(s, workspace_id, "transformer", identifier)
            return compile_(dict(c.object), (*path, identifier))
        return entities.compile_transformer(proto.identifier, parameters, lookup, read)
    read = storage_reader(p.db, p.cipher, workspace_id)
    return compile_


def _run(run: entities.Transformer, entity: Any) -> tuple[Any, str | None, str | None]:
    try:
        got = run(entity)
    except InvalidInput as exc:
        return None, None, exc.message
    if isinstance(got, entities.Skipped):
        return None, got.reason, None
    if isinstance(got, entities.Split):  # the entities it became
        return got.entities, None, None
    return got, None, None


#: entities an incoming's test reads at most
SAMPLE = 5
_ENDS = {"incoming-configuration": "source", "outgoing-configuration": "destination"}


#: the types tested by reading or calling something (not by running a transformer)
_OTHERS = ("route-configuration", "storage", "scheduler-entry", "http-client")


def _require_testable(type_: str) -> None:
    prototypes.get_type(type_)
    if type_ not in ("transformer", CASE, *_ENDS, *_OTHERS):
        raise NotTestable(f"testing a {type_} is not built yet; transformers, transformer "
                          "tests, incomings, outgoings, routes, storages, scheduler entries "
                          "and http-clients can be tested")


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def differences(expected: Any, actual: Any, path: str = "") -> list[Difference]:
    """Where ``actual`` differs from ``expected``, object key by key and list item by item
    (the expected keys first, in their order)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[Difference] = []
        for k, v in expected.items():
            if k in actual:
                out += differences(v, actual[k], _at(path, str(k)))
            else:
                out.append(Difference(_at(path, str(k)), "missing", v, None))
        out += [Difference(_at(path, str(k)), "unexpected", None, v)
                for k, v in actual.items() if k not in expected]
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            out += differences(e, a, _at(path, i))
        out += [Difference(_at(path, i), "missing", e, None)
                for i, e in enumerate(expected) if i >= len(actual)]
        out += [Difference(_at(path, i), "unexpected", None, a)
                for i, a in enumerate(actual) if i >= len(expected)]
        return out
    if expected == actual:
        return []
    return [Difference(path, "changed", expected, actual)]


def judge(run: entities.Transformer, identifier: str, name: str,
          case: dict[str, Any]) -> CaseResult:
    """Run the transformer on the entity of the test ``case`` (a ``transformer-test``'s
    parameters: ``entity`` and ``expected``, or ``skipped``, the reason it must skip with)
    and compare what it gave with what the case expects."""
    got, skipped, error = _run(run, case.get("entity"))
    if error is not None:
        return CaseResult(identifier, name, False, None, error)
    actual = got if skipped is None else {"skipped": skipped}
    if "skipped" in case:
        expected: Any = {"skipped": case["skipped"]}
        ok = skipped == case["skipped"]
        reason = f"expected skipped ({case['skipped']})"
    else:
        expected = case.get("expected")
        ok = skipped is None and got == expected
        reason = f"expected {expected!r}"
    if ok:
        return CaseResult(identifier, name, True, actual)
    return CaseResult(identifier, name, False, actual, reason,
                      tuple(differences(expected, actual)))


#: the type of a transformer's test cases (a relation of the transformer: its ``owner``)
CASE = "transformer-test"


def _owner_transformer(s: Session, workspace_id: str, owner: str | None) -> Configuration:
    """The transformer a ``transformer-test`` names as its owner."""
    if not owner:
        raise InvalidInput("a transformer-test runs the transformer it belongs to", [
            FieldError("owner", "is required: the identifier of the transformer to test")])
    found = list(s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.identifier == owner)))
    transformer = next((c for c in found if c.type == "transformer"), None)
    if transformer is None:
        reason = (f"{owner!r} is a {found[0].type}, not a transformer" if found
                  else f"there is no transformer {owner!r} in this space")
        raise InvalidInput("a transformer-test runs the transformer it belongs to",
                           [FieldError("owner", reason, owner)])
    return transformer


def _try_case(p: Platform, caller: Caller, workspace_id: str, identifier: str, name: str,
              owner: str | None, case: dict[str, Any], shown: dict[str, Any]) -> Trial:
    """Run one ``transformer-test`` (``case``: its parameters) with its owner; ``object``
    is what the transformer gave."""
    with p.db.session() as s:
        c = _owner_transformer(s, workspace_id, owner)
        run = _compiler(s, p, caller, workspace_id)(dict(c.object), (c.identifier,))
    result = judge(run, identifier, name, case)
    return Trial(CASE, shown, result.got, "transformer", cases=(result,))


def _no_entity() -> InvalidInput:
    return InvalidInput("a transformer-test runs on its own entity", [FieldError(
        "entity", "must not be given: the test's object.parameters.entity is used")])


def _guard_encrypted(s: Session, p: Platform, caller: Caller, workspace_id: str,
                     parameters: dict[str, Any]) -> None:
    """An encrypted variable without allowedTargets is used by administrators only (those of
    the parameters and of the http-client they name)."""
    used = refs.names(unseal(parameters, p.cipher))
    if parameters.get("client"):
        client = s.scalars(select(Configuration).where(
            Configuration.workspace_id == workspace_id, Configuration.type == "http-client",
            Configuration.identifier == str(parameters["client"]))).first()
        if client is not None:
            used |= refs.names(unseal(dict(client.object.get("parameters") or {}),
                                      p.cipher))
            auth = dict(dict(client.object.get("parameters") or {}).get("auth") or {})
            if auth.get("type") == "oauth2-token" and auth.get("variable"):
                used.add(str(auth["variable"]))
    for v in space_variables(s, workspace_id, p.cipher, used).values():
        if v.encrypted and v.allowed_targets is None and not policy.allows(
                caller, policy.MANAGE, workspace_id):
            raise Forbidden(f"only an administrator may use the encrypted variable "
                            f"${{{v.name}}} (it names no allowedTargets)")


def _try_end(p: Platform, caller: Caller, workspace_id: str, type_: str, identifier: str,
             obj: dict[str, Any], shown: dict[str, Any]) -> Trial:
    """Read an incoming's first entities, or check an outgoing's connection."""
    kind = _ENDS[type_]
    ctx = AttemptContext(p.settings, p.db, job_id=0, attempt_id=0)
    with p.db.session() as s:
        _guard_encrypted(s, p, caller, workspace_id, dict(obj.get("parameters") or {}))
        try:
            end = route_parts.end_of(ctx, s, workspace_id, kind, identifier, obj)
        except SluicewayError as exc:
            return Trial(type_, shown, None, kind, error=ctx.redact(exc.message))
    try:
        if kind == "destination":
            checked = end.destination(p.settings.allowed_roots).check(end.config)
            return Trial(type_, shown, {"ok": checked.ok, "message": ctx.redact(
                checked.message)}, kind, error=None if checked.ok else ctx.redact(
                    checked.message))
        return Trial(type_, shown, _sample(end, p), kind)
    except Exception as exc:  # noqa: BLE001 - a test reports every failure of the system
        return Trial(type_, shown, None, kind,
                     error=ctx.redact(f"{type(exc).__name__}: {exc}"))


def _sample(end: route_parts.End, p: Platform) -> list[Any]:
    source = end.source(p.settings.allowed_roots)
    if isinstance(source, EntitySource):
        return next(iter(source.entities(end.config, end.stream, SAMPLE)), [])
    catalog = source.discover(end.config)
    if catalog.get(end.stream) is None:
        raise UnknownStream(end.stream, [st.name for st in catalog.streams])
    out: list[Any] = []
    messages = source.read(end.config, configure(catalog, [StreamChoice(end.stream)]), None)
    try:
        for msg in messages:
            if isinstance(msg, RecordBatch):
                out += [json_safe(r) for r in msg.batch.slice(0, SAMPLE - len(out))
                        .to_pylist()]
                if len(out) >= SAMPLE:
                    break
    finally:
        close = getattr(messages, "close", None)
        if close is not None:
            close()
    return out


def run_unsaved(p: Platform, caller: Caller, workspace_id: str, type_: str, obj: Any,
                 entity: Any, owner: str | None = None) -> Trial:
    """Test a configuration that is not saved: a transformer on ``entity``, a
    ``transformer-test`` with the transformer ``owner``, the others as saved ones are."""
    policy.require(caller, policy.CHANGE, workspace_id)
    _require_testable(type_)
    proto, checked = prototypes.validate(type_, obj)
    shown = {"prototype": proto.identifier,
             "parameters": configurations.masked(proto, checked["parameters"])}
    if owner is not None and type_ != CASE:
        raise InvalidInput("only a transformer-test names an owner", [FieldError(
            "owner", f"must not be given to test a {type_}", owner)])
    if type_ == CASE:
        if entity is not None:
            raise _no_entity()
        return _try_case(p, caller, workspace_id, "unsaved", "unsaved", owner,
                         dict(checked["parameters"]), shown)
    if type_ in _ENDS:
        return _try_end(p, caller, workspace_id, type_, "unsaved", dict(checked), shown)
    if type_ in _OTHERS:
        return _try_other(p, caller, workspace_id, type_, None,
                          dict(checked["parameters"]), shown, entity, given=entity is not None)
    with p.db.session() as s:
        run = _compiler(s, p, caller, workspace_id)(checked, ())
        got, skipped, error = _run(run, entity)
    return Trial(type_, shown, got, "transformer", skipped, error)


def run_stored(p: Platform, caller: Caller, workspace_id: str, type_: str, identifier: str,
                entity: Any = None, *, given: bool = False) -> Trial:
    """Run a saved transformer on ``entity`` (when ``given``), else on each of the
    ``transformer-test`` configurations it owns."""
    policy.require(caller, policy.CHANGE, workspace_id)
    _require_testable(type_)
    view = configurations.get(p, caller, workspace_id, type_, identifier)
    if type_ == CASE:
        if given:
            raise _no_entity()
        with p.db.session() as s:
            case = dict(configurations.find(s, workspace_id, type_, identifier).object
                        .get("parameters") or {})
        return _try_case(p, caller, workspace_id, identifier, view.name, view.owner, case,
                         view.object)
    if type_ in _ENDS:
        with p.db.session() as s:
            c = configurations.find(s, workspace_id, type_, identifier)
            obj = {"prototype": c.object.get("prototype") or c.prototype,
                   "parameters": dict(c.object.get("parameters") or {})}
        return _try_end(p, caller, workspace_id, type_, identifier, obj, view.object)
    if type_ in _OTHERS:
        with p.db.session() as s:
            stored = dict(configurations.find(s, workspace_id, type_, identifier).object)
        return _try_other(p, caller, workspace_id, type_, identifier,
                          dict(stored.get("parameters") or {}), view.object, entity,
                          given=given)
    with p.db.session() as s:
        c = configurations.find(s, workspace_id, type_, identifier)
        run = _compiler(s, p, caller, workspace_id)(dict(c.object), (identifier,))
        if given:
            got, skipped, error = _run(run, entity)
            return Trial(type_, view.object, got, "transformer", skipped, error)
    tests, _ = configuration_relations.list_relations(
        p, caller, workspace_id, CASE, identifier,
        criteria.Criteria(limit=criteria.MAX_LIMIT))
    if not tests:
        raise NotFound(f"transformer {identifier} owns no transformer-test; post an entity "
                       "or add tests as its relations", identifier)
    cases = [judge(run, t.identifier, t.name, dict(t.object.get("parameters") or {}))
             for t in tests]
    return Trial(type_, view.object, None, "transformer", cases=tuple(cases))


def steps_of(s: Session, p: Platform, caller: Caller, workspace_id: str,
             identifier: str) -> list[tuple[str, entities.Transformer]]:
    """The saved transformer ``identifier`` as steps to run one after another: the
    transformers of a chain, each on its own, else the transformer itself."""
    c = configurations.find(s, workspace_id, "transformer", identifier)
    return steps_of_object(s, p, caller, workspace_id, identifier, dict(c.object))


def steps_of_object(s: Session, p: Platform, caller: Caller, workspace_id: str,
                    identifier: str, obj: dict[str, Any],
                    ) -> list[tuple[str, entities.Transformer]]:
    """The transformer ``identifier`` whose object (sealed, saved or not) is ``obj``, as
    steps: a chain's saved transformers each on its own, else the transformer itself."""
    compile_ = _compiler(s, p, caller, workspace_id)
    if obj.get("prototype") != "chain":
        return [(identifier, compile_(obj, (identifier,)))]
    names = [str(n) for n in dict(obj.get("parameters") or {}).get("transformers") or ()]
    return [(n, compile_(dict(configurations.find(s, workspace_id, "transformer", n).object),
                         (identifier, n))) for n in names]


# --- routes, storages, scheduler entries and http-clients ----------------------------------

def _try_other(p: Platform, caller: Caller, workspace_id: str, type_: str,
               identifier: str | None, parameters: dict[str, Any], shown: dict[str, Any],
               entity: Any, *, given: bool) -> Trial:
    """Test a route, storage, scheduler entry or http-client (``identifier`` ``None``: not
    saved) from its (sealed or plain) ``parameters``; nothing is written."""
    if type_ == "route-configuration":
        return _try_route(p, caller, workspace_id, identifier, parameters, shown, entity,
                          given=given)
    if type_ == "storage":
        return _try_storage(p, caller, workspace_id, identifier, shown)
    if type_ == "scheduler-entry":
        with p.db.session() as s:
            seen = schedule_entries.preview(s, workspace_id, parameters, now())
        obj = {"expression": seen.expression, "timezone": seen.timezone,
               "next": [t.isoformat() for t in seen.times],
               "commands": [{"command": t.command, "target": t.target, "exists": t.exists,
                             "routes": list(t.routes)} for t in seen.targets]}
        missing = [f"{t.command} {t.target!r}: no such configuration" for t in seen.targets
                   if not t.exists]
        problems = ([seen.problem] if seen.problem else []) + missing
        return Trial(type_, shown, obj, "scheduler",
                     error="; ".join(problems) if problems else None)
    return _try_client(p, caller, workspace_id, parameters, shown)


def _reached(s: Session, workspace_id: str, parameters: dict[str, Any],
             ) -> list[dict[str, Any]]:
    """The parameters of a route's incoming, outgoing and transformers (through chains),
    for the check of the encrypted variables they use."""
    out: list[dict[str, Any]] = [parameters]
    for end, type_ in (("incoming", "incoming-configuration"),
                       ("outgoing", "outgoing-configuration")):
        c = s.scalars(select(Configuration).where(
            Configuration.workspace_id == workspace_id, Configuration.type == type_,
            Configuration.identifier == str(parameters.get(end) or ""))).first()
        if c is not None:
            out.append(dict(c.object.get("parameters") or {}))
    todo = [str(t) for t in parameters.get("transformers") or ()]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        c = s.scalars(select(Configuration).where(
            Configuration.workspace_id == workspace_id, Configuration.type == "transformer",
            Configuration.identifier == name)).first()
        if c is not None:
            params = dict(c.object.get("parameters") or {})
            out.append(params)
            if c.object.get("prototype") == "chain":
                todo += [str(t) for t in params.get("transformers") or ()]
    return out


def _identifier_of(parts: route_parts.RouteParts, entity: Any) -> str | None:
    """The entity's identifier as a route run records it (the incoming's identifier field,
    else the outgoing's key)."""
    keys = parts.incoming.keys or parts.outgoing.keys
    values = [entities.get(entity, k, None) for k in keys] if isinstance(entity, dict) else []
    if not values or all(v is None for v in values):
        return None
    return "|".join("" if v is None else str(v) for v in values)[:1000]


def _try_route(p: Platform, caller: Caller, workspace_id: str, identifier: str | None,
               parameters: dict[str, Any], shown: dict[str, Any], entity: Any, *,
               given: bool) -> Trial:
    ctx = AttemptContext(p.settings, p.db, job_id=0, attempt_id=0)
    with p.db.session() as s:
        for reached in _reached(s, workspace_id, parameters):
            _guard_encrypted(s, p, caller, workspace_id, reached)
    try:
        parts = route_parts.load_route(ctx, workspace_id, identifier or "unsaved",
                                       parameters if identifier is None else None)
        if given:
            read = list(entity if isinstance(entity, list) else [entity])[:100]
        else:
            read = _sample(parts.incoming, p)
        changes = None
        if parts.change_storage is not None:
            with p.db.session() as s:
                changes = route_ledger.changes(s, workspace_id, parts.change_storage,
                                               Cipher.from_settings(p.settings))
    except Exception as exc:  # noqa: BLE001 - a test reports every failure of the system
        message = exc.message if isinstance(exc, SluicewayError) else (
            f"{type(exc).__name__}: {exc}")
        return Trial("route-configuration", shown, None, "route", error=ctx.redact(message))
    out = [_outcome(parts, ctx, e) for e in read]
    if changes is not None:
        keyed = [(o, _change_key(parts, o)) for o in out]
        with p.db.session() as s:
            known = changes.known(s, (k for _, k in keyed if k is not None), now())
        for o, key in keyed:
            if key is not None and known.get(key) == route_ledger.entity_hash(o["send"]):
                o["outcome"] = "unchanged"
    counts = {k: sum(1 for o in out if o["outcome"] == k)
              for k in ("send", "skipped", "failed", "unchanged")}
    return Trial("route-configuration", shown, {
        "incoming": parts.incoming.identifier, "outgoing": parts.outgoing.identifier,
        "entities": out}, "route", counts={"read": len(out), **counts})


def _change_key(parts: route_parts.RouteParts, o: dict[str, Any]) -> str | None:
    if o["outcome"] != "send" or not isinstance(o.get("send"), dict):
        return None
    key = o.get("identifier")
    if key is None:
        values = [o["send"].get(k) for k in parts.outgoing.keys]
        if values and all(v is not None for v in values):
            key = "|".join(str(v) for v in values)[:1000]
    return None if key is None else str(key)


def _outcome(parts: route_parts.RouteParts, ctx: AttemptContext, entity: Any,
             ) -> dict[str, Any]:
    """What the route's transformers make of one entity: ``send`` (what would be sent; a
    list for an entity split into several), ``skipped`` or ``failed`` with the reason."""
    base = {"identifier": _identifier_of(parts, entity), "entity": entity}
    try:
        got = parts.transform(entity)
    except SluicewayError as exc:
        return {**base, "outcome": "failed", "reason": ctx.redact(exc.message)}
    except Exception as exc:  # noqa: BLE001 - a test reports every failure of the system
        return {**base, "outcome": "failed",
                "reason": ctx.redact(f"{type(exc).__name__}: {exc}")}
    if isinstance(got, entities.Skipped):
        return {**base, "outcome": "skipped", "reason": got.reason}
    if isinstance(got, entities.Failed):
        return {**base, "outcome": "failed", "reason": got.reason}
    if isinstance(got, entities.Split):
        items = [{"item": key, **({"outcome": "skipped", "reason": v.reason}
                                  if isinstance(v, entities.Skipped) else
                                  {"outcome": "failed", "reason": v.reason}
                                  if isinstance(v, entities.Failed) else
                                  {"outcome": "send", "send": v})}
                 for key, v in got.items]
        return {**base, "outcome": "send", "send": [i["send"] for i in items
                                                    if i["outcome"] == "send"],
                "items": items}
    return {**base, "outcome": "send", "send": got}


def _try_storage(p: Platform, caller: Caller, workspace_id: str, identifier: str | None,
                 shown: dict[str, Any]) -> Trial:
    """Its live and expired entities, their size, and its first entities."""
    counts = {"entities": 0, "expired": 0, "sizeInBytes": 0}
    first: list[dict[str, Any]] = []
    if identifier is not None:
        at = now()
        with p.db.session() as s:
            mine = (StorageEntity.workspace_id == workspace_id,
                    StorageEntity.storage == identifier)
            live = StorageEntity.expires_at.is_(None) | (StorageEntity.expires_at > at)
            n, size = s.execute(select(func.count(), func.coalesce(func.sum(
                StorageEntity.size), 0)).where(*mine, live)).one()
            expired = s.scalar(select(func.count()).where(*mine, ~live))
        counts = {"entities": int(n), "expired": int(expired or 0), "sizeInBytes": int(size)}
        page = storages.list_entities(p, caller, workspace_id, identifier,
                                      criteria.Criteria(limit=SAMPLE))
        first = [{"identifier": e.identifier, "value": e.value} for e in page.entities]
    return Trial("storage", shown, {**counts, "first": first}, "storage")


def _try_client(p: Platform, caller: Caller, workspace_id: str, parameters: dict[str, Any],
                shown: dict[str, Any]) -> Trial:
    """One GET of the client's testPath (else its base URL), sent once."""
    ctx = AttemptContext(p.settings, p.db, job_id=0, attempt_id=0)
    proto = prototypes.get_prototype("http-client", "http-client")
    try:
        with p.db.session() as s:
            plain = _plain(s, p, caller, workspace_id, proto, parameters)
        auth = dict(plain.get("auth") or {})
        ctx.add_secrets([str(auth[k]) for k in ("password", "token", "key", "clientSecret")
                         if auth.get(k)])
        tokens = None
        if auth.get("type") == "oauth2-token":
            tokens = VariableTokens(ctx, workspace_id, str(auth.get("variable")),
                                    "configuration-test",
                                    [str(plain.get("baseUrl"))] + (
                                        [str(auth["tokenUrl"])] if auth.get("tokenUrl")
                                        else []))
        with HttpClient({**plain, "retries": {"maxAttempts": 0}}, tokens=tokens) as http:
            url = http.url(plain.get("testPath"))
            started = time.monotonic()
            r = http.request("GET", url)
            took = round((time.monotonic() - started) * 1000, 1)
            shown_url = http.shown(url)
    except Forbidden:
        raise
    except Exception as exc:  # noqa: BLE001 - a test reports every failure of the system
        message = exc.message if isinstance(exc, SluicewayError) else (
            f"{type(exc).__name__}: {exc}")
        return Trial("http-client", shown, None, "http-client", error=ctx.redact(message))
    ok = r.status_code < 400
    return Trial("http-client", shown, {
        "ok": ok, "url": shown_url, "status": r.status_code, "milliseconds": took,
        "contentType": r.headers.get("content-type"), "bytes": len(r.content)},
        "http-client", error=None if ok else f"GET {shown_url} answered {r.status_code}")


# --- validation of stored configurations (#54-55) ---------------------------------------

@dataclass(frozen=True)
class Invalid:
    """A stored configuration that its prototype no longer accepts, and why."""

    type: str
    identifier: str
    error: str
    violations: tuple[FieldError, ...]


def validate_stored(p: Platform, caller: Caller, workspace_id: str,
                    type_: str | None = None) -> list[Invalid]:
    """Check every stored configuration (of ``type_``) against its prototype as it is now;
    the ones that fail, with their violations."""
    policy.require(caller, policy.READ, workspace_id)
    if type_ is not None:
        prototypes.get_type(type_)
    out = []
    with p.db.session() as s:
        q = configurations.base_query(workspace_id, type_)
        rows = list(s.scalars(q.order_by(Configuration.type, Configuration.identifier)))
    for c in rows:
        obj = {"prototype": c.object.get("prototype"),
               "parameters": unseal(dict(c.object.get("parameters") or {}), p.cipher)}
        try:
            prototypes.validate(c.type, obj)
        except InvalidInput as exc:
            out.append(Invalid(c.type, c.identifier, exc.message.split(":")[0],
                               tuple(exc.errors)))
    return out

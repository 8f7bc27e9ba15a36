"""Validating and testing configurations: stored ones checked against their prototypes as
they are now (#54-55); and (#65-66) a transformer, saved or not, run on an entity, or on the
``transformer-test`` configurations it owns; an incoming reads its first entities (at most
:data:`SAMPLE`, a first page of an HTTP API) and an outgoing checks its connection without
writing anything.

The transformer runs with its secrets unsealed and its ``${NAME}`` variables resolved (an
encrypted variable without allowed targets only for administrators, as everywhere); a chain
finds its transformers among the space's configurations (a chain that reaches itself is
refused). Other types (routes, storages, scheduler entries, http-clients, tests) cannot be
tested: :class:`NotTestable` (501 on the API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluiceway.artifacts.formats import json_safe
from sluiceway.connectors.base import EntitySource
from sluiceway.core.errors import (
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    SluicewayError,
    UnknownStream,
)
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds import route_parts
from sluiceway.jobs.kinds.actors import space_variables, with_variables
from sluiceway.protocol.messages import RecordBatch
from sluiceway.secrets import unseal
from sluiceway.secrets import variables as refs
from sluiceway.services import configuration_relations, configurations, criteria, policy, prototypes
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Configuration
from sluiceway.transforms import entities


class NotTestable(SluicewayError):
    """A type Sluiceway cannot test yet."""


@dataclass(frozen=True)
class CaseResult:
    identifier: str
    name: str
    passed: bool
    got: Any = None
    reason: str | None = None


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
        return entities.compile_transformer(proto.identifier, parameters, lookup)
    return compile_


def _run(run: entities.Transformer, entity: Any) -> tuple[Any, str | None, str | None]:
    try:
        got = run(entity)
    except InvalidInput as exc:
        return None, None, exc.message
    if isinstance(got, entities.Skipped):
        return None, got.reason, None
    return got, None, None


#: entities an incoming's test reads at most
SAMPLE = 5
_ENDS = {"incoming-configuration": "source", "outgoing-configuration": "destination"}


def _require_transformer(type_: str) -> None:
    prototypes.get_type(type_)
    if type_ not in ("transformer", *_ENDS):
        raise NotTestable(f"testing a {type_} is not built yet; transformers, incomings "
                          "and outgoings can be tested")


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
                 entity: Any) -> Trial:
    """Run a transformer that is not saved on ``entity``."""
    policy.require(caller, policy.CHANGE, workspace_id)
    _require_transformer(type_)
    proto, checked = prototypes.validate(type_, obj)
    shown = {"prototype": proto.identifier,
             "parameters": configurations.masked(proto, checked["parameters"])}
    if type_ in _ENDS:
        return _try_end(p, caller, workspace_id, type_, "unsaved", dict(checked), shown)
    with p.db.session() as s:
        run = _compiler(s, p, caller, workspace_id)(checked, ())
        got, skipped, error = _run(run, entity)
    return Trial(type_, shown, got, "transformer", skipped, error)


def run_stored(p: Platform, caller: Caller, workspace_id: str, type_: str, identifier: str,
                entity: Any = None, *, given: bool = False) -> Trial:
    """Run a saved transformer on ``entity`` (when ``given``), else on each of the
    ``transformer-test`` configurations it owns."""
    policy.require(caller, policy.CHANGE, workspace_id)
    _require_transformer(type_)
    view = configurations.get(p, caller, workspace_id, type_, identifier)
    if type_ in _ENDS:
        with p.db.session() as s:
            c = configurations.find(s, workspace_id, type_, identifier)
            obj = {"prototype": c.object.get("prototype") or c.prototype,
                   "parameters": dict(c.object.get("parameters") or {})}
        return _try_end(p, caller, workspace_id, type_, identifier, obj, view.object)
    with p.db.session() as s:
        c = configurations.find(s, workspace_id, type_, identifier)
        run = _compiler(s, p, caller, workspace_id)(dict(c.object), (identifier,))
        if given:
            got, skipped, error = _run(run, entity)
            return Trial(type_, view.object, got, "transformer", skipped, error)
    tests, _ = configuration_relations.list_relations(
        p, caller, workspace_id, "transformer-test", identifier,
        criteria.Criteria(limit=criteria.MAX_LIMIT))
    if not tests:
        raise NotFound(f"transformer {identifier} owns no transformer-test; post an entity "
                       "or add tests as its relations", identifier)
    cases = []
    for t in tests:
        case = t.object.get("parameters") or {}
        got, skipped, error = _run(run, case.get("entity"))
        if error is not None:
            cases.append(CaseResult(t.identifier, t.name, False, None, error))
        elif "skipped" in case:
            ok = skipped == case["skipped"]
            cases.append(CaseResult(t.identifier, t.name, ok, {"skipped": skipped},
                                    None if ok else f"expected skipped ({case['skipped']})"))
        else:
            ok = skipped is None and got == case.get("expected")
            cases.append(CaseResult(t.identifier, t.name, ok, got if skipped is None else
                                    {"skipped": skipped},
                                    None if ok else f"expected {case.get('expected')!r}"))
    return Trial(type_, view.object, None, "transformer", cases=tuple(cases))


def steps_of(s: Session, p: Platform, caller: Caller, workspace_id: str,
             identifier: str) -> list[tuple[str, entities.Transformer]]:
    """The saved transformer ``identifier`` as steps to run one after another: the
    transformers of a chain, each on its own, else the transformer itself."""
    c = configurations.find(s, workspace_id, "transformer", identifier)
    compile_ = _compiler(s, p, caller, workspace_id)
    obj = dict(c.object)
    if obj.get("prototype") != "chain":
        return [(identifier, compile_(obj, (identifier,)))]
    names = [str(n) for n in dict(obj.get("parameters") or {}).get("transformers") or ()]
    return [(n, compile_(dict(configurations.find(s, workspace_id, "transformer", n).object),
                         (identifier, n))) for n in names]


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

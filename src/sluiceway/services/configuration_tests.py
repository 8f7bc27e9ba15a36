"""Validating and testing configurations: stored ones checked against their prototypes as
they are now (#54-55); and (#65-66) a transformer, saved or not, run on an entity, or on the
``transformer-test`` configurations it owns.

The transformer runs with its secrets unsealed and its ``${NAME}`` variables resolved (an
encrypted variable without allowed targets only for administrators, as everywhere); a chain
finds its transformers among the space's configurations (a chain that reaches itself is
refused). Other types cannot be tested yet: :class:`NotTestable` (501 on the API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError, Forbidden, InvalidInput, NotFound, SluicewayError
from sluiceway.jobs.kinds.actors import space_variables, with_variables
from sluiceway.jobs.kinds.route_parts import storage_reader
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


def _require_transformer(type_: str) -> None:
    prototypes.get_type(type_)
    if type_ != "transformer":
        raise NotTestable(f"testing a {type_} is not built yet; transformers can be tested")


def run_unsaved(p: Platform, caller: Caller, workspace_id: str, type_: str, obj: Any,
                 entity: Any) -> Trial:
    """Run a transformer that is not saved on ``entity``."""
    policy.require(caller, policy.CHANGE, workspace_id)
    _require_transformer(type_)
    proto, checked = prototypes.validate(type_, obj)
    shown = {"prototype": proto.identifier,
             "parameters": configurations.masked(proto, checked["parameters"])}
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

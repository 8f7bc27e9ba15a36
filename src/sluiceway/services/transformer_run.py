"""Running a saved transformer on a posted entity, step by step (#145): the debugger of the
platform API. A chain runs its transformers one after another; with breakpoints, the entity
after each step is returned; ``stop_at`` ends the run after the step it names (an identifier
or a position counted from 0). A route's transformers run the same way, one chain. After a
``split`` the steps run on each entity it made, and each step's entity is the list of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.services import configuration_tests, configurations, policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.transforms import entities

ROUTE_TYPE = "route-configuration"
#: the types whose transformers run on a sample entity
RUNNABLE = ("transformer", ROUTE_TYPE)


@dataclass(frozen=True)
class Step:
    transformer: str
    entity: Any
    skipped: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class RunResult:
    #: the resulting entities (none when a step skipped the entity or failed)
    entities: list[Any]
    steps: list[Step]


def run(p: Platform, caller: Caller, workspace_id: str, identifier: str, entity: Any,
        stop_at: str | None = None) -> RunResult:
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.session() as s:
        steps = configuration_tests.steps_of(s, p, caller, workspace_id, identifier)
    return _run(steps, entity, stop_at)


def run_route(p: Platform, caller: Caller, workspace_id: str, identifier: str, entity: Any,
              stop_at: str | None = None) -> RunResult:
    """The saved route ``identifier``'s transformers run on ``entity`` as one chain (a
    chain among them counts each of its transformers as a step)."""
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.session() as s:
        route = configurations.find(s, workspace_id, ROUTE_TYPE, identifier)
        names = dict(dict(route.object).get("parameters") or {}).get("transformers") or []
        steps = [step for name in names for step in configuration_tests.steps_of(
            s, p, caller, workspace_id, str(name))]
    return _run(steps, entity, stop_at)


def run_edited(p: Platform, caller: Caller, workspace_id: str, type_: str, identifier: str,
               obj: Any, entity: Any, stop_at: str | None = None) -> RunResult:
    """The saved transformer or route ``identifier`` as edited but not saved: ``obj``
    (``{prototype, parameters}``, a secret sent as the mask keeps the stored one) is checked
    against its prototype (an :class:`InvalidInput` at ``object.parameters.<path>``), then
    its steps run on ``entity`` as :func:`run` and :func:`run_route` run the saved ones.
    Nothing is written: no revision, no audit entry."""
    policy.require(caller, policy.CHANGE, workspace_id)
    if type_ not in RUNNABLE:
        raise InvalidInput("nothing to run", [FieldError(
            "type", "only transformers and routes run on a sample entity", type_)])
    with p.db.session() as s:
        stored = configurations.find(s, workspace_id, type_, identifier)
        _, checked = configurations.checked_object(type_, obj, dict(stored.object), p)
        chain = type_ == ROUTE_TYPE or checked.get("prototype") == "chain"
        names = [str(n) for n in dict(checked.get("parameters") or {}).get(
            "transformers") or ()] if chain else []
        found: dict[str, dict[str, Any]] = {}
        for i, name in enumerate(names):
            try:
                found[name] = dict(configurations.find(s, workspace_id, "transformer",
                                                       name).object)
            except NotFound:
                raise InvalidInput("unknown transformer", [FieldError(
                    f"object.parameters.transformers.{i}",
                    f"names no transformer of this space: {name}", name)]) from None
        if type_ == ROUTE_TYPE:
            steps = [step for name in names for step in configuration_tests.steps_of_object(
                s, p, caller, workspace_id, name, found[name])]
        else:
            steps = configuration_tests.steps_of_object(s, p, caller, workspace_id,
                                                        identifier, checked)
    return _run(steps, entity, stop_at)


def step_names(p: Platform, caller: Caller, workspace_id: str, type_: str, identifier: str,
               obj: dict[str, Any]) -> list[str]:
    """The steps :func:`run_edited` would run for ``obj``, by name, in order (a chain among
    a route's transformers counts each of its own); nothing is compiled."""
    policy.require(caller, policy.READ, workspace_id)
    if type_ not in RUNNABLE:
        return []
    names = dict(obj.get("parameters") or {}).get("transformers")
    if type_ == "transformer" and obj.get("prototype") != "chain":
        return [identifier]
    if type_ == "transformer" or not isinstance(names, list):
        return [str(n) for n in names or ()]
    out: list[str] = []
    with p.db.session() as s:
        for name in names:
            try:
                found = dict(configurations.find(s, workspace_id, "transformer",
                                                 str(name)).object)
            except NotFound:
                out.append(str(name))
                continue
            inner = dict(found.get("parameters") or {}).get("transformers")
            out += ([str(n) for n in inner] if found.get("prototype") == "chain"
                    and isinstance(inner, list) else [str(name)])
    return out


def _run(steps: list[tuple[str, entities.Transformer]], entity: Any,
         stop_at: str | None) -> RunResult:
    names = [n for n, _ in steps]
    last = len(steps) - 1
    if stop_at is not None:
        if stop_at in names:
            last = names.index(stop_at)
        elif stop_at.isdigit() and int(stop_at) < len(steps):
            last = int(stop_at)
        else:
            raise InvalidInput("unknown step", [FieldError(
                "stop-exec-at", "names no step of this transformer; its steps: "
                + ", ".join(names), stop_at)])
    done: list[Step] = []
    current: list[Any] = [entity]
    many = False
    for name, step in steps[:last + 1]:
        made: list[Any] = []
        reasons: list[str] = []
        for one in current:
            try:
                got = step(one)
            except InvalidInput as exc:
                done.append(Step(name, None, error=str(exc)))
                return RunResult([], done)
            if isinstance(got, entities.Skipped):
                reasons.append(got.reason)
            elif isinstance(got, entities.Split):
                many = True
                made.extend(got.entities)
                reasons.extend(v.reason for _, v in got.items
                               if isinstance(v, entities.Skipped | entities.Failed))
            else:
                made.append(got)
        if not made:
            done.append(Step(name, None, skipped=reasons[0] if reasons else "no entities"))
            return RunResult([], done)
        done.append(Step(name, made if many else made[0]))
        current = made
    return RunResult(current, done)

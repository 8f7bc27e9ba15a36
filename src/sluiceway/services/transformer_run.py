"""Running a saved transformer on a posted entity, step by step (#145): the debugger of the
platform API. A chain runs its transformers one after another; with breakpoints, the entity
after each step is returned; ``stop_at`` ends the run after the step it names (an identifier
or a position counted from 0). A route's transformers run the same way, one chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import configuration_tests, configurations, policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.transforms import entities

ROUTE_TYPE = "route-configuration"


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
    current = entity
    for name, step in steps[:last + 1]:
        try:
            got = step(current)
        except InvalidInput as exc:
            done.append(Step(name, None, error=str(exc)))
            return RunResult([], done)
        if isinstance(got, entities.Skipped):
            done.append(Step(name, None, skipped=got.reason))
            return RunResult([], done)
        done.append(Step(name, got))
        current = got
    return RunResult([current], done)

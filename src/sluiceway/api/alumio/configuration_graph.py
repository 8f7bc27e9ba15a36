"""The dependency graph (#37-40), the validation reports (#54-55) and tests (#65-66) of
configurations. A test runs a transformer (saved or not) on a posted ``entity``, or a saved
one on the ``transformer-test`` configurations it owns; reads an incoming's first entities;
checks an outgoing's connection; runs a route's transformers on its incoming's first
entities (or the posted ``entity``, one or a list) without writing; counts and reads a
storage; previews a scheduler entry's next times and targets; makes one GET through an
http-client; runs a ``transformer-test`` (saved, or posted with its ``owner``) with the
transformer it belongs to, and reports it as a transformer's test reports the tests it owns
(passed, the result, the differences from what was expected)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.api.errors import Problem, respond
from sluiceway.services import configuration_graph as graph
from sluiceway.services import configuration_tests as trials
from sluiceway.services import configurations, criteria, spaces

router = APIRouter()
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
Direction = Annotated[Literal["down", "up", "both", "recursive"], Query()]
TypeParam = Annotated[str | None, Query(description="Only configurations of this type")]


class ObjectRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Annotated[str, Field(min_length=1, max_length=255)]
    identifier: Annotated[str, Field(min_length=1, max_length=255)]


class Objects(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objects: Annotated[list[ObjectRef], Field(min_length=1, max_length=1000)]


def _ws(p: PlatformDep, caller: CallerDep, space: str | None) -> str:
    return spaces.current(p, caller, space).id


def _nodes(nodes: list[graph.Node]) -> dict[str, Any]:
    return {"nodes": [{"type": n.type, "identifier": n.identifier, "name": n.name,
                       "relationships": [{"relation": e.relation,
                                          "node": {"identifier": e.identifier, "type": e.type},
                                          "paths": list(e.paths)} for e in n.relationships]}
                      for n in nodes]}


@router.get("/di/configurations/{type}/{identifier}/usages")
def usages(type: str, identifier: str, p: PlatformDep, caller: CallerDep,  # noqa: A002
           space: SpaceParam = None) -> dict[str, Any]:
    found = graph.usages(p, caller, _ws(p, caller, space), type, identifier)
    return {"usages": [{"propertyPath": u.path, "type": u.type, "specification": {
        "type": u.type, "identifier": u.identifier, "name": u.name}} for u in found]}


@router.post("/di/resolve")
def resolve_many(body: Objects, p: PlatformDep, caller: CallerDep,
                 direction: Direction = "both", space: SpaceParam = None) -> dict[str, Any]:
    keys = [(o.type, o.identifier) for o in body.objects]
    return _nodes(graph.resolve(p, caller, _ws(p, caller, space), keys, direction))


@router.get("/di/resolve/{type}/{identifier}")
def resolve_one(type: str, identifier: str, p: PlatformDep, caller: CallerDep,  # noqa: A002
                direction: Direction = "both", space: SpaceParam = None) -> dict[str, Any]:
    return _nodes(graph.resolve(p, caller, _ws(p, caller, space), [(type, identifier)],
                                direction))


@router.get("/di/dependants")
def dependants(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
               space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(filter, configurations.COLUMNS)
    found = graph.dependants(p, caller, _ws(p, caller, space), c)
    return {"dependants": [{"type": t, "identifier": i, "usages": [
        {"propertyPath": d.path, "type": d.type, "specification": {
            "type": d.type, "identifier": d.identifier, "name": d.name}} for d in ds]}
        for (t, i), ds in found]}


def _report(found: list[trials.Invalid]) -> dict[str, Any]:
    return {"results": [{"type": x.type, "identifier": x.identifier, "error": x.error,
                         "violations": [{"propertyPath": v.path, "title": v.reason,
                                         "titleTemplate": v.reason, "parameters": {},
                                         "type": "invalid"} for v in x.violations]}
                        for x in found]}


@router.get("/di/validate")
def validate(p: PlatformDep, caller: CallerDep, type: TypeParam = None,  # noqa: A002
             space: SpaceParam = None) -> dict[str, Any]:
    """The stored configurations their prototype refuses (none: every one is valid)."""
    return _report(trials.validate_stored(p, caller, _ws(p, caller, space), type))


@router.get("/di/validate/registered", responses={400: {"description": "Some are invalid"}})
def validate_registered(p: PlatformDep, caller: CallerDep, type: TypeParam = None,  # noqa: A002
                        space: SpaceParam = None) -> JSONResponse:
    """As ``/di/validate`` (Sluiceway registers no configurations of its own), 400 when any
    is invalid."""
    found = trials.validate_stored(p, caller, _ws(p, caller, space), type)
    return JSONResponse(status_code=400 if found else 200, content=_report(found))


class UnsavedTest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: the configuration's ``{prototype, parameters}``
    object: dict[str, Any]
    entity: Any = None
    #: a ``transformer-test``'s transformer (the owner it would be saved under)
    owner: Annotated[str | None, Field(min_length=1, max_length=255)] = None


class StoredTest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity: Any = None


def _run_json(r: trials.Trial) -> dict[str, Any]:
    response: dict[str, Any] = {}
    if r.skipped is not None:
        response["skipped"] = r.skipped
    if r.error is not None:
        response["error"] = r.error
    if r.counts is not None:
        response["counts"] = r.counts
    if r.cases:
        response["tests"] = [{"identifier": c.identifier, "name": c.name, "passed": c.passed,
                              "result": c.got, "reason": c.reason,
                              "differences": [{"path": d.path, "change": d.change,
                                               "expected": d.expected, "actual": d.actual}
                                              for d in c.differences]} for c in r.cases]
        response["passed"] = all(c.passed for c in r.cases)
    return {"type": r.type, "specification": r.specification, "object": r.object,
            "tester": r.tester, "response": response}


_NOT_TESTABLE: dict[int | str, dict[str, Any]] = {
    501: {"description": "this type cannot be tested yet"}}


@router.post("/di/test/{type}", responses=_NOT_TESTABLE, response_model=None)
def try_unsaved(type: str, body: UnsavedTest, request: Request, p: PlatformDep,  # noqa: A002
                 caller: CallerDep, space: SpaceParam = None) -> dict[str, Any] | Response:
    try:
        run = trials.run_unsaved(p, caller, _ws(p, caller, space), type, body.object,
                                 body.entity, body.owner)
    except trials.NotTestable as exc:
        return respond(request, Problem(501, exc.message, "NotImplemented"))
    return _run_json(run)


@router.post("/di/test/{type}/{identifier}", responses=_NOT_TESTABLE, response_model=None)
def try_stored(type: str, identifier: str, request: Request, p: PlatformDep,  # noqa: A002
                caller: CallerDep, body: StoredTest | None = None,
                space: SpaceParam = None) -> dict[str, Any] | Response:
    given = body is not None and "entity" in body.model_fields_set
    try:
        run = trials.run_stored(p, caller, _ws(p, caller, space), type, identifier,
                                body.entity if body else None, given=given)
    except trials.NotTestable as exc:
        return respond(request, Problem(501, exc.message, "NotImplemented"))
    return _run_json(run)

"""Types and prototypes (#67-72) and the prototypes' test cases (#41): Sluiceway's catalogue
of what a configuration may be, each prototype with its JSON Schema and documentation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import configurations, criteria, prototypes, spaces

router = APIRouter()
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
PROTOTYPE_COLUMNS = {name: criteria.Column(None, criteria.as_text)
                     for name in ("identifier", "name", "description")}
PLATFORM_COLUMNS = {name: criteria.Column(None, criteria.as_text)
                    for name in ("identifier", "name", "vendor")}


def _case(case: prototypes.TestCase) -> dict[str, Any]:
    out: dict[str, Any] = {"name": case.name, "parameters": case.parameters}
    if case.entity is not None:
        out["entity"] = case.entity
    if case.expected is not None or case.skipped is not None:
        out["expected"] = case.expected if case.skipped is None else {"skipped": case.skipped}
    return out


def prototype_json(p: prototypes.Prototype) -> dict[str, Any]:
    return {"identifier": p.identifier, "name": p.name, "description": p.description,
            "schema": p.schema, "test": [_case(c) for c in p.tests], "context": {},
            "$defs": {}}


def _default(t: prototypes.Type) -> dict[str, Any]:
    return {"type": t.identifier, "schema": t.default_schema, "description": t.description,
            "context": {"defaultPrototype": t.default_prototype}, "test": [], "$defs": {}}


def _prototypes(t: prototypes.Type, filter: str | None) -> list[dict[str, Any]]:  # noqa: A002
    c = criteria.parse(filter, PROTOTYPE_COLUMNS)
    found, _ = criteria.select_from(
        list(t.prototypes), lambda p: {"identifier": p.identifier, "name": p.name,
                                       "description": p.description},
        criteria.Criteria(c.where, c.order, criteria.MAX_LIMIT, c.skip))
    return [prototype_json(p) for p in found]


def _configurations(p: PlatformDep, caller: CallerDep, t: prototypes.Type,
                    filter: str | None, space: str | None) -> list[dict[str, Any]]:  # noqa: A002
    c = criteria.parse(filter, configurations.COLUMNS)
    ws = spaces.current(p, caller, space).id
    views, _ = configurations.list_configurations(p, caller, ws, c, t.identifier)
    return [{"identifier": v.identifier, "name": v.name, "description": v.description,
             "disabled": v.disabled, "context": v.context or {}, "$defs": {}} for v in views]


@router.get("/di/types/{type}")
def get_type(type: str, p: PlatformDep, caller: CallerDep,  # noqa: A002
             filter: FilterParam = None, space: SpaceParam = None,  # noqa: A002
             ) -> dict[str, Any]:
    t = prototypes.get_type(type)
    return {"type": t.identifier, "configurations": _configurations(p, caller, t, filter, space),
            "prototypes": [prototype_json(x) for x in t.prototypes],
            "defaultPrototype": _default(t)}


@router.get("/di/types/{type}/configurations")
def type_configurations(type: str, p: PlatformDep, caller: CallerDep,  # noqa: A002
                        filter: FilterParam = None, space: SpaceParam = None,  # noqa: A002
                        ) -> dict[str, Any]:
    t = prototypes.get_type(type)
    return {"type": t.identifier, "configurations": _configurations(p, caller, t, filter, space),
            "prototypes": [], "defaultPrototype": _default(t)}


@router.get("/di/types/{type}/prototypes")
def type_prototypes(type: str, _: CallerDep, filter: FilterParam = None,  # noqa: A002
                    ) -> dict[str, Any]:
    t = prototypes.get_type(type)
    return {"type": t.identifier, "configurations": [],
            "prototypes": _prototypes(t, filter), "defaultPrototype": _default(t)}


@router.get("/di/prototypes/tests", responses={500: {"description": "A test case failed"}})
def prototype_tests(_: CallerDep, type: Annotated[str, Query()] = "*",  # noqa: A002
                    identifier: Annotated[str, Query()] = "*",
                    show_succeeded: Annotated[bool, Query(alias="show-succeeded")] = False,
                    max_tests: Annotated[int, Query(alias="max-tests", ge=-1)] = 3,
                    ) -> JSONResponse:
    """Run the test cases of the matching prototypes; 500 when any fails (as the contract
    has it). ``max-tests`` caps the cases run per prototype (-1: all)."""
    outcomes = prototypes.run_tests(type, identifier, None if max_tests < 0 else max_tests)
    ok = [o for o in outcomes if o.exception is None]
    failed = [o for o in outcomes if o.exception is not None]
    body = {"succeeded": [{"type": o.type, "identifier": o.identifier, "name": o.name,
                           "object": o.object, "parameters": o.parameters} for o in ok]
            if show_succeeded else [],
            "failed": [{"type": o.type, "identifier": o.identifier, "name": o.name,
                        "exception": o.exception, "parameters": o.parameters} for o in failed],
            "totalSucceeded": len(ok), "totalFailed": len(failed)}
    return JSONResponse(status_code=500 if failed else 200, content=body)


@router.get("/di/prototypes/{type}/documentation")
def default_documentation(type: str, _: CallerDep) -> dict[str, Any]:  # noqa: A002
    t = prototypes.get_type(type)
    if t.default_prototype is None:
        return {"documentation": f"# {t.name} (`{t.identifier}`)\n\n{t.description}\n\n"
                + "Prototypes: " + ", ".join(f"`{x.identifier}`" for x in t.prototypes) + "\n"}
    return {"documentation": prototypes.get_prototype(t.identifier,
                                                      t.default_prototype).documentation}


@router.get("/di/prototypes/{type}/{identifier}/documentation")
def documentation(type: str, identifier: str, _: CallerDep) -> dict[str, Any]:  # noqa: A002
    return {"documentation": prototypes.get_prototype(type, identifier).documentation}


@router.get("/platforms")
def platforms(_: CallerDep, filter: FilterParam = None) -> dict[str, Any]:  # noqa: A002
    c = criteria.parse(filter, PLATFORM_COLUMNS)
    found, total = criteria.select_from(
        prototypes.platforms(), lambda x: {"identifier": x.identifier, "name": x.name,
                                           "vendor": x.vendor}, c)
    return {"metadata": {"totalCount": total}, "results": [
        {"identifier": x.identifier, "name": x.name, "categories": list(x.categories),
         "vendor": x.vendor, "editions": {}, "extensions": {},
         "apis": {"incoming": x.incoming, "outgoing": x.outgoing}} for x in found]}

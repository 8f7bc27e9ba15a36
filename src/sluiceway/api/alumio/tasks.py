"""Tasks (#134-144) and their statistics per route (#111): thin routers over
:mod:`sluiceway.services.tasks`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.alumio.render import RowId, body_filter, iso, listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import criteria, spaces
from sluiceway.services import listing as listing_values
from sluiceway.services import tasks as service

router = APIRouter()
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]


def _ws(p: PlatformDep, caller: CallerDep, space: str | None) -> str:
    return spaces.current(p, caller, space).id


def _time(text: str | None, name: str) -> float | None:
    if text is None:
        return None
    try:
        return listing_values.as_time(text)
    except (ValueError, OverflowError):
        raise InvalidInput("invalid time", [FieldError(
            name, "must be an ISO-8601 time or epoch seconds", text)]) from None


def task_json(v: service.TaskView) -> dict[str, Any]:
    return {"identifier": v.identifier, "entityType": v.entity_type,
            "entityData": v.entity, "entityIdentifier": v.entity_identifier,
            "status": v.status, "route": v.route, "attempts": v.attempts,
            "createdAt": iso(v.created_at), "updatedAt": iso(v.updated_at)}


@router.get("/tasks")
def list_tasks(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
               space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(filter, service.COLUMNS)
    views, total = service.list_tasks(p, caller, _ws(p, caller, space), c)
    return listing([task_json(v) for v in views], total)


@router.get("/tasks/{identifier}")
def get_task(identifier: RowId, p: PlatformDep, caller: CallerDep,
             space: SpaceParam = None) -> dict[str, Any]:
    d = service.get_task(p, caller, _ws(p, caller, space), identifier)
    log = [{"level": m.get("level"), "message": m.get("message"), "createdAt": iso(m.get("at"))}
           for m in d.task.log]
    return {"object": {**task_json(d.task), "error": d.task.error, "logs": log,
                       "context": {"route": d.route, "incoming": d.incoming,
                                   "outgoing": d.outgoing, "httpProxy": None},
                       "meta": {"attempts": d.task.attempts}}}


@router.get("/tasks/{identifier}/entity_data")
def entity_data(identifier: RowId, p: PlatformDep, caller: CallerDep,
                space: SpaceParam = None) -> dict[str, Any]:
    return {"data": service.entity_data(p, caller, _ws(p, caller, space), identifier)}


async def _set(request: Request, p: PlatformDep, caller: CallerDep, space: str | None,
               status: str, only: tuple[str, ...] | None = None) -> dict[str, Any]:
    c = criteria.parse(await body_filter(request), service.COLUMNS)
    n = service.set_status(p, caller, _ws(p, caller, space), c, status, only=only)
    return {"newStatus": status, "numberOfTasks": n}


@router.post("/tasks/retry")
async def retry(request: Request, p: PlatformDep, caller: CallerDep,
                space: SpaceParam = None) -> dict[str, Any]:
    return await _set(request, p, caller, space, "retry")


@router.post("/tasks/skip")
async def skip(request: Request, p: PlatformDep, caller: CallerDep,
               space: SpaceParam = None) -> dict[str, Any]:
    return await _set(request, p, caller, space, "skipped")


@router.post("/tasks/resolve")
async def resolve(request: Request, p: PlatformDep, caller: CallerDep,
                  space: SpaceParam = None) -> dict[str, Any]:
    return await _set(request, p, caller, space, "resolved")


@router.post("/tasks/waiting/finish")
async def waiting_finish(request: Request, p: PlatformDep, caller: CallerDep,
                         space: SpaceParam = None) -> dict[str, Any]:
    return await _set(request, p, caller, space, "finished", ("waiting",))


@router.post("/tasks/waiting/fail")
async def waiting_fail(request: Request, p: PlatformDep, caller: CallerDep,
                       space: SpaceParam = None) -> dict[str, Any]:
    return await _set(request, p, caller, space, "failed", ("waiting",))


@router.post("/tasks/delete")
async def delete_tasks(request: Request, p: PlatformDep, caller: CallerDep,
                       space: SpaceParam = None) -> dict[str, Any]:
    """Delete the tasks a filter selects (an extension)."""
    c = criteria.parse(await body_filter(request), service.COLUMNS)
    return {"deleted": service.delete_tasks(p, caller, _ws(p, caller, space), c)}


@router.post("/tasks/prune")
def prune(p: PlatformDep, caller: CallerDep,
          maxAge: Annotated[str, Query(max_length=100)],  # noqa: N803
          maxCount: Annotated[int, Query(ge=0)],  # noqa: N803
          filter: FilterParam = None, space: SpaceParam = None,  # noqa: A002
          ) -> dict[str, Any]:
    c = criteria.parse(filter, service.COLUMNS)
    expired, excess = service.prune(p, caller, _ws(p, caller, space), maxAge, maxCount, c)
    return {"expired": expired, "excess": excess}


@router.post("/tasks/repair")
def repair(p: PlatformDep, caller: CallerDep,
           age: Annotated[str, Query(max_length=100)] = "1 hour",
           newStatus: Annotated[str, Query(max_length=20)] = "new",  # noqa: N803
           filter: FilterParam = None, space: SpaceParam = None,  # noqa: A002
           ) -> dict[str, Any]:
    c = criteria.parse(filter, service.COLUMNS)
    n = service.repair(p, caller, _ws(p, caller, space), age, newStatus, c)
    return {"count": n, "newStatus": newStatus}


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Annotated[str, Field(min_length=1, max_length=20)]
    message: Annotated[str, Field(max_length=64000)]


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifiers: Annotated[list[Annotated[int, Field(ge=1, le=2**63 - 1)]],
                           Field(min_length=1, max_length=1000)]
    status: Literal["finished", "failed"]
    messages: Annotated[list[Message], Field(max_length=100)] = []


class Transitions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tasks: Annotated[list[Transition], Field(min_length=1, max_length=1000)]


@router.post("/tasks/waiting/transition")
def transition(body: Transitions, p: PlatformDep, caller: CallerDep,
               space: SpaceParam = None) -> dict[str, Any]:
    count, updated = service.transition(
        p, caller, _ws(p, caller, space),
        [(t.identifiers, t.status, [(m.level, m.message) for m in t.messages])
         for t in body.tasks])
    return {"numberOfTasks": count, "updatedTasks": updated}


@router.get("/statistics/routes")
def route_statistics(p: PlatformDep, caller: CallerDep,
                     from_: Annotated[str | None, Query(alias="from")] = None,
                     to: str | None = None, route: str | None = None,
                     space: SpaceParam = None) -> dict[str, Any]:
    since = _time(from_, "from")
    until = _time(to, "to")
    found = service.statistics(p, caller, _ws(p, caller, space), since, until, route)
    return listing([{"identifier": r.identifier, "name": r.name, "stats": r.stats}
                    for r in found], len(found))

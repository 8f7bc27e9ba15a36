"""Routes (#109, #112), the queue and its processes (#100-108), the legacy runs (#96-99,
aliases of a queue publish) and the transformer debugger (#145)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.alumio.render import RowId, body_filter, iso, listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import configurations, criteria, spaces, transformer_run
from sluiceway.services import routes as service

router = APIRouter()
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]


def _ws(p: PlatformDep, caller: CallerDep, space: str | None) -> str:
    return spaces.current(p, caller, space).id


@router.get("/routes")
def list_routes(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
                space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(filter, configurations.COLUMNS)
    views, total = service.list_routes(p, caller, _ws(p, caller, space), c)
    return listing([{"identifier": v.identifier, "name": v.name, "type": v.type}
                    for v in views], total)


@router.get("/routes/all_spaces")
def list_all_spaces(p: PlatformDep, caller: CallerDep,
                    filter: FilterParam = None) -> dict[str, Any]:  # noqa: A002
    c = criteria.parse(filter, configurations.COLUMNS)
    views, total = service.list_all_spaces(p, caller, c)
    return listing([{"type": v.type, "identifier": v.identifier, "space": v.space,
                     "name": v.name, "disabled": v.disabled, "createdAt": iso(v.created_at),
                     "updatedAt": iso(v.updated_at)} for v in views], total)


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: Literal["incoming:run", "outgoing:run", "route:run"]
    arguments: dict[str, Annotated[str, Field(max_length=255)]]


class QueueJob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queue: Annotated[str, Field(max_length=255)] = "default"
    priority: Annotated[int, Field(ge=0, le=10)] = 0
    commands: Annotated[list[Command], Field(min_length=1, max_length=100)]


class Publish(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job: QueueJob


def _published(p: PlatformDep, caller: CallerDep, workspace_id: str,
               commands: list[dict[str, Any]], priority: int = 0) -> dict[str, Any]:
    jobs = service.publish(p, caller, workspace_id, commands, priority)
    return {"message": f"Published {len(jobs)} job(s)",
            "processId": service.first_process(p, jobs[0].id)}


@router.post("/queue/publish")
def publish(body: Publish, p: PlatformDep, caller: CallerDep,
            space: SpaceParam = None) -> dict[str, Any]:
    return _published(p, caller, _ws(p, caller, space),
                      [c.model_dump() for c in body.job.commands], body.job.priority)


def process_json(v: service.ProcessView) -> dict[str, Any]:
    run = (v.finished_at - v.started_at) if v.finished_at and v.started_at else None
    wait = (v.started_at - v.created_at) if v.started_at else None
    return {"identifier": v.identifier, "jobId": v.job_id, "priority": v.priority,
            "routingKey": "default", "command": v.command, "arguments": v.arguments,
            "status": v.status, "createdAt": iso(v.created_at), "startedAt": iso(v.started_at),
            "finishedAt": iso(v.finished_at), "processTime": wait, "runTime": run,
            "meta": {"flags": list(v.flags)}}


@router.get("/queue/processes")
def list_processes(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
                   space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(filter, service.PROCESS_COLUMNS)
    views, total = service.list_processes(p, caller, _ws(p, caller, space), c)
    return listing([process_json(v) for v in views], total)


@router.get("/queue/processes/{process}")
def get_process(process: RowId, p: PlatformDep, caller: CallerDep,
                space: SpaceParam = None) -> dict[str, Any]:
    return {"object": process_json(service.get_process(p, caller, _ws(p, caller, space),
                                                       process))}


@router.get("/queue/jobs/{job}")
def job_processes(job: RowId, p: PlatformDep, caller: CallerDep,
                  space: SpaceParam = None) -> dict[str, Any]:
    views, total = service.list_processes(p, caller, _ws(p, caller, space),
                                          criteria.Criteria(limit=criteria.MAX_LIMIT), job)
    return listing([process_json(v) for v in views], total)


async def _by_filter(request: Request, p: PlatformDep, caller: CallerDep, space: str | None,
                     how: str, only_queued: bool = False) -> list[int]:
    c = criteria.parse(await body_filter(request), service.PROCESS_COLUMNS)
    return service.cancel_processes(p, caller, _ws(p, caller, space), c, how,
                                    only_queued=only_queued)


@router.post("/queue/jobs/skip")
async def skip_jobs(request: Request, p: PlatformDep, caller: CallerDep,
                    space: SpaceParam = None) -> dict[str, Any]:
    ids = await _by_filter(request, p, caller, space, "skip", only_queued=True)
    return {"message": f"Skipped {len(ids)} queued process(es)", "skipped": len(ids)}


@router.post("/queue/jobs/kill")
async def kill_jobs(request: Request, p: PlatformDep, caller: CallerDep,
                    space: SpaceParam = None) -> dict[str, Any]:
    ids = await _by_filter(request, p, caller, space, "kill")
    return {"message": f"Killing {len(ids)} process(es)", "scheduled": len(ids),
            "processId": ids}


@router.post("/queue/jobs/stop")
async def stop_jobs(request: Request, p: PlatformDep, caller: CallerDep,
                    space: SpaceParam = None) -> dict[str, Any]:
    ids = await _by_filter(request, p, caller, space, "stop")
    return {"message": f"Stopping {len(ids)} process(es)", "scheduled": len(ids),
            "processId": ids}


@router.post("/queue/processes/{identifier}/kill")
def kill_process(identifier: RowId, p: PlatformDep, caller: CallerDep,
                 space: SpaceParam = None) -> dict[str, Any]:
    service.cancel_process(p, caller, _ws(p, caller, space), identifier, "kill")
    return {"message": f"Process {identifier} is being killed"}


@router.post("/queue/processes/{identifier}/stop")
def stop_process(identifier: RowId, p: PlatformDep, caller: CallerDep,
                 space: SpaceParam = None) -> dict[str, Any]:
    service.cancel_process(p, caller, _ws(p, caller, space), identifier, "stop")
    return {"message": f"Process {identifier} is being stopped"}


# --- legacy runs: aliases of a queue publish -------------------------------------------------

def _legacy(p: PlatformDep, caller: CallerDep, space: str | None, command: str,
            key: str, identifier: str) -> dict[str, Any]:
    got = _published(p, caller, _ws(p, caller, space),
                     [{"command": command, "arguments": {key: identifier}}])
    return {"message": got["message"] + f" (process {got['processId']})"}


@router.post("/subscribers/{subscriber}/consume", deprecated=True)
def consume(subscriber: str, p: PlatformDep, caller: CallerDep,
            space: SpaceParam = None) -> dict[str, Any]:
    return _legacy(p, caller, space, "incoming:run", "incoming", subscriber)


@router.get("/subscribers/{subscriber}/consume", deprecated=True)
def consume_next(subscriber: str, p: PlatformDep, caller: CallerDep,
                 space: SpaceParam = None) -> dict[str, Any]:
    return _legacy(p, caller, space, "incoming:run", "incoming", subscriber)


@router.post("/routes/{route}/export", deprecated=True)
def export_route(route: str, p: PlatformDep, caller: CallerDep,
                 tasks: Annotated[int | None, Query(ge=0)] = None,
                 space: SpaceParam = None) -> dict[str, Any]:
    return _legacy(p, caller, space, "route:run", "route", route)


@router.get("/routes/{route}/export", deprecated=True)
def export_route_get(route: str, p: PlatformDep, caller: CallerDep,
                     tasks: Annotated[int | None, Query(ge=0)] = None,
                     space: SpaceParam = None) -> dict[str, Any]:
    return _legacy(p, caller, space, "route:run", "route", route)


# --- the transformer debugger ----------------------------------------------------------------

@router.post("/transformers/run")
def run_transformer(p: PlatformDep, caller: CallerDep,
                    entity: Annotated[Any, Body()],
                    type: Annotated[str, Query(min_length=1, max_length=255)],  # noqa: A002
                    breakpoints: bool = False,
                    stop_exec_at: Annotated[str | None, Query(alias="stop-exec-at",
                                                              max_length=255)] = None,
                    space: SpaceParam = None) -> dict[str, Any]:
    """Run the saved transformer ``type`` (an identifier; a chain runs step by step) on the
    posted entity."""
    got = transformer_run.run(p, caller, _ws(p, caller, space), type, entity, stop_exec_at)
    out: dict[str, Any] = {"entities": got.entities}
    if breakpoints:
        out["breakpoints"] = [{"transformer": s.transformer, "entity": s.entity,
                               "skipped": s.skipped, "error": s.error} for s in got.steps]
    return out

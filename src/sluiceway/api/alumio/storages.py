"""Storages (#113-126): entities kept by key in a ``storage`` configuration. The entity is a
query parameter (``entity``) or, on the deprecated routes, the rest of the path; the body of
a write is the value itself (any JSON). Lists page with the filter grammar and give a cursor
in ``next`` (pass it back as the ``next`` query parameter); an export streams NDJSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from sluiceway.api.alumio.render import body_filter, iso, listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.api.inputs import Checked
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import criteria, spaces
from sluiceway.services import storages as service

router = APIRouter()
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
EntityParam = Annotated[str, Query(description="Entity identifier.", min_length=1)]
Value = Annotated[Any, Body(description="The entity's value (any JSON)."), Checked]
_DIGITS = re.compile(r"^\d+$")


def _ws(p: PlatformDep, caller: CallerDep, space: str | None) -> str:
    return spaces.current(p, caller, space).id


def _entity(v: service.EntityView) -> dict[str, Any]:
    return {"value": v.value, "updatedAt": iso(v.updated_at)}


def _message(text: str) -> dict[str, Any]:
    return {"message": text}


@router.get("/storages")
def list_storages(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
                  space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(filter, service.STORAGE_COLUMNS)
    views, total = service.list_storages(p, caller, _ws(p, caller, space), c)
    return listing([{"identifier": v.identifier, "sizeInBytes": v.size_in_bytes}
                    for v in views], total)


@router.post("/storages/prune")
def prune(p: PlatformDep, caller: CallerDep, identifier: str | None = None,
          space: SpaceParam = None) -> dict[str, Any]:
    count = service.prune(p, caller, _ws(p, caller, space), identifier)
    return _message(f"{count} expired entities removed")


@router.post("/storages/{source}/copy/{target}")
def copy(source: str, target: str, p: PlatformDep, caller: CallerDep,
         space: SpaceParam = None) -> dict[str, Any]:
    return {"copied": service.copy(p, caller, _ws(p, caller, space), source, target),
            "source": source, "target": target}


@router.get("/storages/{identifier}/entities")
def list_entities(identifier: str, p: PlatformDep, caller: CallerDep,
                  filter: FilterParam = None, space: SpaceParam = None,  # noqa: A002
                  next: Annotated[str | None, Query(  # noqa: A002
                      description="The cursor a previous page gave in next (extension).")] = None,
                  ) -> dict[str, Any]:
    c = criteria.parse(filter, service.ENTITY_COLUMNS)
    page = service.list_entities(p, caller, _ws(p, caller, space), identifier, c, next)
    out = listing([{"identifier": v.identifier, "updatedAt": iso(v.updated_at)}
                   for v in page.entities], page.total)
    return {**out, "next": [page.next] if page.next else []}


@router.post("/storages/{identifier}/entities/delete")
async def delete_matching(identifier: str, request: Request, p: PlatformDep,
                          caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(await body_filter(request), service.ENTITY_COLUMNS)
    ws = _ws(p, caller, space)
    return _message(f"{service.delete_matching(p, caller, ws, identifier, c)} entities "
                    "deleted")


@router.get("/storages/{identifier}/entities/{entity:path}", deprecated=True)
def get_entity_in_path(identifier: str, entity: str, p: PlatformDep, caller: CallerDep,
                       space: SpaceParam = None) -> dict[str, Any]:
    return _entity(service.get_entity(p, caller, _ws(p, caller, space), identifier, entity))


@router.put("/storages/{identifier}/entities/{entity:path}", deprecated=True)
def put_entity_in_path(identifier: str, entity: str, value: Value, p: PlatformDep,
                       caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    return _entity(service.put_entity(p, caller, _ws(p, caller, space), identifier, entity,
                                      value))


@router.delete("/storages/{identifier}/entities/{entity:path}", deprecated=True)
def delete_entity_in_path(identifier: str, entity: str, p: PlatformDep, caller: CallerDep,
                          space: SpaceParam = None) -> dict[str, Any]:
    service.delete_entity(p, caller, _ws(p, caller, space), identifier, entity)
    return _message(f"Entity {entity} deleted")


@router.get("/storages/{identifier}/entity")
def get_entity(identifier: str, entity: EntityParam, p: PlatformDep, caller: CallerDep,
               space: SpaceParam = None) -> dict[str, Any]:
    return _entity(service.get_entity(p, caller, _ws(p, caller, space), identifier, entity))


@router.put("/storages/{identifier}/entity")
def put_entity(identifier: str, entity: EntityParam, value: Value, p: PlatformDep,
               caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    return _entity(service.put_entity(p, caller, _ws(p, caller, space), identifier, entity,
                                      value))


@router.post("/storages/{identifier}/entity")
def create_entity(identifier: str, entity: EntityParam, value: Value, p: PlatformDep,
                  caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    return _entity(service.put_entity(p, caller, _ws(p, caller, space), identifier, entity,
                                      value, create=True))


@router.delete("/storages/{identifier}/entity")
def delete_entity(identifier: str, entity: EntityParam, p: PlatformDep, caller: CallerDep,
                  space: SpaceParam = None) -> dict[str, Any]:
    service.delete_entity(p, caller, _ws(p, caller, space), identifier, entity)
    return _message(f"Entity {entity} deleted")


async def _export_body(request: Request) -> tuple[str | None, str | None]:
    """``filter`` and ``clientTime`` from a JSON or form-encoded body."""
    text = await body_filter(request)
    raw = await request.body()
    client_time: Any = None
    if raw and request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        client_time = data.get("clientTime") if isinstance(data, dict) else None
    elif raw:
        client_time = next(iter(parse_qs(raw.decode("utf-8", "replace")).get("clientTime", [])),
                           None)
    if client_time is not None and (not isinstance(client_time, str)
                                    or not _DIGITS.match(client_time)):
        raise InvalidInput("invalid export", [FieldError(
            "clientTime", "must be digits (the client's time in milliseconds)",
            str(client_time)[:40])])
    return text, client_time


@router.post("/storages/{identifier}/export")
async def export(identifier: str, request: Request, p: PlatformDep, caller: CallerDep,
                 space: SpaceParam = None) -> StreamingResponse:
    text, client_time = await _export_body(request)
    c = criteria.parse(text, service.ENTITY_COLUMNS)
    entities = await _in_thread(p, caller, space, identifier, c)

    def lines() -> Iterator[bytes]:
        for v in entities:
            yield (json.dumps({"identifier": v.identifier, "value": v.value,
                               "createdAt": iso(v.created_at), "updatedAt": iso(v.updated_at)},
                              ensure_ascii=False) + "\n").encode()

    name = f"{identifier}-{client_time}.ndjson" if client_time else f"{identifier}.ndjson"
    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _in_thread(p: PlatformDep, caller: CallerDep, space: str | None, identifier: str,
                     c: criteria.Criteria) -> Iterator[service.EntityView]:
    def start() -> Iterator[service.EntityView]:
        return service.export(p, caller, _ws(p, caller, space), identifier, c)

    return await run_in_threadpool(start)


@router.post("/storages/{identifier}/clear")
def clear(identifier: str, p: PlatformDep, caller: CallerDep,
          space: SpaceParam = None) -> dict[str, Any]:
    count = service.clear(p, caller, _ws(p, caller, space), identifier)
    return _message(f"Storage {identifier} cleared: {count} entities removed")

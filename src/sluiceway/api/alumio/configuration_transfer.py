"""Export (#45-46) and import (#47) of configurations as ``register.configuration`` items:
NDJSON out; NDJSON, JSON (one object or an array) or multipart files in. An import with an
invalid item answers 400 with the Error body, the per-item report in its ``context``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from sluiceway.api.alumio.render import error_body
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import configuration_transfer as service
from sluiceway.services import spaces

router = APIRouter()
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
ClientTime = Annotated[str | None, Field(pattern=r"^\d+$", max_length=20)]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=255)]


class ObjectRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Annotated[str, Field(min_length=1, max_length=255)]
    identifier: Identifier


class ExportObjects(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objects: Annotated[list[ObjectRef], Field(min_length=1, max_length=10000)]
    clientTime: ClientTime = None


class ExportType(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifiers: Annotated[list[Identifier], Field(max_length=10000)] | None = None
    clientTime: ClientTime = None


def _ndjson(items: list[dict[str, Any]], client_time: str | None) -> StreamingResponse:
    def lines() -> Iterator[bytes]:
        for item in items:
            yield (json.dumps(item, ensure_ascii=False) + "\n").encode()

    name = f"configurations-{client_time}.ndjson" if client_time else "configurations.ndjson"
    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/di/export")
def export_objects(body: ExportObjects, p: PlatformDep, caller: CallerDep,
                   space: SpaceParam = None) -> StreamingResponse:
    ws = spaces.current(p, caller, space).id
    items = service.export_configurations(p, caller, ws,
                                          [(o.type, o.identifier) for o in body.objects])
    return _ndjson(items, body.clientTime)


@router.post("/di/export/{type}")
def export_type(type: str, p: PlatformDep, caller: CallerDep,  # noqa: A002
                body: ExportType | None = None, space: SpaceParam = None) -> StreamingResponse:
    ws = spaces.current(p, caller, space).id
    given = body or ExportType()
    objects = ([(type, i) for i in given.identifiers] if given.identifiers is not None
               else None)
    return _ndjson(service.export_configurations(p, caller, ws, objects, type),
                   given.clientTime)


def _json_items(data: bytes) -> list[Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return service.parse_ndjson(data)  # a JSON body that is NDJSON after all
    return value if isinstance(value, list) else [value]


async def _items(request: Request) -> list[Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        items: list[Any] = []
        async with request.form() as form:
            for _, value in form.multi_items():
                if isinstance(value, UploadFile):
                    items.extend(_json_items(await value.read()))
        if not items:
            raise InvalidInput("nothing to import", [FieldError(
                "filename", "send one or more NDJSON files as filename[]")])
        return items
    data = await request.body()
    if kind == "application/json":
        return _json_items(data)
    if kind in ("application/x-ndjson", "application/ndjson", "text/plain", ""):
        return service.parse_ndjson(data)
    raise InvalidInput("unsupported content type", [FieldError(
        "content-type", "must be application/x-ndjson, application/json or "
                        "multipart/form-data", kind)])


def _result_json(r: service.ImportResult) -> dict[str, Any]:
    return {"valid": r.valid, "title": r.title, "detail": r.detail, "results": [
        {"type": x.type, "identifier": x.identifier, "decision": x.decision,
         "action": x.action,
         "relationships": [{"relation": rel.relation,
                            "node": {"identifier": rel.identifier, "type": rel.type},
                            "paths": list(rel.paths)} for rel in x.relationships],
         "violations": [{"propertyPath": v.path, "title": v.title,
                         "titleTemplate": v.template, "parameters": v.parameters,
                         "type": v.type, "helpText": v.help} for v in x.violations]}
        for x in r.results]}


@router.post("/di/import", status_code=201)
async def import_configurations(
    request: Request, p: PlatformDep, caller: CallerDep, space: SpaceParam = None,
    dry_run: Annotated[bool, Query(alias="dry-run")] = False,
    validate_variables: Annotated[bool, Query(alias="validate-variables")] = False,
) -> JSONResponse:
    ws = spaces.current(p, caller, space).id
    items = await _items(request)
    try:
        result = service.import_configurations(p, caller, ws, items, dry_run=dry_run,
                                               validate_variables=validate_variables)
    except service.ImportRefused as refused:
        violations = [{"title": e.reason, "propertyPath": e.path, "type": "invalid"}
                      for e in refused.errors]
        return JSONResponse(status_code=400, content=error_body(
            400, refused.result.detail, violations, _result_json(refused.result)))
    return JSONResponse(status_code=201, content=_result_json(result))

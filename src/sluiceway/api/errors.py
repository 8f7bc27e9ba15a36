"""The error tree mapped to HTTP in one place, in the Airbyte family's bodies.

404: ``{message, id, exceptionClassName}``; 422: ``{message, exceptionClassName,
validationErrors: [{propertyPath, invalidValue, message}]}``. Secrets never reach a body:
services redact connector messages and spec validation masks secret values.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sluiceway.api import jsonapi
from sluiceway.core.errors import (
    Conflict,
    ConnectorError,
    FieldError,
    InvalidInput,
    NotFound,
    SluicewayError,
)
from sluiceway.services.artifacts import RangeNotSatisfiable
from sluiceway.services.listing import BadQuery

log = logging.getLogger("sluiceway.api")

#: path prefixes of the JSON:API dataset family (seed 004); everything else speaks Airbyte's
DATASET_PREFIXES = ("/exports", "/jobs", "/imports", "/downloads")


def _datasets(request: Request) -> bool:
    return request.url.path.startswith(DATASET_PREFIXES)


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _invalid(message: str, errors: list[dict[str, Any]], cls: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={
        "message": message, "exceptionClassName": cls, "validationErrors": errors})


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    if _datasets(request):
        fields = [FieldError(".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                             e.get("msg", "invalid")) for e in exc.errors()]
        return jsonapi.error_response(422, "Invalid request", fields)
    errors = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        value = e.get("input") if e.get("type") != "missing" else None
        if isinstance(value, dict | list):
            value = None  # a whole object is not a useful "invalid value" (and may hold secrets)
        errors.append({"propertyPath": ".".join(loc) or "body", "invalidValue": _shown(value),
                       "message": e.get("msg", "invalid")})
    summary = "; ".join(f"{x['propertyPath']}: {x['message']}" for x in errors)
    return _invalid(f"invalid input: {summary}", errors, "InvalidInput")


async def _invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
    if isinstance(exc, RangeNotSatisfiable):
        return JSONResponse(status_code=416, content={"errors": [{
            "status": "416", "code": "range_not_satisfiable", "title": "Range not satisfiable",
            "detail": exc.message}]}, headers={"Content-Range": f"bytes */{exc.size}"})
    if _datasets(request):
        return jsonapi.error_response(400 if isinstance(exc, BadQuery) else 422, exc.message,
                                      exc.errors)
    errors = [{"propertyPath": e.path or "body", "invalidValue": _shown(e.value),
               "message": e.reason} for e in exc.errors]
    return _invalid(exc.message, errors, type(exc).__name__)


async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
    if _datasets(request):
        return jsonapi.error_response(404, "Not found", detail=exc.message, code="not_found")
    return JSONResponse(status_code=404, content={
        "message": exc.message, "id": exc.id, "exceptionClassName": "NotFound"})


async def _conflict(request: Request, exc: Conflict) -> JSONResponse:
    if _datasets(request):
        return jsonapi.error_response(409, "Conflict", detail=exc.message, code="conflict")
    return JSONResponse(status_code=409, content={"message": exc.message,
                                                  "exceptionClassName": "Conflict"})


async def _connector(_: Request, exc: ConnectorError) -> JSONResponse:
    # the request was fine but the system it names failed: reported as invalid input of
    # the object that points at it, the one 4xx the Airbyte spec gives these endpoints
    return _invalid(exc.message, [], type(exc).__name__)


async def _other(request: Request, exc: SluicewayError) -> JSONResponse:
    log.error("request failed: %s", exc.message)
    if _datasets(request):
        return jsonapi.error_response(500, "Server error", detail=exc.message)
    return JSONResponse(status_code=500, content={"message": exc.message,
                                                  "exceptionClassName": type(exc).__name__})


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if _datasets(request):
        response = jsonapi.error_response(exc.status_code, str(exc.detail))
        response.headers.update(getattr(exc, "headers", None) or {})
        return response
    return JSONResponse(status_code=exc.status_code, content={"message": str(exc.detail)},
                        headers=getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(InvalidInput, _invalid_input)  # type: ignore[arg-type]
    app.add_exception_handler(NotFound, _not_found)  # type: ignore[arg-type]
    app.add_exception_handler(Conflict, _conflict)  # type: ignore[arg-type]
    app.add_exception_handler(ConnectorError, _connector)  # type: ignore[arg-type]
    app.add_exception_handler(SluicewayError, _other)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]

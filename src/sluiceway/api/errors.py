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

from sluiceway.core.errors import (
    Conflict,
    ConnectorError,
    InvalidInput,
    NotFound,
    SluicewayError,
)

log = logging.getLogger("sluiceway.api")


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _invalid(message: str, errors: list[dict[str, Any]], cls: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={
        "message": message, "exceptionClassName": cls, "validationErrors": errors})


async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
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


async def _invalid_input(_: Request, exc: InvalidInput) -> JSONResponse:
    errors = [{"propertyPath": e.path or "body", "invalidValue": _shown(e.value),
               "message": e.reason} for e in exc.errors]
    return _invalid(exc.message, errors, type(exc).__name__)


async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
    return JSONResponse(status_code=404, content={
        "message": exc.message, "id": exc.id, "exceptionClassName": "NotFound"})


async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
    return JSONResponse(status_code=409, content={"message": exc.message,
                                                  "exceptionClassName": "Conflict"})


async def _connector(_: Request, exc: ConnectorError) -> JSONResponse:
    # the request was fine but the system it names failed: reported as invalid input of
    # the object that points at it, the one 4xx the Airbyte spec gives these endpoints
    return _invalid(exc.message, [], type(exc).__name__)


async def _other(_: Request, exc: SluicewayError) -> JSONResponse:
    log.error("request failed: %s", exc.message)
    return JSONResponse(status_code=500, content={"message": exc.message,
                                                  "exceptionClassName": type(exc).__name__})


async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
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

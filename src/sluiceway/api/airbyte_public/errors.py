"""The public API's error body: ``{status, title, detail}``, with ``validationErrors``
(``propertyPath``, ``message``, ``invalidValue``) naming each bad field of a 400 or 422,
and the ``id`` that was not found for a 404."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sluiceway.api.airbyte.errors import validation_errors
from sluiceway.api.errors import Problem

PREFIXES = ("/api/public/",)


def render(_: Request, p: Problem) -> JSONResponse:
    body: dict[str, Any] = {"status": p.status, "title": p.kind, "detail": p.message}
    if p.status == 404 and p.id is not None:
        body["id"] = p.id
    if p.status in (400, 422):
        body["validationErrors"] = validation_errors(p)
    return JSONResponse(status_code=p.status, content=body, headers=p.headers or None)

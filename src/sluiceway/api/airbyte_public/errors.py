"""The public API's error body: ``{status, title, detail}``, with ``validationErrors``
(``propertyPath``, ``message``, ``invalidValue``) naming each bad field of a 400 or 422,
and the ``id`` that was not found for a 404."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sluiceway.api.airbyte.errors import wire_path
from sluiceway.api.errors import Problem

PREFIXES = ("/api/public/",)


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def render(_: Request, p: Problem) -> JSONResponse:
    body: dict[str, Any] = {"status": p.status, "title": p.kind, "detail": p.message}
    if p.status == 404 and p.id is not None:
        body["id"] = p.id
    if p.status in (400, 422):
        body["validationErrors"] = [{"propertyPath": wire_path(e.path) if e.path else "body",
                                     "invalidValue": _shown(e.value), "message": e.reason}
                                    for e in p.errors]
    return JSONResponse(status_code=p.status, content=body, headers=p.headers or None)

"""Airbyte's error bodies: 404 ``{message, id, exceptionClassName}``; 422 ``{message,
exceptionClassName, validationErrors: [{propertyPath, invalidValue, message}]}``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sluiceway.api.errors import Problem


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def render(_: Request, p: Problem) -> JSONResponse:
    body: dict[str, Any] = {"message": p.message, "exceptionClassName": p.kind}
    if p.status == 404:
        body["id"] = p.id
    if p.status in (400, 422):
        body["validationErrors"] = [{"propertyPath": e.path or "body",
                                     "invalidValue": _shown(e.value), "message": e.reason}
                                    for e in p.errors]
    return JSONResponse(status_code=p.status, content=body, headers=p.headers or None)

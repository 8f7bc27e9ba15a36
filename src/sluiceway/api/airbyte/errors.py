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


#: the services' neutral field names as this face's bodies name them
FIELDS = {"config": "connectionConfiguration", "source_id": "sourceId",
          "destination_id": "destinationId", "connection_id": "connectionId",
          "workspace_id": "workspaceId", "connector": "dockerRepository",
          "image_tag": "dockerImageTag"}


def wire_path(path: str) -> str:
    """``path`` with its first segment named as this face names it."""
    head, sep, rest = path.partition(".")
    return FIELDS.get(head, head) + sep + rest


def validation_errors(p: Problem) -> list[dict[str, Any]]:
    """``validationErrors``: each bad field by its path on the wire, as Airbyte names it
    (also the public API's)."""
    return [{"propertyPath": wire_path(e.path) if e.path else "body",
             "invalidValue": _shown(e.value), "message": e.reason} for e in p.errors]


def render(_: Request, p: Problem) -> JSONResponse:
    body: dict[str, Any] = {"message": p.message, "exceptionClassName": p.kind}
    if p.status == 404:
        body["id"] = p.id
    if p.status in (400, 422):
        body["validationErrors"] = validation_errors(p)
    return JSONResponse(status_code=p.status, content=body, headers=p.headers or None)

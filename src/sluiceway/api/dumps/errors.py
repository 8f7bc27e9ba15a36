"""The dump family's error body ``{status, message, location, url}`` for ``/apis``:
``location`` is the offending field or parameter (``body.steps[0].type``, ``path.apiId``),
``url`` the request's path. The seed lists 400 for bad input, so invalid input (422
elsewhere) answers 400 here."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sluiceway.api.errors import Problem

PREFIXES = ("/apis",)


def _location(request: Request, p: Problem) -> str | None:
    if p.errors:
        path = p.errors[0].path
        head = path.split(".", 1)[0]
        if head in ("body", "path", "query", "header"):
            return path
        # FastAPI's own validation names a body field without "body." (or the JSON offset)
        return "body" if not path or path.isdigit() else f"body.{path}"
    if p.status == 404 and p.id is not None:
        for name, value in request.path_params.items():
            if value == p.id:
                return f"path.{name}"
    if p.status == 401:
        return "header.Authorization"
    return None


def render(request: Request, p: Problem) -> JSONResponse:
    status = 400 if p.status == 422 else p.status
    body: dict[str, Any] = {"status": status, "message": p.message}
    location = _location(request, p)
    if location:
        body["location"] = location
    body["url"] = request.url.path
    return JSONResponse(status_code=status, content=body, headers=p.headers or None)

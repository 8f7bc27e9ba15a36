"""The dataset family's error bodies (JSON:API ``{errors: [...]}``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from sluiceway.api import jsonapi
from sluiceway.api.errors import Problem

PREFIXES = ("/exports", "/jobs", "/imports")


def render(_: Request, p: Problem) -> JSONResponse:
    title = {400: "Invalid query", 404: "Not found", 409: "Conflict", 413: "Payload too "
             "large", 416: "Range not satisfiable", 422: "Invalid request"}.get(p.status,
                                                                                "Error")
    response = jsonapi.error_response(p.status, p.message if p.errors else title, p.errors,
                                      detail=p.message, code=p.kind)
    response.headers.update(p.headers)
    return response

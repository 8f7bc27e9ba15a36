"""The backup family's error bodies.

Invalid input answers 400 with ``{type: "ValidationError", message, validationErrors:
[{message, path, type, context}]}`` (``path`` in JavaScript property notation, such as
``.pathRestore.targetRestorePath``); every other error ``{type, message}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sluiceway.api.errors import Problem

PREFIXES = ("/v2/projects/", "/v2/project-backups")
_TYPES = {400: "ValidationError", 401: "UnauthorizedError", 403: "ForbiddenError",
          404: "NotFoundError", 405: "MethodNotAllowedError", 409: "ConflictError",
          413: "PayloadTooLargeError", 416: "RangeNotSatisfiableError",
          500: "InternalServerError"}


def _path(path: str) -> str:
    if not path or path == "body":
        return ""
    return path if path.startswith((".", "[")) else "." + path


def render(_: Request, p: Problem) -> JSONResponse:
    status = 400 if p.status == 422 else p.status
    body: dict[str, Any]
    if status == 400:
        entries = []
        for e in p.errors:
            entry: dict[str, Any] = {"message": e.reason, "path": _path(e.path),
                                     "type": "query" if p.kind == "BadQuery" else "invalid"}
            if isinstance(e.value, str | int | float):
                entry["context"] = {"value": str(e.value)}
            entries.append(entry)
        if not entries:
            entries.append({"message": p.message, "path": "", "type": "invalid"})
        body = {"type": "ValidationError", "message": p.message, "validationErrors": entries}
    else:
        body = {"type": _TYPES.get(status, "Error"), "message": p.message}
    return JSONResponse(body, status_code=status, headers=p.headers or None)

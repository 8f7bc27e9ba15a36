"""The family's Error body ``{status, context, type, title, detail, violations[{title,
propertyPath, type}]}`` (``status`` a string), and the shapes every module shares."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Path, Request
from fastapi.responses import JSONResponse

from sluiceway.api.errors import Problem

PREFIXES = tuple(f"/api/v1/{p}" for p in (
    "spaces", "users", "current_space", "tokens", "audit_trail", "environment", "ai/",
    "application", "maintenance_windows", "environments", "statistics", "space_workers",
    "system_administrators", "di/", "platforms", "tasks", "routes", "queue/",
    "subscribers/", "transformers/", "storages", "elasticsearch/", "search", "webhook/",
    "http-proxy/", "oauth"))

#: a task, process or job identifier in a path (a 64-bit row id)
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

_TYPES = {400: "validation_failed", 401: "unauthorized", 403: "forbidden",
          404: "not_found", 405: "method_not_allowed", 409: "conflict",
          429: "too_many_attempts", 501: "not_implemented"}
_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
           409: "Conflict", 429: "Too many attempts", 500: "Internal error"}


def render(_: Request, p: Problem) -> JSONResponse:
    # bad input is 400 here (the contract's answer), also where other faces say 422; a
    # connector that failed stays 422
    connector = p.kind in ("ConnectorError", "ConnectionFailed", "Retryable")
    status = 400 if p.status == 422 and not connector else p.status
    violations = [{"title": e.reason, "propertyPath": e.path or "body", "type": "invalid"}
                  for e in p.errors]
    return JSONResponse(status_code=status, content=error_body(status, p.message, violations),
                        headers=p.headers or None)


def error_body(status: int, detail: str, violations: list[dict[str, Any]],
               context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The family's Error body."""
    return {"status": str(status), "context": context or {},
            "type": _TYPES.get(status, "error"), "title": _TITLES.get(status, "Error"),
            "detail": detail, "violations": violations}


def iso(at: float | None) -> str | None:
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")


def listing(results: list[Any], total: int) -> dict[str, Any]:
    return {"metadata": {"totalCount": total}, "results": results}


async def body_filter(request: Request) -> str | None:
    """``filter`` from a form-encoded body (as the contract has it) or a JSON one."""
    raw = await request.body()
    if not raw:
        return None
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")
        value = data.get("filter") if isinstance(data, dict) else None
        return value if isinstance(value, str) or value is None else json.dumps(value)
    values = parse_qs(raw.decode("utf-8", "replace")).get("filter")
    return values[0] if values else None

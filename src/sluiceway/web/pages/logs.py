"""The space's logs: a search over the lines its jobs' attempts wrote and its tasks' log lines
(words and ``field:value`` terms, a from / to time), newest first, a page at a time."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import job_logs
from sluiceway.web import templating
from sluiceway.web.deps import PageDep
from sluiceway.web.pages.table_filters import saved

router = APIRouter()
PAGE = 50
#: the pages a search reaches (the service returns at most its MAX_SIZE newest lines)
PAGES = job_logs.MAX_SIZE // PAGE


def _time(value: str) -> Any:
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)  # epoch seconds
    except ValueError:
        return value


@router.get("/logs")
def log_search(request: Request, page: PageDep, q: str = "", start: str = "",
               end: str = "", p: str = "1") -> HTMLResponse:
    try:
        number = min(PAGES, max(1, int(p)))
    except ValueError:
        number = 1
    errors: list[FieldError] = []
    lines: list[job_logs.LogEntry] = []
    total = 0
    params = {"query": q, "from": _time(start), "to": _time(end), "size": number * PAGE}
    try:
        search = job_logs.parse(job_logs.PROTOTYPE, params)
        found, total = job_logs.search(page.platform, page.caller, page.workspace_id, search)
        lines = found[(number - 1) * PAGE:]
    except InvalidInput as exc:
        names = {"parameters.query": "q", "parameters.from": "start", "parameters.to": "end"}
        errors = [FieldError(names.get(e.path, e.path), e.reason, e.value) for e in exc.errors]
    reachable = min(PAGES, max(1, -(-total // PAGE)))
    query = urlencode({"q": q, "start": start, "end": end})
    return templating.render(request, "logs.html", {
        "page": page, "lines": lines, "total": total, "term": q, "start": start, "end": end,
        "errors": errors, "number": number, "pages": reachable, "query": query,
        "capped": total > PAGES * PAGE, "saved_filters": saved(page, "logs")},
        status=422 if errors else 200)

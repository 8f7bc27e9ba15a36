"""Alumio tasks: the table of the entities that entered the space's routes, filtered on the
server (status, route, entity), and the bulk retry / skip / resolve of the tasks ticked or of
every task the filter matches."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import criteria, policy, tasks
from sluiceway.web import templating
from sluiceway.web.deps import Form, FormDep, PageDep
from sluiceway.web.pages.table_filters import saved

router = APIRouter()
UI = templating.PREFIX
PAGE = 50
#: the bulk actions and the status each sets
ACTIONS = {"retry": "retry", "skip": "skipped", "resolve": "resolved"}
#: the filter fields of the page and how each matches
FILTERS = (("status", "status", "eq"), ("route", "route", "eq"),
           ("entity_type", "entityType", "eq"), ("entity", "entityIdentifier", "ilike"))


def _where(values: dict[str, str]) -> dict[str, Any]:
    where: dict[str, Any] = {}
    for name, column, op in FILTERS:
        value = values.get(name, "").strip()
        if value:
            where[column] = value if op == "eq" else {op: value}
    return where


def _criteria(where: dict[str, Any], limit: int, skip: int) -> criteria.Criteria:
    """The filter checked as the API checks it; errors name the page's fields."""
    try:
        return criteria.parse(json.dumps({"where": where, "limit": limit, "skip": skip}),
                              tasks.COLUMNS)
    except InvalidInput as exc:
        names = {f"filter.where.{column}": name for name, column, _ in FILTERS}
        raise InvalidInput("invalid filter", [FieldError(
            next((v for k, v in names.items() if e.path.startswith(k)), e.path), e.reason,
            e.value) for e in exc.errors]) from None


@router.get("/tasks")
def task_table(request: Request, page: PageDep) -> HTMLResponse:
    q = dict(request.query_params)
    try:
        number = max(1, int(q.get("p", "1")))
    except ValueError:
        number = 1
    errors: list[FieldError] = []
    try:
        c = _criteria(_where(q), PAGE, (number - 1) * PAGE)
        rows, total = tasks.list_tasks(page.platform, page.caller, page.workspace_id, c)
    except InvalidInput as exc:
        rows, total, errors = [], 0, exc.errors
    filters = {name: q.get(name, "") for name, _, _ in FILTERS}
    return templating.render(request, "tasks.html", {
        "page": page, "rows": rows, "total": total, "filters": filters,
        "statuses": tasks.STATUSES, "errors": errors, "q": filters, "number": number,
        "pages": max(1, -(-total // PAGE)), "changed": q.get("changed"),
        "action": q.get("action", ""), "can_change": page.can(policy.CHANGE),
        "saved_filters": saved(page, "tasks")},
        status=422 if errors else 200)


def _filters(form: Form) -> dict[str, str]:
    return {name: form.get(name) for name, _, _ in FILTERS if form.get(name).strip()}


@router.post("/tasks/bulk")
def bulk(page: PageDep, form: FormDep) -> Response:
    action = form.get("action")
    if action not in ACTIONS:
        raise InvalidInput("invalid action", [FieldError(
            "action", "must be one of " + ", ".join(ACTIONS), action)])
    filters = _filters(form)
    if form.get("scope") == "matching":
        where = _where(filters)
    else:
        ticked = form.getlist("task")
        if not ticked:
            raise InvalidInput("no task chosen", [FieldError(
                "task", "tick at least one task, or choose every task matching the filter")])
        where = {"identifier": {"inq": ticked}}
    c = _criteria(where, criteria.MAX_LIMIT, 0)
    n = tasks.set_status(page.platform, page.caller, page.workspace_id, c, ACTIONS[action])
    shown = urlencode({**filters, "action": action, "changed": n})
    return RedirectResponse(f"{UI}/tasks?{shown}", 303)

"""Spaces and the task statistics.

Spaces: a system administrator lists every space, creates, renames and deletes one (a space
that still holds objects is refused with what it holds); anyone else sees their own spaces
and switches between them. Statistics: the space's tasks by status over a window and per day
and route (#127, #129), drawn as bar charts on the server."""

from __future__ import annotations

import datetime as dt
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import Conflict, FieldError, InvalidInput, SluicewayError
from sluiceway.services import criteria, policy, spaces, task_statistics
from sluiceway.services.spaces import SpaceInput
from sluiceway.services.tasks import STATS
from sluiceway.web import charts, templating
from sluiceway.web.deps import FormDep, Page, PageDep

router = APIRouter()
UI = templating.PREFIX
DAYS = 30
_DAY = 86_400


def _spaces(request: Request, page: Page, *, error: SluicewayError | None = None,
            status: int = 200, given: dict[str, str] | None = None) -> HTMLResponse:
    return templating.render(request, "spaces.html", {
        "page": page, "rows": spaces.list_spaces(page.platform, page.caller),
        "system": page.can(policy.SYSTEM), "purposes": spaces.PURPOSES, "error": error,
        "given": given or {}}, status=status)


@router.get("/spaces")
def space_list(request: Request, page: PageDep) -> HTMLResponse:
    return _spaces(request, page)


def _refused(request: Request, page: Page, exc: SluicewayError,
             given: dict[str, str] | None = None) -> HTMLResponse:
    return _spaces(request, page, error=exc, status=409 if isinstance(exc, Conflict) else 422,
                   given=given)


@router.post("/spaces")
def create_space(request: Request, page: PageDep, form: FormDep) -> Response:
    policy.require(page.caller, policy.SYSTEM)
    given = {k: form.get(k).strip() for k in ("identifier", "name", "purpose", "description")}
    try:
        spaces.create(page.platform, page.caller, SpaceInput(
            given["identifier"], given["name"] or given["identifier"],
            given["purpose"] or "prod", given["description"]),
            [(page.caller.username, policy.Role.ADMINISTRATOR.value)]
            if "@" in page.caller.username else ())
    except (InvalidInput, Conflict) as exc:
        return _refused(request, page, exc, given)
    return RedirectResponse(f"{UI}/spaces", 303)


@router.post("/spaces/{identifier}/rename")
def rename_space(request: Request, identifier: str, page: PageDep, form: FormDep) -> Response:
    policy.require(page.caller, policy.SYSTEM)
    name = form.get("name").strip()
    current = spaces.get(page.platform, page.caller, identifier)
    if not name:
        return _refused(request, page, InvalidInput("invalid space", [
            FieldError("name", "is required")]))
    try:
        spaces.upsert(page.platform, page.caller, SpaceInput(
            identifier, name, current.purpose, current.description, current.terms_agreed))
    except InvalidInput as exc:
        return _refused(request, page, exc)
    return RedirectResponse(f"{UI}/spaces", 303)


@router.post("/spaces/{identifier}/delete")
def delete_space(request: Request, identifier: str, page: PageDep, form: FormDep) -> Response:
    policy.require(page.caller, policy.SYSTEM)
    try:
        spaces.delete_space(page.platform, page.caller, identifier)
    except Conflict as exc:
        return _refused(request, page, exc)
    return RedirectResponse(f"{UI}/spaces", 303)


# --- statistics -------------------------------------------------------------------------------

@router.get("/statistics")
def statistics(request: Request, page: PageDep) -> HTMLResponse:
    today = int(time.time() // _DAY)
    first = today - DAYS + 1
    since = dt.datetime.fromtimestamp(first * _DAY, dt.UTC).isoformat()
    c = criteria.Criteria(criteria.Group("and", (criteria.Cond("date", "gte",
                                                               float(first * _DAY)),)),
                          limit=criteria.MAX_LIMIT * 10)
    totals = task_statistics.totals(page.platform, page.caller, page.workspace_id,
                                    criteria.Criteria(), since, None)
    rows, _ = task_statistics.daily(page.platform, page.caller, page.workspace_id, c)
    per_day: dict[dt.date, dict[str, int]] = {}
    per_route: dict[str, dict[str, int]] = {}
    for r in rows:
        day = per_day.setdefault(r.date, task_statistics.zero())
        route = per_route.setdefault(r.identifier, task_statistics.zero())
        for k, n in r.counts.items():
            day[k] += n
            route[k] += n
    dates = [dt.datetime.fromtimestamp(d * _DAY, dt.UTC).date() for d in range(first,
                                                                                today + 1)]
    made = charts.bars(f"Tasks made per day, last {DAYS} days",
                       [charts.Bar(d.isoformat(), sum(per_day.get(d, {}).values()))
                        for d in dates], templating.count)
    failed = charts.bars(f"Failed tasks per day, last {DAYS} days",
                         [charts.Bar(d.isoformat(), per_day.get(d, {}).get("failed", 0))
                          for d in dates], templating.count)
    return templating.render(request, "statistics.html", {
        "page": page, "totals": totals, "statuses": STATS, "charts": [made, failed],
        "routes": sorted(per_route.items()), "days": DAYS})

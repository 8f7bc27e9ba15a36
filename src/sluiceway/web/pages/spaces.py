"""Spaces and the task statistics.

Spaces: a system administrator lists every space, creates, renames and deletes one (a space
that still holds objects is refused with what it holds); anyone else sees their own spaces
and switches between them. Statistics: the space's tasks by status over a window and per day
and route (#127, #129), drawn as bar charts on the server."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import Conflict, FieldError, InvalidInput, SluicewayError
from sluiceway.services import (
    criteria,
    installation,
    policy,
    routes,
    spaces,
    task_statistics,
    tasks,
)
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

#: how far back the installation's series looks, per aggregation (None: every task)
SPANS: dict[str, int | None] = {"daily": DAYS, "weekly": 26 * 7, "monthly": 730,
                                "yearly": None}


def _periods(aggregation: str, first: dt.date | None, today: dt.date,
             found: list[str]) -> list[str]:
    """Every period of the window, those without a task too (a steady axis)."""
    if first is None:
        years = [int(f) for f in found] or [today.year]
        return [str(y) for y in range(min(years), today.year + 1)]
    out: list[str] = []
    day = first
    while day <= today:
        label = {"daily": day.isoformat(),
                 "weekly": (day - dt.timedelta(days=day.weekday())).isoformat(),
                 "monthly": day.strftime("%Y-%m")}[aggregation]
        if not out or out[-1] != label:
            out.append(label)
        day += dt.timedelta(days=1)
    return out


Series = list[tuple[str, dict[str, int]]]


def _series(page: Page, aggregation: str, today: dt.date) -> tuple[charts.Chart, Series]:
    """The installation's tasks per period and status (a system administrator's view)."""
    span = SPANS[aggregation]
    first = None if span is None else today - dt.timedelta(days=span - 1)
    where: tuple[criteria.Cond, ...] = () if first is None else (criteria.Cond(
        "date", "gte", dt.datetime.combine(first, dt.time(), dt.UTC).timestamp()),)
    found = dict(task_statistics.series(page.platform, page.caller, criteria.Criteria(
        criteria.Group("and", where)), aggregation))
    rows = [(period, found.get(period) or task_statistics.zero())
            for period in _periods(aggregation, first, today, sorted(found))]
    since = "" if first is None else f", since {first.isoformat()}"
    chart = charts.stacked(f"Tasks of every space per {_UNIT[aggregation]} by status{since}",
                           [(label, {k: float(v) for k, v in counts.items()})
                            for label, counts in rows], STATS, templating.count)
    return chart, rows


_UNIT = {"daily": "day", "weekly": "week", "monthly": "month", "yearly": "year"}


@router.get("/statistics")
def statistics(request: Request, page: PageDep, aggregation: str = "daily") -> HTMLResponse:
    today = int(time.time() // _DAY)
    first = today - DAYS + 1
    since = dt.datetime.fromtimestamp(first * _DAY, dt.UTC)
    c = criteria.Criteria(criteria.Group("and", (criteria.Cond("date", "gte",
                                                               float(first * _DAY)),)),
                          limit=criteria.MAX_LIMIT * 10)
    totals = task_statistics.totals(page.platform, page.caller, page.workspace_id,
                                    criteria.Criteria(), since.isoformat(), None)
    rows, _ = task_statistics.daily(page.platform, page.caller, page.workspace_id, c)
    per_day: dict[dt.date, dict[str, int]] = {}
    for r in rows:
        day = per_day.setdefault(r.date, task_statistics.zero())
        for k, n in r.counts.items():
            day[k] += n
    dates = [dt.datetime.fromtimestamp(d * _DAY, dt.UTC).date() for d in range(first,
                                                                                today + 1)]
    made = charts.bars(f"Tasks made per day, last {DAYS} days",
                       [charts.Bar(d.isoformat(), sum(per_day.get(d, {}).values()))
                        for d in dates], templating.count)
    failed = charts.bars(f"Failed tasks per day, last {DAYS} days",
                         [charts.Bar(d.isoformat(), per_day.get(d, {}).get("failed", 0))
                          for d in dates], templating.count)
    # per route (#111): every route of the space, and any other that made tasks, with the
    # log errors and the size of the configured ones (#110) in the same window
    per_route = tasks.statistics(page.platform, page.caller, page.workspace_id,
                                 since.timestamp(), None, None)
    configured, _ = routes.list_routes(page.platform, page.caller, page.workspace_id,
                                       criteria.Criteria(limit=criteria.MAX_LIMIT))
    logs = {r.identifier: r for r in task_statistics.routes_window(
        page.platform, page.caller, page.workspace_id, since.isoformat(),
        dt.datetime.now(dt.UTC).isoformat(), [v.identifier for v in configured])
    } if configured else {}
    context: dict[str, Any] = {
        "page": page, "totals": totals, "statuses": STATS, "charts": [made, failed],
        "routes": per_route, "logs": logs, "days": DAYS, "system": False, "errors": []}
    if page.can(policy.SYSTEM):
        errors: list[FieldError] = []
        if aggregation not in SPANS:
            errors.append(FieldError("aggregation", "must be one of " + ", ".join(SPANS),
                                     aggregation[:100]))
            aggregation = "daily"
        series, series_rows = _series(page, aggregation, dates[-1])
        context.update(system=True, errors=errors, aggregation=aggregation,
                       aggregations=tuple(SPANS), series=series, series_rows=series_rows,
                       spaces=installation.space_statistics(
                           page.platform, page.caller, since.date().isoformat(), None))
        return templating.render(request, "statistics.html", context,
                                 status=422 if errors else 200)
    return templating.render(request, "statistics.html", context)

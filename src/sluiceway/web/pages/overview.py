"""The space's overview: connections with their last and next run, and 30 days of syncs."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sluiceway.services import actors, policy
from sluiceway.services import overview as overviews
from sluiceway.web import charts, templating
from sluiceway.web.deps import PageDep

router = APIRouter()


@router.get("/")
def overview(request: Request, page: PageDep, p: int = 1, q: str = "") -> HTMLResponse:
    view = overviews.overview(page.platform, page.caller, page.workspace_id, page=p,
                              search=q)
    day = [time.strftime("%Y-%m-%d", time.gmtime(d.start)) for d in view.days]
    rows = charts.bars("Rows moved per day, last 30 days",
                       [charts.Bar(label, d.rows) for label, d in zip(day, view.days,
                                                                      strict=True)],
                       templating.count)
    seconds = charts.bars("Run time per day, last 30 days",
                          [charts.Bar(label, d.seconds) for label, d in zip(
                              day, view.days, strict=True)], templating.duration)
    can_change = page.can(policy.CHANGE)
    # with no connection yet, the next step depends on what is there already
    have: dict[str, bool] = {}
    if can_change and not view.total and not q:
        have = {"source": bool(actors.list_for(page.platform, page.caller, "source",
                                               page.workspace_id)),
                "destination": bool(actors.list_for(page.platform, page.caller,
                                                    "destination", page.workspace_id))}
    return templating.render(request, "overview.html", {
        "page": page, "view": view, "q": q, "charts": [rows, seconds], "have": have,
        "can_change": can_change})

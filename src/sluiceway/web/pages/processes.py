"""The space's processes: the attempts of its route runs and syncs, running and recent, newest
first (filtered by status, paged on the server), with Stop (graceful: a route commits the
batch in hand) and Kill (at once) for a process not finished yet, and the same for every
process the filter matches (Skip takes only those no worker has started), confirmed by a
tick the server checks."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import criteria, policy, routes
from sluiceway.web import templating
from sluiceway.web.deps import FormDep, PageDep
from sluiceway.web.pages.table_filters import saved

router = APIRouter()
UI = templating.PREFIX
PAGE = 50
STATUSES = ("scheduled", "running", "finished", "failed", "killed")
#: the buttons: how each ends a process
HOW = ("stop", "kill")
#: the bulk actions over the filter: how each ends the matching processes
BULK = ("stop", "kill", "skip")


def _where(status: str) -> criteria.Group:
    """The status filter in the ledger's terms (a process ``scheduled`` is a queued
    attempt), as the API's filter reads it."""
    if not status:
        return criteria.Group("and", ())
    return criteria.Group("and", (criteria.Cond(
        "status", "eq", routes.PROCESS_COLUMNS["status"].parse(status)),))


@router.get("/processes")
def process_list(request: Request, page: PageDep, status: str = "", p: str = "1",
                 started: str = "", ended: str = "", bulk: str = "",
                 count: str = "") -> HTMLResponse:
    try:
        number = max(1, int(p))
    except ValueError:
        number = 1
    errors: list[FieldError] = []
    if status and status not in STATUSES:
        errors.append(FieldError("status", "must be one of " + ", ".join(STATUSES), status))
        status = ""
    rows, total = routes.list_processes(
        page.platform, page.caller, page.workspace_id,
        criteria.Criteria(_where(status), (("identifier", True),), PAGE, (number - 1) * PAGE))
    return templating.render(request, "processes.html", {
        "page": page, "rows": rows, "total": total, "status": status,
        "statuses": STATUSES, "number": number, "pages": max(1, -(-total // PAGE)),
        "started": started, "ended": ended, "errors": errors,
        "bulk": bulk if bulk in BULK and count.isdigit() else "", "count": count,
        "can_change": page.can(policy.CHANGE), "saved_filters": saved(page, "processes")},
        status=422 if errors else 200)


@router.post("/processes/{identifier}/end")
def end_process(identifier: int, page: PageDep, form: FormDep) -> Response:
    how = form.get("how")
    if how not in HOW:
        raise InvalidInput("invalid action", [FieldError("how", "must be stop or kill", how)])
    routes.cancel_process(page.platform, page.caller, page.workspace_id, identifier, how)
    return RedirectResponse(f"{UI}/processes?ended={identifier}", 303)


@router.post("/processes/bulk")
def bulk_end(page: PageDep, form: FormDep) -> Response:
    """Stop, kill or skip every scheduled or running process the status filter matches (at
    most :data:`criteria.MAX_LIMIT` at once, the oldest first)."""
    how, status = form.get("how"), form.get("status")
    errors = []
    if how not in BULK:
        errors.append(FieldError("how", "must be one of " + ", ".join(BULK), how))
    if status and status not in STATUSES:
        errors.append(FieldError("status", "must be one of " + ", ".join(STATUSES), status))
    if form.get("confirm") != "yes":
        errors.append(FieldError("confirm", "tick the box to confirm ending every process "
                                            "the filter matches"))
    if errors:
        raise InvalidInput("invalid bulk action", errors)
    ended = routes.cancel_processes(
        page.platform, page.caller, page.workspace_id,
        criteria.Criteria(_where(status), (), criteria.MAX_LIMIT, 0), how,
        only_queued=how == "skip")
    shown = urlencode({"status": status, "bulk": how, "count": len(ended)})
    return RedirectResponse(f"{UI}/processes?{shown}", 303)

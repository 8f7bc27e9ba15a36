"""The space's processes: the attempts of its route runs and syncs, running and recent, newest
first (filtered by status, paged on the server), with Stop (graceful: a route commits the
batch in hand) and Kill (at once) for a process not finished yet."""

from __future__ import annotations

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


@router.get("/processes")
def process_list(request: Request, page: PageDep, status: str = "", p: str = "1",
                 started: str = "", ended: str = "") -> HTMLResponse:
    try:
        number = max(1, int(p))
    except ValueError:
        number = 1
    errors: list[FieldError] = []
    if status and status not in STATUSES:
        errors.append(FieldError("status", "must be one of " + ", ".join(STATUSES), status))
        status = ""
    where = criteria.Group("and", (criteria.Cond("status", "eq", status),) if status else ())
    rows, total = routes.list_processes(
        page.platform, page.caller, page.workspace_id,
        criteria.Criteria(where, (("identifier", True),), PAGE, (number - 1) * PAGE))
    return templating.render(request, "processes.html", {
        "page": page, "rows": rows, "total": total, "status": status,
        "statuses": STATUSES, "number": number, "pages": max(1, -(-total // PAGE)),
        "started": started, "ended": ended, "errors": errors,
        "can_change": page.can(policy.CHANGE), "saved_filters": saved(page, "processes")},
        status=422 if errors else 200)


@router.post("/processes/{identifier}/end")
def end_process(identifier: int, page: PageDep, form: FormDep) -> Response:
    how = form.get("how")
    if how not in HOW:
        raise InvalidInput("invalid action", [FieldError("how", "must be stop or kill", how)])
    routes.cancel_process(page.platform, page.caller, page.workspace_id, identifier, how)
    return RedirectResponse(f"{UI}/processes?ended={identifier}", 303)

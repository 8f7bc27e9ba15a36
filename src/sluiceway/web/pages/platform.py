"""Administration of the installation: the workers each space may use and the pool slots
pinned to it (set by a system administrator), and the platform's information (version,
addresses, sizes, subscription, environment, maintenance windows), read-only."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import installation, policy, workers
from sluiceway.web import templating
from sluiceway.web.deps import FormDep, Page, PageDep

router = APIRouter()
UI = templating.PREFIX


def _workers(request: Request, page: Page, *, errors: list[FieldError] | None = None,
             status: int = 200, changed: str = "") -> HTMLResponse:
    found = workers.allocation(page.platform, page.caller)
    return templating.render(request, "admin_workers.html", {
        "page": page, "allocation": found, "errors": errors or [], "changed": changed},
        status=status)


@router.get("/admin/workers")
def worker_page(request: Request, page: PageDep, changed: str = "") -> HTMLResponse:
    return _workers(request, page, changed=changed)


@router.post("/admin/workers")
def set_workers(request: Request, page: PageDep, form: FormDep) -> Response:
    policy.require(page.caller, policy.SYSTEM)
    space, raw = form.get("space"), form.get("workers").strip()
    count: int | None = None
    if raw:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
            return _workers(request, page, status=422, errors=[FieldError(
                "workers", "must be a whole number, or empty for the whole pool", raw)])
        count = int(raw)
    try:
        workers.allocate(page.platform, page.caller, [(space, count)])
    except InvalidInput as exc:
        errors = [FieldError("workers" if e.path.endswith(".workers") else e.path, e.reason,
                             e.value) for e in exc.errors]
        return _workers(request, page, status=422, errors=errors)
    return RedirectResponse(f"{UI}/admin/workers?changed={space}", 303)


def _slots(raw: str) -> list[int]:
    """``1, 3 4``: the slot numbers named (commas or spaces between); empty releases."""
    words = [w for w in re.split(r"[\s,]+", raw.strip()) if w]
    bad = next((w for w in words if not w.isascii() or not w.isdigit() or len(w) > 6), None)
    if bad is not None or len(words) > 1000:
        raise InvalidInput("invalid slots", [FieldError(
            "slots", "must be slot numbers separated by commas, or empty to release the pins",
            bad if bad is not None else raw[:100])])
    return [int(w) for w in words]


@router.post("/admin/workers/pin")
def pin_workers(request: Request, page: PageDep, form: FormDep) -> Response:
    policy.require(page.caller, policy.SYSTEM)
    space = form.get("space")
    try:
        workers.pin(page.platform, page.caller, [(space, _slots(form.get("slots")))])
    except InvalidInput as exc:
        errors = [FieldError("slots" if e.path.endswith(".workerIdentifiers") else e.path,
                             e.reason, e.value) for e in exc.errors]
        return _workers(request, page, status=422, errors=errors)
    return RedirectResponse(f"{UI}/admin/workers?changed={space}", 303)


@router.get("/admin/platform")
def platform_page(request: Request, page: PageDep) -> HTMLResponse:
    base = str(request.base_url).rstrip("/")
    server = installation.server(page.platform, page.caller, base)
    return templating.render(request, "admin_platform.html", {
        "page": page, "server": server, "environments": installation.environments(server),
        "usage": installation.usage(page.platform, page.caller)})

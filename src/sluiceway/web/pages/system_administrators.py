"""The installation's system administrators, for system administrators only: listed, one
granted to an email (a new user is made without a password) and one revoked (the user stays
with their spaces; the last one is never revoked: the service refuses it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import Conflict, FieldError, InvalidInput
from sluiceway.services import criteria, directory, policy
from sluiceway.web import templating
from sluiceway.web.deps import FormDep, Page, PageDep

router = APIRouter()
UI = templating.PREFIX
URL = f"{UI}/admin/system-administrators"


def _render(request: Request, page: Page, *, errors: list[FieldError] | None = None,
            refused: str = "", email: str = "", status: int = 200,
            changed: str = "") -> HTMLResponse:
    admins, total = directory.list_admins(page.platform, page.caller,
                                          criteria.Criteria(limit=criteria.MAX_LIMIT))
    return templating.render(request, "admin_system.html", {
        "page": page, "admins": admins, "total": total, "errors": errors or [],
        "refused": refused, "email": email, "changed": changed}, status=status)


@router.get("/admin/system-administrators")
def system_administrators(request: Request, page: PageDep, changed: str = "") -> HTMLResponse:
    return _render(request, page, changed=changed)


@router.post("/admin/system-administrators")
def grant(request: Request, page: PageDep, form: FormDep) -> Response:
    policy.require(page.caller, policy.SYSTEM)
    email = form.get("email").strip()
    try:
        directory.add_admin(page.platform, page.caller, email)
    except InvalidInput as exc:
        errors = [FieldError("email" if e.path in ("", "email", "username") else e.path,
                             e.reason, e.value) for e in exc.errors]
        return _render(request, page, errors=errors or [FieldError("email", str(exc))],
                       email=email, status=422)
    except Conflict as exc:
        return _render(request, page, refused=str(exc), email=email, status=409)
    return RedirectResponse(f"{URL}?changed=granted", 303)


@router.post("/admin/system-administrators/remove")
def revoke(request: Request, page: PageDep, form: FormDep) -> Response:
    policy.require(page.caller, policy.SYSTEM)
    email = form.get("email")
    try:
        directory.remove_admin(page.platform, page.caller, email)
    except Conflict as exc:
        return _render(request, page, refused=str(exc), status=409)
    if email == page.caller.username:  # no longer one: the page is not theirs any more
        return RedirectResponse(f"{UI}/", 303)
    return RedirectResponse(f"{URL}?changed=revoked", 303)

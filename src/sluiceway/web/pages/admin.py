"""Administration: the space's users and roles, one's API tokens (a new token is shown once),
the space's variables (an encrypted value is never shown) and the audit trail with filters
and export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from sluiceway.core.errors import FieldError, InvalidInput, SluicewayError
from sluiceway.services import audit, criteria, policy, space_users, tokens, variables
from sluiceway.services.auth import parse_expiry
from sluiceway.web import templating
from sluiceway.web.deps import Form, FormDep, Page, PageDep

router = APIRouter()
UI = templating.PREFIX
AUDIT_PAGE = 50
ROLES = [(policy.Role.VIEWER, "viewer: reads"), (policy.Role.EDITOR, "editor: also changes "
          "and runs"), (policy.Role.ADMINISTRATOR, "administrator: also manages users, "
                                                   "tokens and variables")]


@router.get("/admin")
def admin(page: PageDep) -> RedirectResponse:
    target = "users" if page.can(policy.MANAGE) else "tokens"
    return RedirectResponse(f"{UI}/admin/{target}", 303)


# --- users and roles --------------------------------------------------------------------------

def _users(request: Request, page: Page, *, error: SluicewayError | None = None,
           status: int = 200) -> HTMLResponse:
    policy.require(page.caller, policy.MANAGE, page.workspace_id)
    members, total = space_users.list_members(page.platform, page.caller, page.identifier,
                                              criteria.Criteria(limit=criteria.MAX_LIMIT))
    return templating.render(request, "admin_users.html", {
        "page": page, "members": members, "total": total, "roles": ROLES,
        "error": error, "system": page.can(policy.SYSTEM)}, status=status)


@router.get("/admin/users")
def users(request: Request, page: PageDep) -> HTMLResponse:
    return _users(request, page)


def _changed(request: Request, page: Page, action: Any) -> Response:
    """Run a change; a refusal of the input shows the page again with the reason."""
    try:
        action()
    except InvalidInput as exc:
        return _users(request, page, error=exc, status=422)
    return RedirectResponse(f"{UI}/admin/users", 303)


@router.post("/admin/users")
def add_user(request: Request, page: PageDep, form: FormDep) -> Response:
    email, password = form.get("email").strip(), form.get("password")

    return _changed(request, page, lambda: space_users.add_member(
        page.platform, page.caller, page.identifier, email, [form.get("role")],
        password or None))


@router.post("/admin/users/role")
def set_role(request: Request, page: PageDep, form: FormDep) -> Response:
    email = form.get("email")
    return _changed(request, page, lambda: space_users.update_member(
        page.platform, page.caller, page.identifier, email, email, [form.get("role")]))


@router.post("/admin/users/remove")
def remove_user(request: Request, page: PageDep, form: FormDep) -> Response:
    return _changed(request, page, lambda: space_users.remove_member(
        page.platform, page.caller, page.identifier, form.get("email")))


@router.post("/admin/users/password")
def set_password(request: Request, page: PageDep, form: FormDep) -> Response:
    email = form.get("email")
    if email == page.caller.username:  # one's own: with the current one, on the account page
        return _users(request, page, status=422, error=InvalidInput("invalid password", [
            FieldError("email", "change your own password on your account page")]))
    return _changed(request, page, lambda: space_users.set_password(
        page.platform, page.caller, email, form.get("password")))


# --- API tokens -------------------------------------------------------------------------------

def _tokens(request: Request, page: Page, *, new: str | None = None,
            errors: list[FieldError] | None = None, status: int = 200) -> HTMLResponse:
    return templating.render(request, "admin_tokens.html", {
        "page": page, "tokens": tokens.list_own(page.platform, page.caller), "new": new,
        "errors": errors or []}, status=status)


@router.get("/admin/tokens")
def token_list(request: Request, page: PageDep) -> HTMLResponse:
    return _tokens(request, page)


@router.post("/admin/tokens")
def token_create(request: Request, page: PageDep, form: FormDep) -> HTMLResponse:
    try:
        expires = form.get("expires").strip()
        token, _ = tokens.create(page.platform, page.caller, form.get("name").strip(),
                                 form.get("description"),
                                 parse_expiry(expires) if expires else None)
    except InvalidInput as exc:
        return _tokens(request, page, errors=exc.errors, status=422)
    return _tokens(request, page, new=token)


@router.post("/admin/tokens/{token_id}/revoke")
def token_revoke(page: PageDep, _form_: FormDep, token_id: str) -> RedirectResponse:
    tokens.revoke(page.platform, page.caller, token_id)
    return RedirectResponse(f"{UI}/admin/tokens", 303)


# --- variables --------------------------------------------------------------------------------

def _variables(request: Request, page: Page, *, form: Form | None = None,
               errors: list[FieldError] | None = None, status: int = 200) -> HTMLResponse:
    listed, total = variables.list_variables(page.platform, page.caller, page.workspace_id,
                                             criteria.Criteria(limit=criteria.MAX_LIMIT))
    return templating.render(request, "admin_variables.html", {
        "page": page, "variables": listed, "total": total, "form": form or Form({}),
        "errors": errors or [], "can_change": page.can(policy.CHANGE),
        "can_manage": page.can(policy.MANAGE)}, status=status)


@router.get("/admin/variables")
def variable_list(request: Request, page: PageDep) -> HTMLResponse:
    return _variables(request, page)


@router.post("/admin/variables")
def variable_create(request: Request, page: PageDep, form: FormDep) -> Response:
    try:
        variables.create(page.platform, page.caller, page.workspace_id, variables.VariableInput(
            name=form.get("name").strip(), value=form.get("value"),
            description=form.get("description"), encrypted=form.has("encrypted")))
    except InvalidInput as exc:
        return _variables(request, page, form=form, errors=exc.errors, status=422)
    return RedirectResponse(f"{UI}/admin/variables", 303)


@router.post("/admin/variables/delete")
def variable_delete(page: PageDep, form: FormDep) -> RedirectResponse:
    variables.delete(page.platform, page.caller, page.workspace_id, form.get("name"))
    return RedirectResponse(f"{UI}/admin/variables", 303)


# --- the audit trail --------------------------------------------------------------------------

def _time(text: str, field: str, end_of_day: bool = False) -> float:
    try:
        moment = criteria.as_time(text)
    except (TypeError, ValueError):
        raise InvalidInput("invalid filter", [FieldError(
            field, "must be a date (2030-01-31) or a date and time", text)]) from None
    return moment + (86_400 if end_of_day and len(text) == 10 else 0)


def audit_criteria(request: Request, limit: int = AUDIT_PAGE) -> criteria.Criteria:
    """The filters of the audit page's query: user and action contain, category is, and
    a day or time to start and end at."""
    q = request.query_params
    parts: list[criteria.Cond | criteria.Group] = []
    for field, op in (("user", "ilike"), ("action", "ilike"), ("category", "eq")):
        if q.get(field, "").strip():
            parts.append(criteria.Cond(field, op, q[field].strip()))
    if q.get("since", "").strip():
        parts.append(criteria.Cond("createdAt", "gte", _time(q["since"].strip(), "since")))
    if q.get("until", "").strip():
        parts.append(criteria.Cond("createdAt", "lt", _time(q["until"].strip(), "until",
                                                            end_of_day=True)))
    try:
        number = max(1, int(q.get("p", "1")))
    except ValueError:
        number = 1
    return criteria.Criteria(criteria.Group("and", tuple(parts)), (), limit,
                             (number - 1) * limit)


@router.get("/admin/audit")
def audit_trail(request: Request, page: PageDep) -> HTMLResponse:
    try:
        c = audit_criteria(request)
        entries, total = audit.list_entries(page.platform, page.caller, c, page.workspace_id)
        error = None
    except InvalidInput as exc:
        entries, total, error = [], 0, exc
        c = criteria.Criteria()
    query = {k: v for k, v in request.query_params.items() if k != "p"}
    return templating.render(request, "admin_audit.html", {
        "page": page, "entries": entries, "total": total, "q": query, "error": error,
        "number": c.skip // AUDIT_PAGE + 1, "pages": max(1, -(-total // AUDIT_PAGE))},
        status=422 if error else 200)


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat()


@router.get("/admin/audit/export")
def audit_export(request: Request, page: PageDep, format: str = "csv") -> Response:  # noqa: A002
    c = audit_criteria(request, criteria.MAX_LIMIT)
    body = audit.export(page.platform, page.caller,
                        criteria.Criteria(c.where, c.order, c.limit, 0), format,
                        page.workspace_id, _iso)
    mime = "text/csv" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(body, media_type=mime, headers={
        "Content-Disposition": f'attachment; filename="audit.{format}"'})

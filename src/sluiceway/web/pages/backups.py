"""Backups: a space's configuration and its destinations' tables, created, exported (a tar,
a ZIP, a password-protected ZIP), downloaded through a signed link, restored (the
configuration, each table into a destination chosen for it, and files of the backup into a
folder, its progress followed in the list) and deleted."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import Conflict, FieldError, InvalidInput
from sluiceway.services import actors, artifacts, backups, policy
from sluiceway.web import templating
from sluiceway.web.deps import Form, FormDep, Page, PageDep

router = APIRouter()
UI = templating.PREFIX
PAGE = 50
DAY = 24 * 3600.0


def _rows(page: Page) -> tuple[list[dict[str, Any]], int]:
    found, total = backups.list_backups(page.platform, page.caller, page.workspace_id,
                                        backups.ListQuery(newest_first=True, limit=PAGE))
    rows = []
    for b in found:
        link = None
        if b.export is not None and b.export.phase == "completed":
            link = (f"/v2/project-backups/{b.id}/export/download?"
                    f"{artifacts.signed_query(page.platform, b.export.id)}")
        rows.append({"b": b, "link": link})
    return rows, total


def _list(request: Request, page: Page, template: str, *, form: Form | None = None,
          errors: list[FieldError] | None = None, status: int = 200) -> HTMLResponse:
    rows, total = _rows(page)
    return templating.render(request, template, {
        "page": page, "rows": rows, "total": total, "formats": list(backups.EXPORT_FORMATS),
        "destinations": actors.list_for(page.platform, page.caller, "destination",
                                        page.workspace_id),
        "form": form or Form({}), "errors": errors or [],
        "live": any(r["b"].running for r in rows),
        "can_change": page.can(policy.CHANGE)}, status=status)


@router.get("/backups")
def backup_page(request: Request, page: PageDep) -> HTMLResponse:
    return _list(request, page, "backups.html")


@router.get("/backups/list")
def backup_list(request: Request, page: PageDep) -> HTMLResponse:
    """The list alone, swapped in while a backup is being made, exported or restored."""
    return _list(request, page, "backup_rows.html")


def _days(form: Form) -> float | None:
    raw = form.get("expires_days").strip()
    if not raw:
        return None
    try:
        days = float(raw)
    except ValueError:
        raise InvalidInput("invalid backup", [FieldError(
            "expires_days", "must be a number of days", raw)]) from None
    return time.time() + days * DAY


@router.post("/backups")
def create(request: Request, page: PageDep, form: FormDep) -> Response:
    try:
        backups.create_backup(page.platform, page.caller, page.workspace_id,
                              description=form.get("description").strip() or None,
                              expires_at=_days(form),
                              destination_ids=form.getlist("destination") or None)
    except InvalidInput as exc:
        return _list(request, page, "backups.html", form=form, errors=exc.errors, status=422)
    return RedirectResponse(f"{UI}/backups", 303)


@router.post("/backups/{backup_id}/export")
def export(request: Request, backup_id: str, page: PageDep, form: FormDep) -> Response:
    try:
        backups.create_export(page.platform, page.caller, backup_id, form.get("format"),
                              form.get("password") or None)
    except InvalidInput as exc:
        return _list(request, page, "backups.html", errors=exc.errors, status=422)
    return RedirectResponse(f"{UI}/backups", 303)


@router.post("/backups/{backup_id}/export/delete")
def delete_export(backup_id: str, page: PageDep, form: FormDep) -> Response:
    backups.delete_export(page.platform, page.caller, backup_id)
    return RedirectResponse(f"{UI}/backups", 303)


@router.post("/backups/{backup_id}/delete")
def delete(backup_id: str, page: PageDep, form: FormDep) -> Response:
    backups.delete_backup(page.platform, page.caller, backup_id)
    return RedirectResponse(f"{UI}/backups", 303)


def _paths(form: Form) -> backups.PathRestore | None:
    """The files to restore: the ticked ones and those typed (one a line; a folder takes
    everything under it), into the folder given (empty: the server's default) and whether
    it is emptied first; None when no file was named and no folder given."""
    paths = [*form.getlist("path"),
             *(line.strip() for line in form.get("paths").splitlines() if line.strip())]
    target = form.get("target_path").strip() or None
    clear = form.has("clear_target")
    if not paths and target is None and not clear:
        return None
    return backups.PathRestore(source_paths=list(dict.fromkeys(paths)),
                               target_restore_path=target, clear_target_path=clear)


@router.post("/backups/{backup_id}/restore")
def restore(request: Request, backup_id: str, page: PageDep, form: FormDep) -> Response:
    policy.require(page.caller, policy.CHANGE, page.workspace_id)
    tables = []
    for name in form.names():
        if name.startswith("dump.") and form.get("target." + name[5:]):
            tables.append(backups.DatabaseRestore(form.get(name),
                                                  form.get("target." + name[5:])))
    try:
        backups.restore(page.platform, page.caller, backup_id,
                        database_restores=tables or None, path_restore=_paths(form),
                        restore_configuration=form.has("configuration"))
    except (InvalidInput, Conflict) as exc:
        errors = exc.errors if isinstance(exc, InvalidInput) else [
            FieldError("restore", str(exc))]
        return _list(request, page, "backups.html", errors=errors,
                     status=422 if isinstance(exc, InvalidInput) else 409)
    return RedirectResponse(f"{UI}/backups", 303)

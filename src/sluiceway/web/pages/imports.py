"""Imports: a CSV, JSON lines or Parquet file uploaded from the browser into a destination
table, its progress and the rows that did not load (what was wrong, where)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from sluiceway.api.datasets.vocabulary import STATUS_NAMES
from sluiceway.core.errors import FieldError, InvalidInput, TooLarge
from sluiceway.services import actors, datasets, listing, policy
from sluiceway.web import templating
from sluiceway.web.deps import Form, FormDep, Page, PageDep, check_csrf

router = APIRouter()
UI = templating.PREFIX
PAGE = 50
CHUNK = 1024 * 1024
#: the job statuses (this family's names) of an import still loading
PENDING = ("pending", "running")


def _rows(page: Page) -> tuple[list[dict[str, Any]], int]:
    query = listing.Query(page_size=PAGE, count=True, filters=(listing.Filter(
        "workspace_id", "eq", page.workspace_id, "workspace_id"),))
    found, total = datasets.list_imports(page.platform, page.caller, query)
    ids = [a.job_id for a in found if a.job_id is not None]
    jobs = {r.job.id: r.job for r in datasets.list_jobs(page.platform, page.caller, listing.Query(
        page_size=max(len(ids), 1), filters=(listing.Filter("id", "in", ids, "id"),)))[0]
        } if ids else {}
    rows = []
    for a in found:
        status, error = "writing", a.error
        job = jobs.get(a.job_id) if a.job_id is not None else None
        if job is not None:
            status = STATUS_NAMES.get(job.status, job.status)
            error = error or job.error
        elif a.job_id is not None:  # the job was pruned: what the import noted is all
            status = "completed" if a.meta.get("rows") is not None else "unknown"
        rows.append({"a": a, "status": status, "error": error,
                     "table": a.meta.get("table", ""), "mode": a.meta.get("mode", ""),
                     "rows": a.meta.get("rows"), "rejected": a.meta.get("rejected_rows"),
                     "bad": list(a.meta.get("row_errors") or [])})
    return rows, int(total or 0)


def _list(request: Request, page: Page, template: str, *, form: Form | None = None,
          errors: list[FieldError] | None = None, status: int = 200) -> HTMLResponse:
    rows, total = _rows(page)
    return templating.render(request, template, {
        "page": page, "rows": rows, "total": total, "formats": list(datasets.IMPORT_FORMATS),
        "destinations": actors.list_for(page.platform, page.caller, "destination",
                                        page.workspace_id),
        "form": form or Form({}), "errors": errors or [],
        "live": any(r["status"] in PENDING or r["status"] == "writing" for r in rows),
        "can_change": page.can(policy.CHANGE)}, status=status)


@router.get("/imports")
def imports(request: Request, page: PageDep) -> HTMLResponse:
    return _list(request, page, "imports.html")


@router.get("/imports/list")
def import_list(request: Request, page: PageDep) -> HTMLResponse:
    """The list alone, swapped in while an import loads."""
    return _list(request, page, "import_rows.html")


async def _upload(page: Page, req: datasets.ImportRequest, file: UploadFile) -> None:
    cap = page.platform.settings.max_upload_bytes
    if file.size is not None and file.size > cap:
        raise TooLarge("the uploaded file", cap, "SLUICEWAY_MAX_UPLOAD_BYTES")
    upload = await run_in_threadpool(datasets.Upload, page.platform, page.caller, req)
    try:
        while chunk := await file.read(CHUNK):
            await run_in_threadpool(upload.write, chunk)
    except BaseException:
        await run_in_threadpool(upload.abort)
        raise
    await run_in_threadpool(upload.finish)


@router.post("/imports")
async def create(request: Request, page: PageDep) -> Response:
    """The upload form (multipart): its CSRF token is checked before anything is stored."""
    async with request.form(max_files=1, max_fields=20) as data:
        fields = {k: [v] for k, v in data.items() if isinstance(v, str)}
        form = Form(fields)
        check_csrf(request, form.get("csrf"), page.csrf)
        file = data.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            err = [FieldError("file", "choose a file to upload")]
            return await run_in_threadpool(_list, request, page, "imports.html", form=form,
                                           errors=err, status=422)
        try:
            max_bad = int(form.get("max_bad_rows", "1000") or "1000")
        except ValueError:
            err = [FieldError("max_bad_rows", "must be a whole number",
                              form.get("max_bad_rows"))]
            return await run_in_threadpool(_list, request, page, "imports.html", form=form,
                                           errors=err, status=422)
        req = datasets.ImportRequest(
            workspace_id=page.workspace_id, destination_id=form.get("destination"),
            table=form.get("table").strip(), mode=form.get("mode", "append"),
            format=form.get("format") or None, filename=file.filename,
            bad_rows=form.get("bad_rows", "skip"), max_bad_rows=max_bad)
        try:
            await _upload(page, req, file)
        except InvalidInput as exc:
            return await run_in_threadpool(_list, request, page, "imports.html", form=form,
                                           errors=exc.errors, status=422)
    return RedirectResponse(f"{UI}/imports", 303)


@router.post("/imports/{import_id}/delete")
def delete(import_id: str, page: PageDep, form: FormDep) -> Response:
    datasets.delete_file(page.platform, page.caller, import_id, "import")
    return RedirectResponse(f"{UI}/imports", 303)

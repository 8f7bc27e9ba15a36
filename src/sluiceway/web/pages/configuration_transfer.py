"""Configurations moved between spaces as NDJSON: the space's configurations downloaded (those
the list's current search matches), and an upload previewed (each item's decision and action,
nothing written) then imported all or nothing (each invalid line's errors shown)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from sluiceway.core.errors import FieldError, InvalidInput, TooLarge
from sluiceway.services import configuration_transfer, configurations, criteria, policy
from sluiceway.services.configuration_transfer import ImportRefused, ImportResult
from sluiceway.web import templating
from sluiceway.web.deps import Form, Page, PageDep, check_csrf

router = APIRouter()
UI = templating.PREFIX
#: the characters of an upload kept in the form for the import after a preview
KEPT = 900_000


def _selected(page: Page, q: dict[str, str]) -> list[tuple[str, str]] | None:
    """The configurations the list's filter (search, label, favourites) matches; None when
    there is no filter but the type (the export then takes all of them)."""
    term, label = q.get("q", "").strip(), q.get("label", "").strip()
    favourites = q.get("favourites") == "1"
    if not (term or label or favourites):
        return None
    where = criteria.Group("and", (criteria.Group("or", tuple(
        criteria.Cond(f, "ilike", term) for f in ("name", "identifier", "description"))),)
        if term else ())
    found, _ = configurations.list_configurations(
        page.platform, page.caller, page.workspace_id,
        criteria.Criteria(where, (), criteria.MAX_LIMIT, 0), q.get("type", "").strip() or None,
        label=label or None, favourites=favourites)
    return [(v.type, v.identifier) for v in found]


@router.get("/configurations/export")
def export(request: Request, page: PageDep) -> Response:
    q = dict(request.query_params)
    type_ = q.get("type", "").strip() or None
    items = configuration_transfer.export_configurations(
        page.platform, page.caller, page.workspace_id, _selected(page, q), type_)
    body = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    name = f"configurations-{page.identifier}.ndjson"
    return Response(body, media_type="application/x-ndjson", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        **templating.SECURITY_HEADERS})


def _render(request: Request, page: Page, *, text: str = "", result: ImportResult | None
            = None, lines: list[int] | None = None, errors: list[FieldError] | None = None,
            dry_run: bool = True, status: int = 200) -> HTMLResponse:
    rows: list[dict[str, Any]] = []
    if result is not None:
        rows = [{"line": (lines or [])[i] if lines and i < len(lines) else i + 1,
                 "item": r} for i, r in enumerate(result.results)]
    return templating.render(request, "configuration_transfer.html", {
        "page": page, "text": text if len(text) <= KEPT else "", "result": result,
        "rows": rows, "errors": errors or [], "dry_run": dry_run,
        "can_change": page.can(policy.CHANGE)}, status=status)


@router.get("/configurations/transfer")
def transfer_form(request: Request, page: PageDep) -> HTMLResponse:
    policy.require(page.caller, policy.CHANGE, page.workspace_id)
    return _render(request, page)


def _lines(text: str) -> list[int]:
    """The line number of each item (blank lines are skipped, as the parser skips them)."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


@router.post("/configurations/transfer")
async def transfer(request: Request, page: PageDep) -> Response:
    """The upload form (multipart): its CSRF token is checked before anything is read."""
    cap = page.platform.settings.max_upload_bytes
    async with request.form(max_files=1, max_fields=10) as data:
        form = Form({k: [v] for k, v in data.items() if isinstance(v, str)})
        check_csrf(request, form.get("csrf"), page.csrf)
        policy.require(page.caller, policy.CHANGE, page.workspace_id)
        file = data.get("file")
        raw = b""
        if isinstance(file, UploadFile) and file.filename:
            if file.size is not None and file.size > cap:
                raise TooLarge("the uploaded file", cap, "SLUICEWAY_MAX_UPLOAD_BYTES")
            raw = await file.read(cap + 1)
            if len(raw) > cap:
                raise TooLarge("the uploaded file", cap, "SLUICEWAY_MAX_UPLOAD_BYTES")
        else:
            raw = form.get("ndjson").encode()
    text = raw.decode("utf-8", "replace")
    dry_run = form.get("mode") != "import"
    items = configuration_transfer.parse_ndjson(raw)
    if not items:
        return _render(request, page, errors=[FieldError(
            "file", "choose an NDJSON file (one configuration a line) or paste its lines")],
            status=422)
    try:
        result = configuration_transfer.import_configurations(
            page.platform, page.caller, page.workspace_id, items, dry_run=dry_run)
    except ImportRefused as exc:
        return _render(request, page, text=text, result=exc.result, lines=_lines(text),
                       dry_run=False, status=422)
    except InvalidInput as exc:
        return _render(request, page, text=text, errors=exc.errors, status=422)
    return _render(request, page, text=text, result=result, lines=_lines(text),
                   dry_run=dry_run, status=200 if result.valid else 422)


"""Dumps: a multi-step read of one source into a JSON lines file (the config of
:mod:`sluiceway.services.dumps`), its progress, its collected output, its download (a signed
link) and its deletion."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.api.datasets.vocabulary import STATUS_NAMES
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import actors, artifacts, dumps, policy
from sluiceway.web import templating
from sluiceway.web.deps import Form, FormDep, Page, PageDep

router = APIRouter()
UI = templating.PREFIX
#: the ledger's statuses of a dump still to finish
PENDING = ("pending", "incomplete", "running")
EXAMPLE = json.dumps({"parameters": {}, "steps": [{"id": "first", "type": "resources",
                                                   "parameters": {"stream": "users"}}],
                      "output": [{"source": "steps", "id": "first", "key": "id",
                                  "label": "ids"}]}, indent=2)


def _context(page: Page, source: str) -> dict[str, Any]:
    sources = actors.list_for(page.platform, page.caller, "source", page.workspace_id)
    chosen = next((a for a in sources if a.id == source), sources[0] if sources else None)
    rows: list[dict[str, Any]] = []
    if chosen is not None:
        for d in dumps.list_dumps(page.platform, page.caller, chosen.id):
            link = (f"/apis/{d.api_id}/dumps/{d.id}/download?"
                    f"{artifacts.signed_query(page.platform, d.id)}"
                    if d.status == "succeeded" else None)
            output = d.meta.get("output") if d.status == "succeeded" else None
            rows.append({"d": d, "link": link,
                         "status": STATUS_NAMES.get(d.status, d.status),
                         "config": json.dumps(d.meta.get("config"), indent=2),
                         "output": json.dumps(output, indent=2) if output else None})
    return {"page": page, "sources": sources, "chosen": chosen, "rows": rows,
            "live": any(r["d"].status in PENDING for r in rows),
            "can_change": page.can(policy.CHANGE)}


def _render(request: Request, page: Page, template: str, source: str, *,
            form: Form | None = None, errors: list[FieldError] | None = None,
            status: int = 200) -> HTMLResponse:
    return templating.render(request, template, {
        **_context(page, source), "form": form or Form({}), "errors": errors or [],
        "example": EXAMPLE}, status=status)


@router.get("/dumps")
def dump_page(request: Request, page: PageDep, source: str = "") -> HTMLResponse:
    return _render(request, page, "dumps.html", source)


@router.get("/dumps/list")
def dump_list(request: Request, page: PageDep, source: str = "") -> HTMLResponse:
    """The list alone, swapped in while a dump runs."""
    return _render(request, page, "dump_rows.html", source)


def _back(source: str) -> RedirectResponse:
    return RedirectResponse(f"{UI}/dumps?source={quote(source)}", 303)


@router.post("/dumps")
def create(request: Request, page: PageDep, form: FormDep) -> Response:
    source = form.get("source")
    try:
        try:
            config = json.loads(form.get("config"))
        except ValueError as exc:
            raise InvalidInput("invalid dump", [FieldError(
                "config", f"is not JSON: {exc}")]) from None
        dumps.create(page.platform, page.caller, source, config)
    except InvalidInput as exc:
        return _render(request, page, "dumps.html", source, form=form, errors=exc.errors,
                       status=422)
    return _back(source)


@router.post("/dumps/{source_id}/{dump_id}/delete")
def delete(source_id: str, dump_id: str, page: PageDep, form: FormDep) -> Response:
    dumps.delete(page.platform, page.caller, source_id, dump_id)
    return _back(source_id)

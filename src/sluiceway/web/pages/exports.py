"""Exports: one stream of a source into a file (CSV, JSON lines, Parquet ...) with a row
filter (conditions that must all hold, or the datasets API's JSON filter), its progress and
its download (a signed link, as the API gives it)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import FieldError, InvalidInput, SluicewayError
from sluiceway.services import actors, artifacts, datasets, listing, policy
from sluiceway.web import templating
from sluiceway.web.deps import Form, FormDep, Page, PageDep

router = APIRouter()
UI = templating.PREFIX
FORMAT_CHOICES = ("csv", "tsv", "jsonl", "json", "parquet", "xlsx")
PAGE = 50
PENDING = ("pending", "writing")
#: the filter rows the form shows (more conditions go into the JSON filter)
CONDITIONS = 3
OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "starts_with",
             "is_null", "not_null")


def _value(text: str) -> Any:
    """A condition's value: JSON when it reads as JSON (a number, true, a list), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def row_filter(form: Form) -> Any:
    """The export's filter: the JSON filter when given, else the filled condition rows (all
    must hold), else none."""
    raw = form.get("filter_json").strip()
    if raw:
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise InvalidInput("invalid export", [FieldError(
                "filter", f"must be valid JSON ({exc})", raw[:200])]) from None
    spec = []
    for i in range(CONDITIONS):
        column = form.get(f"column.{i}").strip()
        if not column:
            continue
        op = form.get(f"op.{i}", "eq")
        cond: dict[str, Any] = {"column": column, "op": op}
        if op not in ("is_null", "not_null"):
            cond["value"] = _value(form.get(f"value.{i}").strip())
        spec.append(cond)
    return spec or None


def _rows(page: Page) -> tuple[list[dict[str, Any]], int]:
    query = listing.Query(page_size=PAGE, count=True, filters=(listing.Filter(
        "workspace_id", "eq", page.workspace_id, "workspace_id"),))
    found, total = datasets.list_exports(page.platform, page.caller, query)
    rows = [{"a": a, "stream": (a.meta or {}).get("stream", ""),
             "link": (f"/exports/{a.id}/download?"
                      f"{artifacts.signed_query(page.platform, a.id)}")
             if a.phase == "completed" else None} for a in found]
    return rows, int(total or 0)


def _list(request: Request, page: Page, template: str, *, form: Form | None = None,
          errors: list[FieldError] | None = None, status: int = 200,
          streams: list[str] | None = None) -> HTMLResponse:
    rows, total = _rows(page)
    return templating.render(request, template, {
        "page": page, "rows": rows, "total": total, "formats": FORMAT_CHOICES,
        "sources": actors.list_for(page.platform, page.caller, "source", page.workspace_id),
        "form": form or Form({}), "errors": errors or [], "operators": OPERATORS,
        "conditions": range(CONDITIONS), "streams": streams,
        "live": any(r["a"].phase in PENDING for r in rows),
        "can_change": page.can(policy.CHANGE)}, status=status)


@router.get("/exports")
def exports(request: Request, page: PageDep) -> HTMLResponse:
    return _list(request, page, "exports.html")


@router.get("/exports/list")
def export_list(request: Request, page: PageDep) -> HTMLResponse:
    """The list alone, swapped in while an export is being written."""
    return _list(request, page, "export_rows.html")


def _streams(page: Page, source_id: str) -> tuple[list[str], list[FieldError]]:
    """The source's streams (discovered now), or why they cannot be read."""
    try:
        catalog = actors.discover(page.platform, page.caller, source_id)
    except InvalidInput as exc:
        return [], [FieldError("source", "; ".join(e.reason for e in exc.errors))]
    except SluicewayError as exc:
        return [], [FieldError("source", str(exc))]
    return sorted(st.name for st in catalog.streams), []


@router.post("/exports")
def create(request: Request, page: PageDep, form: FormDep) -> Response:
    if form.has("list"):  # the source's streams to choose from; nothing is exported
        policy.require(page.caller, policy.CHANGE, page.workspace_id)
        streams, errors = _streams(page, form.get("source"))
        return _list(request, page, "exports.html", form=form, errors=errors,
                     status=422 if errors else 200, streams=streams or None)
    columns = [c.strip() for c in form.get("columns").split(",") if c.strip()]
    try:
        datasets.create_export(page.platform, page.caller, datasets.ExportRequest(
            workspace_id=page.workspace_id, source_id=form.get("source") or None,
            destination_id=None, stream=form.get("stream").strip(), columns=columns or None,
            filter=row_filter(form), format=form.get("format", "csv")))
    except InvalidInput as exc:
        return _list(request, page, "exports.html", form=form, errors=exc.errors, status=422)
    return RedirectResponse(f"{UI}/exports", 303)


@router.post("/exports/{export_id}/delete")
def delete(export_id: str, page: PageDep, form: FormDep) -> Response:
    datasets.delete_file(page.platform, page.caller, export_id, "export")
    return RedirectResponse(f"{UI}/exports", 303)

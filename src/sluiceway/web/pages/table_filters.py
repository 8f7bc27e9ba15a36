"""Saved filters of the UI's filtered lists (configurations, tasks, logs, processes): each
user's own (:mod:`sluiceway.services.table_filters`), saved from a list's filter with a
name, applied from a choice on that list, and deleted. A filter holds the list's query
fields (``q``, ``status``, ...) under the table key ``ui/<list>``; a filter saved for another
table (through the API) is not offered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.services import criteria, table_filters
from sluiceway.services.table_filters import FilterView
from sluiceway.web import templating
from sluiceway.web.deps import Form, FormDep, Page, PageDep

router = APIRouter()
UI = templating.PREFIX
#: a saved filter's field in the form that saves it: ``f.<query field>``
FIELD = "f."


@dataclass(frozen=True)
class Table:
    path: str
    #: the query fields of the list's filter form
    fields: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"{UI}{self.path}"


TABLES = {
    "configurations": Table("/configurations", ("q", "type", "label", "favourites")),
    "tasks": Table("/tasks", ("status", "route", "entity_type", "entity")),
    "logs": Table("/logs", ("q", "start", "end")),
    "processes": Table("/processes", ("status",)),
}


def table_key(table: str) -> str:
    return f"ui/{table}"


def saved(page: Page, table: str) -> list[FilterView]:
    """The caller's saved filters of ``table``, by name."""
    found, _ = table_filters.list_own(page.platform, page.caller, criteria.Criteria(
        criteria.Group("and", (criteria.Cond("tableKey", "eq", table_key(table)),)),
        (("name", False),), criteria.MAX_LIMIT))
    return found


def _table(raw: str) -> tuple[str, Table]:
    if raw not in TABLES:
        raise InvalidInput("invalid table filter", [FieldError(
            "table", "must be one of " + ", ".join(TABLES), raw)])
    return raw, TABLES[raw]


def _query(table: Table, values: Mapping[str, object]) -> str:
    return urlencode({k: v for k in table.fields
                      if isinstance(v := values.get(k), str) and v.strip()})


def _own(page: Page, form: Form) -> tuple[FilterView, str, Table]:
    """The caller's filter the form names, and its list (another user's is not found)."""
    filter_id = form.get("id")
    found, _ = table_filters.list_own(page.platform, page.caller, criteria.Criteria(
        criteria.Group("and", (criteria.Cond("identifier", "eq", filter_id),)), (), 1))
    if not found:
        raise NotFound(f"table filter {filter_id} not found", filter_id)
    view = found[0]
    name = view.table_key.removeprefix("ui/")
    if not view.table_key.startswith("ui/") or name not in TABLES:
        raise NotFound(f"table filter {filter_id} is of the table {view.table_key!r}, "
                       "which has no page here", filter_id)
    return view, name, TABLES[name]


@router.post("/filters")
def save_filter(page: PageDep, form: FormDep) -> RedirectResponse:
    """Save the filter a list shows under a name (the fields ``f.<query field>``)."""
    name, table = _table(form.get("table"))
    values = {k: form.get(FIELD + k).strip() for k in table.fields
              if form.get(FIELD + k).strip()}
    table_filters.create(page.platform, page.caller, table_filters.FilterInput(
        table_key(name), form.get("name").strip(), values))
    query = _query(table, values)
    return RedirectResponse(table.url + (f"?{query}" if query else ""), 303)


@router.post("/filters/apply")
def apply_filter(page: PageDep, form: FormDep) -> RedirectResponse:
    view, _, table = _own(page, form)
    query = _query(table, view.filter)
    return RedirectResponse(table.url + (f"?{query}" if query else ""), 303)


@router.post("/filters/delete")
def delete_filter(page: PageDep, form: FormDep) -> RedirectResponse:
    view, _, table = _own(page, form)
    table_filters.delete(page.platform, page.caller, view.id)
    return RedirectResponse(table.url, 303)

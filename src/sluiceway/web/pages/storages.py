"""Alumio storages: the space's storages with what each keeps, a storage's entities (searched
by key, paged by the service's cursor), and deleting one entity or clearing a storage."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import criteria, policy, storages
from sluiceway.web import templating
from sluiceway.web.deps import FormDep, PageDep

router = APIRouter()
UI = templating.PREFIX
PAGE = 50
#: the characters of a value shown before it is cut
SHOWN = 2000


def _search(term: str) -> criteria.Group:
    if not term:
        return criteria.Group("and", ())
    return criteria.Group("or", tuple(criteria.Cond(f, "ilike", term)
                                      for f in ("identifier", "name")))


@router.get("/storages")
def storage_list(request: Request, page: PageDep, q: str = "") -> HTMLResponse:
    found, total = storages.list_storages(page.platform, page.caller, page.workspace_id,
                                          criteria.Criteria(_search(q.strip()), (),
                                                            criteria.MAX_LIMIT))
    return templating.render(request, "storages.html", {
        "page": page, "rows": found, "total": total, "term": q})


def _shown(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN else text[:SHOWN] + "\n…"


@router.get("/storages/{storage}")
def storage_page(request: Request, storage: str, page: PageDep, q: str = "",
                 next: str = "") -> HTMLResponse:  # noqa: A002
    term = q.strip()
    where = criteria.Group("and", (criteria.Cond("identifier", "ilike", term),) if term
                           else ())
    errors: list[FieldError] = []
    try:
        found = storages.list_entities(page.platform, page.caller, page.workspace_id,
                                       storage, criteria.Criteria(where, (), PAGE),
                                       next or None)
    except InvalidInput as exc:
        if not next:
            raise
        errors = exc.errors
        found = storages.list_entities(page.platform, page.caller, page.workspace_id,
                                       storage, criteria.Criteria(where, (), PAGE))
    return templating.render(request, "storage.html", {
        "page": page, "storage": storage, "term": term, "found": found, "errors": errors,
        "entities": [(e, _shown(e.value)) for e in found.entities], "first": not next,
        "can_change": page.can(policy.CHANGE)}, status=422 if errors else 200)


def _page_url(storage: str) -> str:
    return f"{UI}/storages/{quote(storage, safe='')}"


@router.post("/storages/{storage}/entities/delete")
def delete_entity(storage: str, page: PageDep, form: FormDep) -> Response:
    storages.delete_entity(page.platform, page.caller, page.workspace_id, storage,
                           form.get("entity"))
    return RedirectResponse(_page_url(storage), 303)


@router.post("/storages/{storage}/clear")
def clear(storage: str, page: PageDep, form: FormDep) -> Response:
    storages.clear(page.platform, page.caller, page.workspace_id, storage)
    return RedirectResponse(_page_url(storage), 303)

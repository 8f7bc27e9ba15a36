"""The search of the space shown (the API's ``/search``): free text over the names and
identifiers of its configurations, the routes and entities of its tasks and the names and
descriptions of its variables, with ``field:value`` terms; each hit links to its page. The
box is in every page's header."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import criteria, search
from sluiceway.web import templating
from sluiceway.web.deps import PageDep

router = APIRouter()
#: the hits of each kind a page shows
PAGE = 25
#: the longest query read
MAX_QUERY = 1000


@router.get("/search")
def search_page(request: Request, page: PageDep, q: str = "", p: str = "1") -> HTMLResponse:
    try:
        number = max(1, int(p))
    except ValueError:
        number = 1
    term = q.strip()
    errors: list[FieldError] = []
    found: search.SearchResult | None = None
    if len(term) > MAX_QUERY:
        errors.append(FieldError("q", f"must be at most {MAX_QUERY} characters", term[:40]))
    elif term:
        try:
            found = search.search(page.platform, page.caller, page.workspace_id, term,
                                  criteria.Criteria(limit=PAGE, skip=(number - 1) * PAGE))
        except InvalidInput as exc:
            errors = [FieldError("q" if e.path == "query" else e.path, e.reason, e.value)
                      for e in exc.errors]
    most = max((found.configurations_total, found.tasks_total, found.variables_total)
               if found else (0,))
    return templating.render(request, "search.html", {
        "page": page, "term": term, "found": found, "errors": errors, "number": number,
        "pages": max(1, -(-most // PAGE)), "query": urlencode({"q": term}),
        "terms": sorted({*search.CONFIGURATION_TERMS, *search.VARIABLE_TERMS,
                         *search.TASK_TERMS})}, status=422 if errors else 200)

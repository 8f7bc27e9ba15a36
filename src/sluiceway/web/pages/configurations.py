"""Alumio configurations: the list with search, type, label and favourite filters; labels
and favourites set from the list; a configuration's history with a side-by-side diff of two
revisions and the restore of one."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import configuration_history, configurations, criteria, policy, prototypes
from sluiceway.services.configuration_history import RevisionView
from sluiceway.web import templating
from sluiceway.web.deps import FormDep, PageDep
from sluiceway.web.diff import side_by_side

router = APIRouter()
UI = templating.PREFIX
PAGE = 50
HISTORY = 100


def _number(raw: str) -> int:
    try:
        return max(1, int(raw))
    except ValueError:
        return 1


@router.get("/configurations")
def configuration_list(request: Request, page: PageDep) -> HTMLResponse:
    q = request.query_params
    term, type_, label = (q.get("q", "").strip(), q.get("type", "").strip(),
                          q.get("label", "").strip())
    favourites = q.get("favourites") == "1"
    number = _number(q.get("p", "1"))
    parts: list[criteria.Cond | criteria.Group] = []
    if term:
        parts.append(criteria.Group("or", tuple(criteria.Cond(f, "ilike", term) for f in (
            "name", "identifier", "description"))))
    where = criteria.Group("and", tuple(parts))
    in_memory = bool(label) or favourites
    c = (criteria.Criteria(where, (), criteria.MAX_LIMIT, 0) if in_memory
         else criteria.Criteria(where, (), PAGE, (number - 1) * PAGE))
    found, total = configurations.list_configurations(page.platform, page.caller,
                                                      page.workspace_id, c, type_ or None)
    if in_memory:
        # labels and favourites are lists: matched here, among the first MAX_LIMIT found
        found = [v for v in found if (not label or label in v.labels)
                 and (not favourites or "favourite" in v.tags)]
        total = len(found)
        found = found[(number - 1) * PAGE:number * PAGE]
    query = {k: v for k, v in q.items() if k != "p"}
    back = f"{UI}/configurations" + (f"?{urlencode(q)}" if q else "")
    return templating.render(request, "configurations.html", {
        "page": page, "rows": found, "total": total, "q": query, "term": term,
        "type": type_, "label": label, "favourites": favourites, "back": back,
        "types": [t.identifier for t in prototypes.types()], "number": number,
        "pages": max(1, -(-total // PAGE)), "can_change": page.can(policy.CHANGE)})


def _back(raw: str) -> str:
    """Where to return after a change from the list: a page of the list, nothing else."""
    return raw if raw.startswith(f"{UI}/configurations") else f"{UI}/configurations"


def _history_url(type_: str, identifier: str) -> str:
    return f"{UI}/configurations/{quote(type_)}/{quote(identifier)}/history"


@router.post("/configurations/{type_}/{identifier}/favourite")
def favourite(type_: str, identifier: str, page: PageDep, form: FormDep) -> Response:
    configurations.toggle_favourite(page.platform, page.caller, page.workspace_id, type_,
                                    identifier)
    return RedirectResponse(_back(form.get("back")), 303)


@router.post("/configurations/{type_}/{identifier}/labels")
def labels(type_: str, identifier: str, page: PageDep, form: FormDep) -> Response:
    given = [x.strip() for x in form.get("labels").split(",") if x.strip()]
    configurations.set_labels(page.platform, page.caller, page.workspace_id, type_,
                              identifier, given)
    return RedirectResponse(_back(form.get("back")), 303)


def _state(r: RevisionView) -> str:
    """What a revision holds, as the text the diff compares."""
    return json.dumps({"name": r.name, "description": r.description, "disabled": r.disabled,
                       "labels": list(r.labels), "object": r.object}, indent=2,
                      sort_keys=True, ensure_ascii=False)


@router.get("/configurations/{type_}/{identifier}/history")
def history(request: Request, type_: str, identifier: str, page: PageDep,
            a: str = "", b: str = "") -> HTMLResponse:
    revisions, total = configuration_history.history(
        page.platform, page.caller, page.workspace_id, type_, identifier,
        criteria.Criteria(limit=HISTORY))
    by_ulid = {r.ulid: r for r in revisions}
    errors = [f"revision {u} is not among the latest {HISTORY} of this configuration"
              for u in (a, b) if u and u not in by_ulid]
    # by default: the newest revision against the one before it
    new = by_ulid.get(b) or (revisions[0] if revisions else None)
    old = by_ulid.get(a) or (revisions[1] if len(revisions) > 1 else new)
    rows = side_by_side(_state(old), _state(new)) if old and new else []
    return templating.render(request, "configuration_history.html", {
        "page": page, "type": type_, "identifier": identifier, "revisions": revisions,
        "total": total, "old": old, "new": new, "rows": rows, "errors": errors,
        "changed": any(r.kind != "same" for r in rows),
        "url": _history_url(type_, identifier), "can_change": page.can(policy.CHANGE)},
        status=422 if errors else 200)


@router.post("/configurations/{type_}/{identifier}/restore")
def restore(type_: str, identifier: str, page: PageDep, form: FormDep) -> Response:
    ulid = form.get("revision")
    if not ulid:
        raise InvalidInput("invalid restore", [FieldError("revision",
                                                            "choose a revision to restore")])
    configuration_history.restore(page.platform, page.caller, page.workspace_id, type_,
                                  identifier, ulid)
    return RedirectResponse(_history_url(type_, identifier), 303)

"""Alumio configurations: the list with search, type, label and favourite filters; labels
and favourites set from the list; a configuration's history with a side-by-side diff of two
revisions and the restore of one; a form per prototype generated from its JSON Schema to
create and edit one (each save a revision; a route's transformers an ordered list), and a
test panel that runs a transformer or route's transformers as the form has them, saved or
not, on a sample entity (nothing saved); on a
configuration's page, what it uses and what uses it, enable / disable, delete (refused while
another names it), for a route "Run now" (the queue's ``route:run``) and, for a transformer,
its test cases (the ``transformer-test`` configurations it owns: listed, added, deleted)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.services import (
    configuration_graph,
    configuration_history,
    configuration_relations,
    configuration_tests,
    configurations,
    criteria,
    policy,
    prototypes,
    routes,
    transformer_run,
)
from sluiceway.services.configuration_history import RevisionView
from sluiceway.services.configurations import ConfigurationInput
from sluiceway.services.transformer_run import ROUTE_TYPE
from sluiceway.web import forms, templating
from sluiceway.web.deps import Form, FormDep, Page, PageDep
from sluiceway.web.diff import side_by_side
from sluiceway.web.pages.table_filters import saved

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
    found, total = configurations.list_configurations(
        page.platform, page.caller, page.workspace_id,
        criteria.Criteria(where, (), PAGE, (number - 1) * PAGE), type_ or None,
        label=label or None, favourites=favourites)
    query = {k: v for k, v in q.items() if k != "p"}
    back = f"{UI}/configurations" + (f"?{urlencode(q)}" if q else "")
    return templating.render(request, "configurations.html", {
        "page": page, "rows": found, "total": total, "q": query, "term": term,
        "type": type_, "label": label, "favourites": favourites, "back": back,
        "types": [t.identifier for t in prototypes.types()], "number": number,
        "pages": max(1, -(-total // PAGE)), "can_change": page.can(policy.CHANGE),
        "saved_filters": saved(page, "configurations")})


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


# --- creating and editing: a form generated from the prototype's JSON Schema ------------------

PARAMETERS = "object.parameters."
#: the types whose transformers the test panel runs on a sample entity
RUNNABLE = transformer_run.RUNNABLE
#: the type of the configurations each type owns (its relations), shown on its page
OWNED = {"transformer": "transformer-test"}


def _edit_url(type_: str, identifier: str) -> str:
    return f"{UI}/configurations/{quote(type_)}/{quote(identifier)}"


def _choices(page: Page, fields: list[forms.Field]) -> dict[str, list[tuple[str, str]]]:
    """The space's configurations of each type a reference input names."""
    out: dict[str, list[tuple[str, str]]] = {}
    for f in fields:
        if f.reference is None or f.reference in out:
            continue
        try:
            rows, _ = configurations.list_configurations(
                page.platform, page.caller, page.workspace_id,
                criteria.Criteria(limit=criteria.MAX_LIMIT), f.reference)
        except NotFound:
            rows = []
        out[f.reference] = [(v.identifier, v.name) for v in rows]
    return out


@dataclass(frozen=True)
class _State:
    """What the form shows: the inputs as sent (or stored), and what is wrong with them."""

    name: str = ""
    description: str = ""
    labels: str = ""
    identifier: str = ""
    parameters: dict[str, Any] | None = None
    errors: tuple[FieldError, ...] = ()
    #: what was typed into inputs that could not be read, by their config path
    typed: dict[str, str] = field(default_factory=dict)


def _editor(request: Request, page: Page, type_: str, proto: prototypes.Prototype,
            view: configurations.ConfigurationView | None, state: _State, *,
            status: int = 200, saved: bool = False, trial: transformer_run.RunResult | None
            = None, entity_text: str = "", stop_at: str = "",
            trial_errors: dict[str, str] | None = None,
            refused: str = "", case: Form | None = None,
            case_errors: list[str] | None = None,
            case_results: dict[str, configuration_tests.CaseResult] | None = None,
            ) -> HTMLResponse:
    fields = forms.fields(proto.schema, state.parameters, editing=view is not None,
                          structured=True, typed=state.typed)
    params = [e for e in state.errors if e.path.startswith(PARAMETERS)
              or e.path == PARAMETERS.rstrip(".")]
    top = {e.path: e.reason for e in state.errors if e not in params}
    general = [str(e) for e in state.errors if e not in params and e.path not in (
        "name", "identifier", "labels")]
    errors = forms.alternative_errors(proto.schema, state.parameters or {},
                                      forms.error_map(params, PARAMETERS))
    if "" in errors:
        general.append(errors.pop(""))
    shown = {f.dotted for f in forms.flat(fields)}
    for path in [p for p in errors if p not in shown]:
        # an error inside a map or an alternative's object belongs to its input
        owner = max((d for d in shown if path.startswith(d + ".")), key=len, default=None)
        if owner is not None:
            reason = f"{path[len(owner) + 1:]}: {errors.pop(path)}"
            errors[owner] = f"{errors[owner]}; {reason}" if owner in errors else reason
    general += [f"{path}: {reason}" for path, reason in errors.items() if path not in shown]
    if refused:
        general.append(refused)
    uses: list[configuration_graph.Edge] = []
    used_by: list[configuration_graph.Edge] = []
    if view is not None:
        node, = configuration_graph.resolve(page.platform, page.caller, page.workspace_id,
                                            [(type_, view.identifier)])
        uses = [e for e in node.relationships if e.relation == "uses"]
        used_by = [e for e in node.relationships if e.relation == "used-by"]
    owned = OWNED.get(type_)
    cases: list[configurations.ConfigurationView] = []
    cases_total = 0
    if view is not None and owned is not None:
        cases, cases_total = configuration_relations.list_relations(
            page.platform, page.caller, page.workspace_id, owned, view.identifier,
            criteria.Criteria(limit=criteria.MAX_LIMIT))
    steps: list[str] = []
    if view is not None and type_ in RUNNABLE and page.can(policy.CHANGE):
        steps = transformer_run.step_names(
            page.platform, page.caller, page.workspace_id, type_, view.identifier,
            {"prototype": proto.identifier, "parameters": state.parameters or {}})
    new = urlencode({"type": type_, "prototype": proto.identifier})
    action = (_edit_url(type_, view.identifier) if view is not None
              else f"{UI}/configurations/new?{new}")
    return templating.render(request, "configuration_edit.html", {
        "page": page, "type": type_, "prototype": proto, "view": view, "action": action,
        "name": state.name, "description": state.description, "labels": state.labels,
        "identifier": state.identifier, "fields": fields, "errors": errors, "top": top,
        "general": general, "choices": _choices(page, forms.flat(fields)), "saved": saved,
        "can_change": page.can(policy.CHANGE), "runnable": type_ in RUNNABLE,
        "trial": trial, "entity_text": entity_text, "stop_at": stop_at,
        "trial_errors": trial_errors or {}, "steps": steps, "uses": uses, "used_by": used_by,
        "route": type_ == ROUTE_TYPE, "owned": owned, "cases": cases,
        "cases_total": cases_total, "case": case or Form({}), "case_errors": case_errors or [],
        "case_results": case_results},
        status=status)


def _stored(view: configurations.ConfigurationView) -> _State:
    return _State(view.name, view.description, ", ".join(view.labels), view.identifier,
                  dict(view.object.get("parameters") or {}))


def _apply_op(parameters: dict[str, Any], op: str) -> None:
    """Move a step of an ordered list up or down, or remove it (``up:path:index``)."""
    verb, _, rest = op.partition(":")
    path, _, index = rest.rpartition(":")
    node: Any = parameters
    for key in path.split(".")[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    items = node.get(path.split(".")[-1]) if isinstance(node, dict) else None
    if not isinstance(items, list) or not index.isdigit() or int(index) >= len(items):
        return
    i = int(index)
    if verb == "up" and i > 0:
        items[i - 1], items[i] = items[i], items[i - 1]
    elif verb == "down" and i + 1 < len(items):
        items[i + 1], items[i] = items[i], items[i + 1]
    elif verb == "remove":
        del items[i]


def _read(proto: prototypes.Prototype, form: Form, *, editing: bool) -> _State:
    parameters, bad = forms.parse(proto.schema, form, editing=editing, omit_blank_objects=True,
                                  structured=True)
    if form.get("op"):
        _apply_op(parameters, form.get("op"))
    return _State(form.get("name").strip(), form.get("description").strip(),
                  form.get("labels"), form.get("identifier").strip(), parameters,
                  tuple(FieldError(PARAMETERS + e.path, e.reason, e.value) for e in bad),
                  {e.path: e.value for e in bad if isinstance(e.value, str)})


def _labels(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _prototype(type_: str, identifier: str) -> prototypes.Prototype:
    t = prototypes.get_type(type_)
    return t.prototype(identifier or t.default_prototype or "")


@router.get("/configurations/new")
def new_configuration(request: Request, page: PageDep, type: str = "",
                      prototype: str = "") -> HTMLResponse:
    policy.require(page.caller, policy.CHANGE, page.workspace_id)
    if type and (prototype or prototypes.get_type(type).default_prototype):
        proto = _prototype(type, prototype)
        return _editor(request, page, type, proto, None, _State())
    return templating.render(request, "configuration_new.html", {
        "page": page, "types": prototypes.types(), "type": type,
        "prototypes": prototypes.get_type(type).prototypes if type else []})


@router.post("/configurations/new")
def create_configuration(request: Request, page: PageDep, form: FormDep, type: str = "",
                         prototype: str = "") -> Response:
    policy.require(page.caller, policy.CHANGE, page.workspace_id)
    proto = _prototype(type, prototype)
    state = _read(proto, form, editing=False)
    if form.get("op") or state.errors:
        return _editor(request, page, type, proto, None, state,
                       status=422 if state.errors else 200)
    try:
        view = configurations.create(page.platform, page.caller, page.workspace_id,
                                     ConfigurationInput(
                                         type=type, identifier=state.identifier or None,
                                         name=state.name or None,
                                         description=state.description,
                                         labels=_labels(state.labels),
                                         object={"prototype": proto.identifier,
                                                 "parameters": state.parameters}))
    except InvalidInput as exc:
        return _editor(request, page, type, proto, None,
                       _State(**{**state.__dict__, "errors": tuple(exc.errors)}), status=422)
    return RedirectResponse(_edit_url(type, view.identifier) + "?saved=1", 303)


@router.get("/configurations/{type_}/{identifier}")
def edit_configuration(request: Request, type_: str, identifier: str, page: PageDep,
                       saved: str = "") -> HTMLResponse:
    view = configurations.get(page.platform, page.caller, page.workspace_id, type_,
                              identifier)
    proto = prototypes.get_prototype(type_, str(view.object.get("prototype")))
    return _editor(request, page, type_, proto, view, _stored(view), saved=saved == "1")


@router.post("/configurations/{type_}/{identifier}")
def save_configuration(request: Request, type_: str, identifier: str, page: PageDep,
                       form: FormDep) -> Response:
    policy.require(page.caller, policy.CHANGE, page.workspace_id)
    view = configurations.get(page.platform, page.caller, page.workspace_id, type_,
                              identifier)
    proto = prototypes.get_prototype(type_, str(view.object.get("prototype")))
    state = _read(proto, form, editing=True)
    if form.get("op") or state.errors:
        return _editor(request, page, type_, proto, view, state,
                       status=422 if state.errors else 200, entity_text=form.get("entity"),
                       stop_at=form.get("stop").strip())
    try:
        configurations.update(page.platform, page.caller, page.workspace_id,
                              ConfigurationInput(
                                  type=type_, identifier=identifier,
                                  name=state.name or view.name,
                                  description=state.description,
                                  labels=_labels(state.labels),
                                  object={"prototype": proto.identifier,
                                          "parameters": state.parameters}), full=False)
    except InvalidInput as exc:
        return _editor(request, page, type_, proto, view,
                       _State(**{**state.__dict__, "errors": tuple(exc.errors)}), status=422)
    return RedirectResponse(_edit_url(type_, identifier) + "?saved=1", 303)


@router.post("/configurations/{type_}/{identifier}/status")
def set_status(type_: str, identifier: str, page: PageDep, form: FormDep) -> Response:
    state = form.get("disabled")
    if state not in ("0", "1"):
        raise InvalidInput("invalid status", [FieldError(
            "disabled", "must be 1 (disable) or 0 (enable)", state)])
    configurations.set_status(page.platform, page.caller, page.workspace_id, type_,
                              identifier, state == "1")
    return RedirectResponse(_edit_url(type_, identifier), 303)


@router.post("/configurations/{type_}/{identifier}/delete")
def delete_configuration(request: Request, type_: str, identifier: str, page: PageDep,
                         form: FormDep) -> Response:
    try:
        configurations.delete(page.platform, page.caller, page.workspace_id, type_,
                              identifier)
    except Conflict as exc:
        view = configurations.get(page.platform, page.caller, page.workspace_id, type_,
                                  identifier)
        proto = prototypes.get_prototype(type_, str(view.object.get("prototype")))
        return _editor(request, page, type_, proto, view, _stored(view), status=409,
                       refused=str(exc))
    return RedirectResponse(f"{UI}/configurations", 303)


@router.post("/configurations/{type_}/{identifier}/run")
def run_route(type_: str, identifier: str, page: PageDep, form: FormDep) -> Response:
    if type_ != ROUTE_TYPE:
        raise NotFound(f"only a route runs: {type_}/{identifier} is not one", identifier)
    routes.publish(page.platform, page.caller, page.workspace_id,
                   [{"command": "route:run", "arguments": {"route": identifier}}])
    return RedirectResponse(f"{UI}/processes?started={quote(identifier, safe='')}", 303)


@router.post("/configurations/{type_}/{identifier}/try")
def try_configuration(request: Request, type_: str, identifier: str, page: PageDep,
                      form: FormDep) -> Response:
    """The test panel: the transformer (or route's transformers) as the edit form has them,
    saved or not, on a sample entity, the entity after each step. The form's inputs are
    checked as a save checks them (the violations shown next to their fields), and nothing
    is saved."""
    policy.require(page.caller, policy.CHANGE, page.workspace_id)
    if type_ not in RUNNABLE:
        raise InvalidInput("nothing to run", [FieldError(
            "type", "only transformers and routes run on a sample entity", type_)])
    view = configurations.get(page.platform, page.caller, page.workspace_id, type_,
                              identifier)
    proto = prototypes.get_prototype(type_, str(view.object.get("prototype")))
    state = _read(proto, form, editing=True)
    text, stop = form.get("entity"), form.get("stop").strip()

    def show(state: _State, status: int = 200, **kw: Any) -> HTMLResponse:
        return _editor(request, page, type_, proto, view, state, status=status,
                       entity_text=text, stop_at=stop, **kw)

    if state.errors:
        return show(state, 422, trial_errors={"form": "fix the parameters marked above: "
                                                      "nothing ran"})
    try:
        entity = json.loads(text)
    except ValueError as exc:
        return show(state, 422, trial_errors={"entity": f"must be valid JSON ({exc})"})
    try:
        result = transformer_run.run_edited(
            page.platform, page.caller, page.workspace_id, type_, identifier,
            {"prototype": proto.identifier, "parameters": state.parameters}, entity,
            stop or None)
    except InvalidInput as exc:
        mine = tuple(e for e in exc.errors if e.path.startswith("object"))
        rest = {e.path: e.reason for e in exc.errors if e not in mine}
        if mine:
            rest["form"] = "fix the parameters marked above: nothing ran"
        return show(replace(state, errors=mine), 422, trial_errors=rest)
    return show(state, trial=result)


# --- relations: the configurations one owns (a transformer's test cases) ---------------------

def _owned(type_: str, relation_type: str) -> None:
    if OWNED.get(type_) != relation_type:
        raise NotFound(f"a {type_} owns no {relation_type}", relation_type)


def _json_input(form: Form, name: str, label: str, errors: list[str]) -> Any:
    text = form.get(name).strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        errors.append(f"{label}: must be valid JSON ({exc})")
        return None


def _case_object(form: Form) -> tuple[dict[str, Any], list[str]]:
    """A ``transformer-test``'s object from the form: the entity, and what the transformer
    must give back or the reason it must skip the entity with."""
    errors: list[str] = []
    entity = _json_input(form, "entity", "entity", errors)
    expected = _json_input(form, "expected", "expected", errors)
    skipped = form.get("skipped").strip()
    if entity is None and not errors:
        errors.append("entity: give the entity the transformer is given (JSON)")
    if expected is not None and skipped:
        errors.append("expected: give what the transformer must give back or the reason "
                      "it must skip the entity with, not both")
    parameters: dict[str, Any] = {"entity": entity}
    if expected is not None:
        parameters["expected"] = expected
    if skipped:
        parameters["skipped"] = skipped
    return {"prototype": "transformer-test", "parameters": parameters}, errors


def _relation_url(type_: str, identifier: str) -> str:
    return _edit_url(type_, identifier) + "#cases"


@router.post("/configurations/{type_}/{identifier}/relations/{relation_type}")
def add_relation(request: Request, type_: str, identifier: str, relation_type: str,
                 page: PageDep, form: FormDep) -> Response:
    """Add a configuration the one shown owns (a test case of a transformer)."""
    policy.require(page.caller, policy.CHANGE, page.workspace_id)
    _owned(type_, relation_type)
    view = configurations.get(page.platform, page.caller, page.workspace_id, type_,
                              identifier)
    obj, errors = _case_object(form)
    if not errors:
        try:
            configuration_relations.create_relation(
                page.platform, page.caller, page.workspace_id, identifier, ConfigurationInput(
                    type=relation_type, identifier=form.get("identifier").strip() or None,
                    name=form.get("name").strip() or None,
                    description=form.get("description").strip(), object=obj))
        except InvalidInput as exc:
            errors = [str(e) for e in exc.errors] or [str(exc)]
        except Conflict as exc:
            errors = [f"identifier: {exc}"]
    if errors:
        proto = prototypes.get_prototype(type_, str(view.object.get("prototype")))
        return _editor(request, page, type_, proto, view, _stored(view), status=422,
                       case=form, case_errors=errors)
    return RedirectResponse(_relation_url(type_, identifier), 303)


@router.post("/configurations/{type_}/{identifier}/relations/{relation_type}/{relation}/delete")
def delete_relation(type_: str, identifier: str, relation_type: str, relation: str,
                    page: PageDep, form: FormDep) -> Response:
    _owned(type_, relation_type)
    configurations.get(page.platform, page.caller, page.workspace_id, type_, identifier)
    configuration_relations.delete_relation(page.platform, page.caller, page.workspace_id,
                                            relation_type, identifier, relation)
    return RedirectResponse(_relation_url(type_, identifier), 303)


@router.post("/configurations/{type_}/{identifier}/relations/{relation_type}/run")
def run_relations(request: Request, type_: str, identifier: str, relation_type: str,
                  page: PageDep, form: FormDep) -> Response:
    """Run the saved transformer on each of its test cases: passed or not, and what it gave."""
    _owned(type_, relation_type)
    view = configurations.get(page.platform, page.caller, page.workspace_id, type_,
                              identifier)
    trial = configuration_tests.run_stored(page.platform, page.caller, page.workspace_id,
                                           type_, identifier)
    proto = prototypes.get_prototype(type_, str(view.object.get("prototype")))
    return _editor(request, page, type_, proto, view, _stored(view),
                   case_results={c.identifier: c for c in trial.cases})

"""Sources and destinations: lists, forms generated from each connector's spec, the Test
button (check_connection) and deletion."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import actors, definitions, policy
from sluiceway.web import forms, templating
from sluiceway.web.deps import FormDep, Page, PageDep

router = APIRouter()
UI = templating.PREFIX
Kinds = Literal["sources", "destinations"]
_KIND: dict[str, Literal["source", "destination"]] = {"sources": "source",
                                                      "destinations": "destination"}


@router.get("/{kinds}")
def listing(request: Request, page: PageDep, kinds: Kinds) -> HTMLResponse:
    kind = _KIND[kinds]
    found = actors.list_for(page.platform, page.caller, kind, page.workspace_id)
    return templating.render(request, "actors.html", {
        "page": page, "kinds": kinds, "kind": kind, "actors": found,
        "can_change": page.can(policy.CHANGE)})


def _form(request: Request, page: Page, kinds: str, *, definition_id: str,
          actor: actors.ActorView | None, config: dict[str, Any] | None, name: str,
          errors: list[FieldError] | None = None, check: actors.Check | None = None,
          status: int = 200) -> HTMLResponse:
    kind = _KIND[kinds]
    d, spec = definitions.spec(page.platform, page.caller, kind, definition_id)
    return templating.render(request, "actor.html", {
        "page": page, "kinds": kinds, "kind": kind, "definition": d, "spec": spec,
        "actor": actor, "name": name, "check": check,
        "fields": forms.fields(spec.connection_specification, config,
                               editing=actor is not None),
        "errors": forms.error_map(errors or []),
        "can_change": page.can(policy.CHANGE)}, status=status)


@router.get("/{kinds}/new")
def new(request: Request, page: PageDep, kinds: Kinds, definition: str = "") -> HTMLResponse:
    # a form to make one: an editor's, as the new connection's and configuration's are
    policy.require(page.caller, policy.CHANGE, page.workspace_id)
    if not definition:
        listed = definitions.list_all(page.platform, page.caller, _KIND[kinds])
        return templating.render(request, "actor_new.html", {
            "page": page, "kinds": kinds, "kind": _KIND[kinds], "definitions": listed})
    return _form(request, page, kinds, definition_id=definition, actor=None, config=None,
                 name="")


def _read(page: Page, kinds: str, definition_id: str, form: FormDep, *,
          stored: dict[str, Any] | None) -> dict[str, Any]:
    _, spec = definitions.spec(page.platform, page.caller, _KIND[kinds], definition_id)
    config, errors = forms.parse(spec.connection_specification, form,
                                 editing=stored is not None, stored=stored)
    if errors:
        raise InvalidInput("invalid connectionConfiguration", [
            FieldError(forms.ERROR_PREFIX + e.path, e.reason, e.value) for e in errors])
    return config


@router.post("/{kinds}/new")
def create(request: Request, page: PageDep, form: FormDep, kinds: Kinds,
           definition: str) -> Response:
    name = form.get("name").strip()
    try:
        config = _read(page, kinds, definition, form, stored=None)
        made = actors.create(page.platform, page.caller, _KIND[kinds], page.workspace_id,
                             definition, config, name or None)
    except InvalidInput as exc:
        shown, _ = forms.parse(_spec_of(page, kinds, definition), form, editing=False)
        return _form(request, page, kinds, definition_id=definition, actor=None,
                     config=shown, name=name, errors=exc.errors, status=422)
    return RedirectResponse(f"{UI}/{kinds}/{made.id}", 303)


def _spec_of(page: Page, kinds: str, definition_id: str) -> dict[str, Any]:
    _, spec = definitions.spec(page.platform, page.caller, _KIND[kinds], definition_id)
    return spec.connection_specification


@router.get("/{kinds}/{actor_id}")
def show(request: Request, page: PageDep, kinds: Kinds, actor_id: str) -> HTMLResponse:
    a = actors.get(page.platform, page.caller, _KIND[kinds], actor_id)
    return _form(request, page, kinds, definition_id=a.definition_id, actor=a,
                 config=a.config, name=a.name)


@router.post("/{kinds}/{actor_id}")
def save(request: Request, page: PageDep, form: FormDep, kinds: Kinds,
         actor_id: str) -> Response:
    a = actors.get(page.platform, page.caller, _KIND[kinds], actor_id)
    name = form.get("name").strip() or a.name
    try:
        config = _read(page, kinds, a.definition_id, form, stored=a.config)
        actors.update_config(page.platform, page.caller, _KIND[kinds], actor_id, config, name)
    except InvalidInput as exc:
        shown, _ = forms.parse(_spec_of(page, kinds, a.definition_id), form, editing=True,
                                stored=a.config)
        return _form(request, page, kinds, definition_id=a.definition_id, actor=a,
                     config=shown, name=name, errors=exc.errors, status=422)
    return RedirectResponse(f"{UI}/{kinds}/{actor_id}", 303)


@router.post("/{kinds}/{actor_id}/test")
def test(request: Request, page: PageDep, _form_: FormDep, kinds: Kinds,
         actor_id: str) -> HTMLResponse:
    a = actors.get(page.platform, page.caller, _KIND[kinds], actor_id)
    result = actors.check(page.platform, page.caller, _KIND[kinds], actor_id)
    return _form(request, page, kinds, definition_id=a.definition_id, actor=a,
                 config=a.config, name=a.name, check=result)


@router.post("/{kinds}/{actor_id}/delete")
def delete(page: PageDep, _form_: FormDep, kinds: Kinds, actor_id: str) -> RedirectResponse:
    actors.delete(page.platform, page.caller, _KIND[kinds], actor_id)
    return RedirectResponse(f"{UI}/{kinds}", 303)

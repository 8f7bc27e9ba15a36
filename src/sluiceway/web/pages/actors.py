"""Sources and destinations: lists, forms generated from each connector's spec, the Test
button (check_connection) and deletion."""

from __future__ import annotations

import dataclasses
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


#: the file a new destination of these connectors offers (a relative path: in the files folder)
DEFAULT_FILES = {"duckdb": "warehouse.duckdb", "sqlite": "warehouse.sqlite"}


def _fields(page: Page, connector: str, schema: dict[str, Any],
            config: dict[str, Any] | None, *, kind: str,
            editing: bool) -> list[forms.Field]:
    """The spec's inputs; a local path says where it lands on this server (a new DuckDB or
    SQLite destination offers a file name there)."""
    if config is None and kind == "destination" and connector in DEFAULT_FILES:
        config = {k: v["default"] for k, v in schema.get("properties", {}).items()
                  if "default" in v} | {"path": DEFAULT_FILES[connector]}
    shown = forms.fields(schema, config, editing=editing)
    if connector not in actors.LOCAL_PATH_CONNECTORS:
        return shown
    folders = [str(f) for f in actors.local_folders(page.platform)]
    where = (f"On this server a relative path lands in {folders[0]}; an absolute path must "
             f"be inside {', '.join(folders)} (SLUICEWAY_FILE_ROOTS).")
    out = []
    for f in shown:
        if f.dotted == "path":
            said = f.description.split(" (relative paths")[0].rstrip(".")
            f = dataclasses.replace(f, description=f"{said}. {where}" if said else where)
        out.append(f)
    return out


def _form(request: Request, page: Page, kinds: str, *, definition_id: str,
          actor: actors.ActorView | None, config: dict[str, Any] | None, name: str,
          errors: list[FieldError] | None = None, check: actors.Check | None = None,
          status: int = 200) -> HTMLResponse:
    kind = _KIND[kinds]
    d, spec = definitions.spec(page.platform, page.caller, kind, definition_id)
    return templating.render(request, "actor.html", {
        "page": page, "kinds": kinds, "kind": kind, "definition": d, "spec": spec,
        "actor": actor, "name": name, "check": check,
        "fields": _fields(page, d.connector, spec.connection_specification, config,
                          kind=kind, editing=actor is not None),
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

"""The role matrix of the web UI: one entry per ``/ui`` route (method, path) with its class,
a completeness test that fails on a route without one, and a walk of every route as a
viewer, an editor, an administrator of space ``team`` and the system administrator, on
``team``'s objects and on those of ``rival`` (a space none of the three is in, whose every
name and value carries :data:`~tests.api.matrix_world.MARK`).

A page answers its members and never shows the rival's mark to a non-member; a form a role
may not post is refused with 403 and changes nothing (the row counts of the objects' tables
and the audit trail); another space's object is 404 (or 403 when the role could not post
the form in any space); a form with a forged CSRF token is refused and changes nothing. The
system administrator walks the rival's objects from a browser switched to that space, and
succeeds. The app and both spaces are built once for the module (SQLite metadata); calls
that queue a job are asserted up to the job's acceptance."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sluiceway.bootstrap import create_app
from sluiceway.services import auth, table_filters, tokens
from tests.api.conftest import ADMIN, make_settings
from tests.api.matrix_world import DUMP, MARK, RIVAL_ADMIN, ROLES, A, E, S, Space, V, World
from tests.web.conftest import Browser, csrf_of

PASSWORD = "matrix-password-1"


class Cls:
    PUBLIC = "public"  # no session: the sign-in page and the static files
    READ = "read"  # every member: a page, or a form that changes only one's own view
    SELF = "self"  # the caller's own things: their account, session, tokens
    WRITE = "write"  # editors and administrators (a form change, or a form to make one)
    ADMIN = "admin"  # the space's administrators: users, roles, audit trail
    SYSTEM = "system"  # system administrators only: spaces


X = SimpleNamespace
Fresh = Callable[["UiWorld", Space, str], dict[str, Any]]


@dataclass(frozen=True)
class UiOp:
    cls: str
    #: formatted with the space's ids and the fresh objects; default: the route's path
    url: str | None = None
    #: ``object``: the URL names an object of a space (its foreign variant is the rival's
    #: object); ``current``: the page acts in the session's space (only the system
    #: administrator, switched to the rival, walks it there)
    scope: str = "current"
    form: Callable[[X], dict[str, Any]] | None = None
    files: Callable[[X], dict[str, Any]] | None = None
    fresh: Fresh | None = None
    ok: tuple[int, ...] = (200,)
    why: str = ""


def _f(**kw: Any) -> Callable[[X], dict[str, Any]]:
    return lambda x: {k: (v(x) if callable(v) else v) for k, v in kw.items()}


def _fresh(make: str, *args: Any) -> Fresh:
    return lambda w, s, who: {"fresh": getattr(w, make)(s, *args)}


def _running_job(w: UiWorld, s: Space, who: str) -> dict[str, Any]:
    conn = w.connection(s)
    job = w.admin("POST", "/api/v1/connections/sync", json={"connectionId": conn})
    return {"fresh": conn, "fresh_job": job["job"]["id"]}


def _own_token(w: UiWorld, s: Space, who: str) -> dict[str, Any]:
    owner = who if s is w.team and who != S else (S if who == S else RIVAL_ADMIN)
    _, identifier = tokens.create(w.platform, auth.caller_for(w.platform, owner, "tests"),
                                  f"token {s.label}")
    return {"fresh": identifier}


def _own_filter(w: UiWorld, s: Space, who: str) -> dict[str, Any]:
    owner = who if s is w.team and who != S else (S if who == S else RIVAL_ADMIN)
    made = table_filters.create(w.platform, auth.caller_for(w.platform, owner, "tests"),
                                table_filters.FilterInput("ui/tasks", f"filter {s.label}",
                                                          {"status": "failed"}))
    return {"fresh": made.id}


def _revision(w: UiWorld, s: Space, who: str) -> dict[str, Any]:
    conf = w.configuration(s)
    history = w.admin("GET", f"/api/v1/di/configurations/transformer/{conf}/history",
                      params={"space": s.slug})
    return {"fresh": conf, "ulid": history["results"][-1]["ulid"]}


def _pooled(kind: str) -> Fresh:
    """One of the finished files made with the space (a file still loading is not
    deleted, and running the jobs queued meanwhile would take long)."""
    return lambda w, s, who: {"fresh": s.ids[kind].pop()}


def _process(w: UiWorld, s: Space, who: str) -> dict[str, Any]:
    published = w.admin("POST", "/api/v1/queue/publish", params={"space": s.slug}, json={
        "job": {"commands": [{"command": "route:run", "arguments": {"route": "orders"}}]}})
    return {"fresh": published["processId"]}


def _variable(w: UiWorld, s: Space, who: str) -> dict[str, Any]:
    return {"fresh": w.variable(s)}


_SAMPLE = {"name": "made", "cfg.rows": "5"}
_UI_STATIC = "the UI's stylesheet and script: public"

TABLE: dict[tuple[str, str], UiOp] = {
    ("*", "/ui/static"): UiOp(Cls.PUBLIC, why=_UI_STATIC),
    ("GET", "/ui/login"): UiOp(Cls.PUBLIC, why="the sign-in form"),
    ("POST", "/ui/login"): UiOp(Cls.PUBLIC, why="signing in (tests/web/test_sessions.py)"),
    # --- pages of the session's space ---------------------------------------------------------
    ("GET", "/ui/"): UiOp(Cls.READ),
    ("GET", "/ui/account"): UiOp(Cls.SELF),
    ("GET", "/ui/admin"): UiOp(Cls.READ, ok=(303,)),
    ("GET", "/ui/admin/audit"): UiOp(Cls.ADMIN),
    ("GET", "/ui/admin/audit/export"): UiOp(Cls.ADMIN),
    ("GET", "/ui/admin/tokens"): UiOp(Cls.SELF),
    ("GET", "/ui/admin/users"): UiOp(Cls.ADMIN),
    ("GET", "/ui/admin/platform"): UiOp(Cls.READ),
    ("GET", "/ui/admin/workers"): UiOp(Cls.SYSTEM),
    ("GET", "/ui/admin/system-administrators"): UiOp(Cls.SYSTEM),
    ("GET", "/ui/admin/variables"): UiOp(Cls.READ),
    ("GET", "/ui/backups"): UiOp(Cls.READ),
    ("GET", "/ui/backups/list"): UiOp(Cls.READ),
    ("GET", "/ui/configurations"): UiOp(Cls.READ),
    ("GET", "/ui/configurations/new"): UiOp(Cls.WRITE),
    # exporting shows the configurations as an import would take them: editors, as the API
    ("GET", "/ui/configurations/export"): UiOp(Cls.WRITE, url="/ui/configurations/export?q=a"),
    ("GET", "/ui/configurations/transfer"): UiOp(Cls.WRITE),
    ("GET", "/ui/connections/new"): UiOp(Cls.WRITE),
    ("GET", "/ui/dumps"): UiOp(Cls.READ),
    ("GET", "/ui/dumps/list"): UiOp(Cls.READ),
    ("GET", "/ui/exports"): UiOp(Cls.READ),
    ("GET", "/ui/exports/list"): UiOp(Cls.READ),
    ("GET", "/ui/imports"): UiOp(Cls.READ),
    ("GET", "/ui/imports/list"): UiOp(Cls.READ),
    ("GET", "/ui/logs"): UiOp(Cls.READ),
    ("GET", "/ui/processes"): UiOp(Cls.READ),
    ("GET", "/ui/schedule"): UiOp(Cls.READ,
                                  url="/ui/schedule?schedule=basic&units=2&time_unit=hours"),
    # the space shown only: another space's names never appear (the leak check)
    ("GET", "/ui/search"): UiOp(Cls.READ, url="/ui/search?q=conf"),
    ("GET", "/ui/spaces"): UiOp(Cls.READ),
    ("GET", "/ui/statistics"): UiOp(Cls.READ),
    ("GET", "/ui/storages"): UiOp(Cls.READ),
    ("GET", "/ui/tasks"): UiOp(Cls.READ),
    ("GET", "/ui/{kinds}"): UiOp(Cls.READ, url="/ui/sources"),
    ("GET", "/ui/{kinds}/new"): UiOp(Cls.WRITE, url="/ui/destinations/new"),
    # --- pages of one object --------------------------------------------------------------------
    ("GET", "/ui/configurations/{type_}/{identifier}"): UiOp(
        Cls.READ, "/ui/configurations/transformer/{conf}", "object"),
    ("GET", "/ui/configurations/{type_}/{identifier}/history"): UiOp(
        Cls.READ, "/ui/configurations/transformer/{conf}/history", "object"),
    ("GET", "/ui/connections/{connection_id}"): UiOp(
        Cls.READ, "/ui/connections/{connection}", "object"),
    ("GET", "/ui/connections/{connection_id}/edit"): UiOp(
        Cls.WRITE, "/ui/connections/{connection}/edit", "object"),
    ("GET", "/ui/connections/{connection_id}/progress"): UiOp(
        Cls.READ, "/ui/connections/{connection}/progress", "object"),
    ("GET", "/ui/connections/{connection_id}/jobs/{job_id}"): UiOp(
        Cls.READ, "/ui/connections/{connection}/jobs/{job}", "object"),
    ("GET", "/ui/connections/{connection_id}/jobs/{job_id}/log"): UiOp(
        Cls.READ, "/ui/connections/{connection}/jobs/{job}/log", "object"),
    ("GET", "/ui/storages/{storage}"): UiOp(Cls.READ, "/ui/storages/{storage}", "object"),
    ("GET", "/ui/{kinds}/{actor_id}"): UiOp(Cls.READ, "/ui/sources/{source}", "object"),
    # --- one's own ------------------------------------------------------------------------------
    ("POST", "/ui/account/password"): UiOp(Cls.SELF, form=_f(
        current=lambda x: x.password, new=lambda x: x.password, repeat=lambda x: x.password)),
    ("POST", "/ui/logout"): UiOp(Cls.SELF, ok=(303,)),
    ("POST", "/ui/space"): UiOp(Cls.SELF, scope="object", ok=(303,),
                                form=_f(workspace=lambda x: x.ws)),
    ("POST", "/ui/admin/tokens"): UiOp(Cls.SELF, form=_f(name="made", expires="")),
    ("POST", "/ui/admin/tokens/{token_id}/revoke"): UiOp(
        Cls.SELF, "/ui/admin/tokens/{fresh}/revoke", "object", fresh=_own_token, ok=(303,)),
    ("POST", "/ui/configurations/{type_}/{identifier}/favourite"): UiOp(
        Cls.READ, "/ui/configurations/transformer/{conf}/favourite", "object", ok=(303,)),
    # saved filters of the lists: one's own (another user's is not found)
    ("POST", "/ui/filters"): UiOp(Cls.SELF, ok=(303,), form=_f(
        table="tasks", name="made", **{"f.status": "failed"})),
    ("POST", "/ui/filters/apply"): UiOp(Cls.SELF, scope="object", fresh=_own_filter,
                                        ok=(303,), form=_f(id=lambda x: x.fresh)),
    ("POST", "/ui/filters/delete"): UiOp(Cls.SELF, scope="object", fresh=_own_filter,
                                         ok=(303,), form=_f(id=lambda x: x.fresh)),
    # --- the space's users --------------------------------------------------------------------
    ("POST", "/ui/admin/users"): UiOp(Cls.ADMIN, ok=(303,), form=_f(
        email=lambda x: f"{x.w.unique('new')}@example.com", role="ROLE_USER")),
    ("POST", "/ui/admin/users/role"): UiOp(
        Cls.ADMIN, scope="object", fresh=_fresh("member"), ok=(303,),
        form=_f(email=lambda x: x.fresh, role="ROLE_EDITOR")),
    ("POST", "/ui/admin/users/remove"): UiOp(
        Cls.ADMIN, scope="object", fresh=_fresh("member"), ok=(303,),
        form=_f(email=lambda x: x.fresh)),
    ("POST", "/ui/admin/users/password"): UiOp(
        Cls.ADMIN, scope="object", fresh=_fresh("member"), ok=(303,),
        form=_f(email=lambda x: x.fresh, password="given-password-1")),
    ("POST", "/ui/admin/workers"): UiOp(Cls.SYSTEM, ok=(303,), form=_f(
        space=lambda x: x.slug, workers="")),
    ("POST", "/ui/admin/workers/pin"): UiOp(Cls.SYSTEM, ok=(303,), form=_f(
        space=lambda x: x.slug, slots="")),
    ("POST", "/ui/admin/system-administrators"): UiOp(Cls.SYSTEM, ok=(303,), form=_f(
        email=lambda x: f"{x.w.unique('sys')}@example.com")),
    ("POST", "/ui/admin/system-administrators/remove"): UiOp(
        Cls.SYSTEM, ok=(303,), fresh=lambda w, s, who: {"fresh": w.system_administrator()},
        form=_f(email=lambda x: x.fresh)),
    ("POST", "/ui/spaces"): UiOp(Cls.SYSTEM, ok=(303,), form=_f(
        identifier=lambda x: x.w.unique("made"), name="Made", purpose="dev")),
    ("POST", "/ui/spaces/{identifier}/rename"): UiOp(
        Cls.SYSTEM, "/ui/spaces/{fresh}/rename", fresh=lambda w, s, who: {
            "fresh": w.spare_space()}, ok=(303,), form=_f(name="Renamed")),
    ("POST", "/ui/spaces/{identifier}/delete"): UiOp(
        Cls.SYSTEM, "/ui/spaces/{fresh}/delete", fresh=lambda w, s, who: {
            "fresh": w.spare_space()}, ok=(303,)),
    # --- changes in the space -----------------------------------------------------------------
    ("POST", "/ui/admin/variables"): UiOp(Cls.WRITE, ok=(303,), form=_f(
        name=lambda x: x.w.unique("NEW").replace("-", "_").upper(), value="v")),
    ("POST", "/ui/admin/variables/delete"): UiOp(
        Cls.WRITE, scope="object", fresh=_variable, ok=(303,), form=_f(name=lambda x: x.fresh)),
    ("POST", "/ui/backups"): UiOp(Cls.WRITE, ok=(303,), form=_f(description="made")),
    ("POST", "/ui/backups/{backup_id}/export"): UiOp(
        Cls.WRITE, "/ui/backups/{fresh}/export", "object", fresh=_fresh("pooled_backup"),
        ok=(303,), form=_f(format="tar")),
    ("POST", "/ui/backups/{backup_id}/export/delete"): UiOp(
        Cls.WRITE, "/ui/backups/{fresh}/export/delete", "object",
        fresh=_fresh("pooled_export"), ok=(303,)),
    ("POST", "/ui/backups/{backup_id}/delete"): UiOp(
        Cls.WRITE, "/ui/backups/{fresh}/delete", "object", fresh=_fresh("pooled_backup"),
        ok=(303,)),
    ("POST", "/ui/backups/{backup_id}/restore"): UiOp(
        Cls.WRITE, "/ui/backups/{fresh}/restore", "object", fresh=_fresh("pooled_backup"),
        ok=(303,), form=_f(configuration="on")),
    ("POST", "/ui/configurations/new"): UiOp(
        Cls.WRITE, "/ui/configurations/new?type=storage&prototype=storage", ok=(303,),
        form=_f(name="Made", identifier=lambda x: x.w.unique("made"))),
    ("POST", "/ui/configurations/transfer"): UiOp(Cls.WRITE, form=_f(
        mode="import", ndjson=lambda x: json.dumps({
            "type": "storage", "identifier": x.w.unique("imported"), "name": "Imported",
            "object": {"prototype": "storage", "parameters": {}}}))),
    ("POST", "/ui/configurations/{type_}/{identifier}"): UiOp(
        Cls.WRITE, "/ui/configurations/storage/{fresh}", "object", ok=(303,),
        fresh=_fresh("storage"), form=_f(name="Renamed")),
    ("POST", "/ui/configurations/{type_}/{identifier}/labels"): UiOp(
        Cls.WRITE, "/ui/configurations/transformer/{conf}/labels", "object", ok=(303,),
        form=_f(labels="a, b")),
    ("POST", "/ui/configurations/{type_}/{identifier}/restore"): UiOp(
        Cls.WRITE, "/ui/configurations/transformer/{fresh}/restore", "object", ok=(303,),
        fresh=_revision, form=_f(revision=lambda x: x.ulid)),
    ("POST", "/ui/configurations/{type_}/{identifier}/status"): UiOp(
        Cls.WRITE, "/ui/configurations/storage/{fresh}/status", "object", ok=(303,),
        fresh=_fresh("storage"), form=_f(disabled="1")),
    ("POST", "/ui/configurations/{type_}/{identifier}/delete"): UiOp(
        Cls.WRITE, "/ui/configurations/storage/{fresh}/delete", "object", ok=(303,),
        fresh=_fresh("storage")),
    ("POST", "/ui/configurations/{type_}/{identifier}/run"): UiOp(
        Cls.WRITE, "/ui/configurations/route-configuration/{route}/run", "object",
        ok=(303,)),
    ("POST", "/ui/configurations/{type_}/{identifier}/relations/{relation_type}"): UiOp(
        Cls.WRITE, "/ui/configurations/transformer/{conf}/relations/transformer-test",
        "object", ok=(303,), form=_f(name="Case", entity='{"a": 1}')),
    # running a transformer on its test cases is a run, as the API's is
    ("POST", "/ui/configurations/{type_}/{identifier}/relations/{relation_type}/run"): UiOp(
        Cls.WRITE, "/ui/configurations/transformer/{conf}/relations/transformer-test/run",
        "object"),
    ("POST", "/ui/configurations/{type_}/{identifier}/relations/{relation_type}/{relation}"
             "/delete"): UiOp(
        Cls.WRITE, "/ui/configurations/transformer/{conf}/relations/transformer-test/{fresh}"
                   "/delete", "object", fresh=_fresh("relation"), ok=(303,)),
    ("POST", "/ui/processes/{identifier}/end"): UiOp(
        Cls.WRITE, "/ui/processes/{fresh}/end", "object", fresh=_process, ok=(303,),
        form=_f(how="kill")),
    # every process the filter matches: nothing runs in the matrix's world (no worker)
    ("POST", "/ui/processes/bulk"): UiOp(Cls.WRITE, ok=(303,), form=_f(
        how="kill", status="running", confirm="yes")),
    # running a transformer (as its form has it) on a sample entity is a run, as the API's is
    ("POST", "/ui/configurations/{type_}/{identifier}/try"): UiOp(
        Cls.WRITE, "/ui/configurations/transformer/{conf}/try", "object",
        form=_f(entity='{"a": 1}', stop="", **{"cfg.keys": "a"})),
    ("POST", "/ui/connections/new"): UiOp(Cls.WRITE, ok=(303,), form=_f(
        source=lambda x: x.source, destination=lambda x: x.destination, name="made",
        schedule="manual", **{"s0.selected": "on"})),
    ("POST", "/ui/connections/{connection_id}/edit"): UiOp(
        Cls.WRITE, "/ui/connections/{connection}/edit", "object", ok=(303,),
        form=_f(schedule="manual", **{"s0.selected": "on"})),
    ("POST", "/ui/connections/{connection_id}/sync"): UiOp(
        Cls.WRITE, "/ui/connections/{fresh}/sync", "object", fresh=_fresh("connection"),
        ok=(303,)),
    ("POST", "/ui/connections/{connection_id}/reset"): UiOp(
        Cls.WRITE, "/ui/connections/{fresh}/reset", "object", fresh=_fresh("connection"),
        ok=(303,)),
    ("POST", "/ui/connections/{connection_id}/jobs/{job_id}/cancel"): UiOp(
        Cls.WRITE, "/ui/connections/{fresh}/jobs/{fresh_job}/cancel", "object",
        fresh=_running_job, ok=(303,)),
    ("POST", "/ui/connections/{connection_id}/delete"): UiOp(
        Cls.WRITE, "/ui/connections/{fresh}/delete", "object", fresh=_fresh("connection"),
        ok=(303,)),
    ("POST", "/ui/dumps"): UiOp(Cls.WRITE, ok=(303,), form=_f(
        source=lambda x: x.source,
        config=lambda x: json.dumps(DUMP | {"parameters": {"n": x.w.unique("n")}}))),
    ("POST", "/ui/dumps/{source_id}/{dump_id}/delete"): UiOp(
        Cls.WRITE, "/ui/dumps/{source}/{fresh}/delete", "object",
        fresh=_fresh("dump", False), ok=(303,)),
    ("POST", "/ui/exports"): UiOp(Cls.WRITE, ok=(303,), form=_f(
        source=lambda x: x.source, stream="events", format="csv")),
    ("POST", "/ui/exports/{export_id}/delete"): UiOp(
        Cls.WRITE, "/ui/exports/{fresh}/delete", "object", fresh=_pooled("exports"),
        ok=(303,)),
    ("POST", "/ui/imports"): UiOp(Cls.WRITE, ok=(303,), form=_f(
        destination=lambda x: x.destination, table="uploaded", format="csv"),
        files=lambda x: {"file": ("rows.csv", b"a\n1\n", "text/csv")}),
    ("POST", "/ui/imports/{import_id}/delete"): UiOp(
        Cls.WRITE, "/ui/imports/{fresh}/delete", "object", fresh=_pooled("imports"), ok=(303,)),
    ("POST", "/ui/storages/{storage}/clear"): UiOp(
        Cls.WRITE, "/ui/storages/{fresh}/clear", "object", fresh=_fresh("storage"),
        ok=(303,)),
    ("POST", "/ui/storages/{storage}/entities/delete"): UiOp(
        Cls.WRITE, "/ui/storages/{fresh}/entities/delete", "object",
        fresh=_fresh("storage"), ok=(303,), form=_f(entity="k1")),
    ("POST", "/ui/tasks/bulk"): UiOp(Cls.WRITE, ok=(303,), form=_f(
        action="skip", scope="matching", entity="matches-nothing")),
    ("POST", "/ui/{kinds}/new"): UiOp(
        Cls.WRITE, "/ui/sources/new?definition={sample}", ok=(303,), form=_f(**_SAMPLE)),
    ("POST", "/ui/{kinds}/{actor_id}"): UiOp(
        Cls.WRITE, "/ui/sources/{fresh}", "object", fresh=_fresh("source"), ok=(303,),
        form=_f(**_SAMPLE)),
    ("POST", "/ui/{kinds}/{actor_id}/test"): UiOp(
        Cls.WRITE, "/ui/sources/{source}/test", "object"),
    ("POST", "/ui/{kinds}/{actor_id}/delete"): UiOp(
        Cls.WRITE, "/ui/sources/{fresh}/delete", "object", fresh=_fresh("source"),
        ok=(303,)),
}


# --- the world ------------------------------------------------------------------------------

class UiWorld(World):
    """Both spaces with one object of each kind the UI shows, and a signed-in browser per
    role (the system administrator's second one looks at the rival)."""

    browsers: dict[tuple[str, str], Browser]

    def signed_in(self, who: str, where: str = "own") -> Browser:
        b = Browser(TestClient(self.client.app))
        b.sign_in(who, ADMIN[1] if who == S else PASSWORD)
        if who == S:  # a system administrator looks at a space of their choosing
            space = self.rival if where == "foreign" else self.team
            b.post("/ui/space", {"workspace": space.ws})
        return b

    def build_ui(self) -> UiWorld:
        c = self.client
        for slug, name, users in (
                ("team", "Team", [(e, ROLES[e]) for e in (V, E, A)]),
                ("rival", f"Rival {MARK}", [(RIVAL_ADMIN, "ROLE_ADMINISTRATOR")])):
            r = c.post("/api/v1/spaces", auth=ADMIN, json={
                "object": {"identifier": slug, "name": name, "purpose": "dev",
                           "description": MARK if slug == "rival" else "", "termsAgreed": True},
                "users": [{"email": e, "roles": [role]} for e, role in users],
                "dataEngines": []})
            assert r.status_code == 200, r.text
        for who in (V, E, A, RIVAL_ADMIN):
            auth.set_password(self.platform, who, PASSWORD)
            self.headers[who] = self.bearer(who)
        for s in (self.team, self.rival):
            self.fill_ui(s)
        self.browsers = {(who, "own"): self.signed_in(who) for who in (V, E, A, S)}
        self.browsers[(S, "foreign")] = self.signed_in(S, "foreign")
        return self

    def fill_ui(self, s: Space) -> None:
        s.ws = str(self.admin("POST", "/api/v1/workspaces/get_by_slug",
                              json={"slug": s.slug})["workspaceId"])
        s.ids["sample"] = self.definition("source", "sample")
        s.ids["source"] = self.source(s)
        s.ids["destination"] = self.destination(s)
        s.ids["connection"] = self.connection(s)
        job = self.admin("POST", "/api/v1/connections/sync",
                         json={"connectionId": s.connection})
        s.ids["job"] = job["job"]["id"]
        self.run_jobs()
        s.ids["export"] = self.export(s)
        s.ids["dump"] = self.dump(s)
        self.backup_pool(s, 16, 6)
        s.ids["conf"] = self.configuration(s)
        s.ids["storage"] = self.storage(s)
        s.ids["variable"] = self.variable(s)
        s.ids["member"] = self.member(s)
        self.route(s)
        s.ids["route"] = self.configuration(s, "route-configuration", object={
            "prototype": "route", "parameters": {"incoming": "orders-in",
                                                 "outgoing": "orders-out"}})
        s.ids["exports"] = [self.export(s, run=False) for _ in range(5)]
        s.ids["imports"] = [self.admin("POST", "/imports", 202, params={
            "project_id": s.ws, "destination_id": s.destination, "table": "imported",
            "format": "csv"}, content=f"a\n{s.label}\n".encode())["data"]["id"]
            for _ in range(5)]
        self.run_jobs()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiWorld]:
    tmp = tmp_path_factory.mktemp("ui-matrix")
    app = create_app(make_settings(tmp, f"sqlite:///{tmp / 'meta.db'}"), run_jobs=False)
    with TestClient(app) as client:
        yield UiWorld(client, "http://127.0.0.1:9").build_ui()
    app.state.platform.close()


# --- completeness ---------------------------------------------------------------------------

def _ui_routes() -> list[tuple[str, str]]:
    from tests.api.test_role_matrix_all import OPERATIONS

    return [(m, p) for m, p in OPERATIONS if p.startswith("/ui/")]


UI_ROUTES = _ui_routes()


def test_every_ui_route_has_an_entry() -> None:
    missing = [f"{m} {p}" for m, p in UI_ROUTES if (m, p) not in TABLE]
    assert not missing, f"UI routes without a matrix entry: {missing}"
    stale = sorted(set(TABLE) - set(UI_ROUTES))
    assert not stale, f"matrix entries of no UI route: {stale}"
    for key, op in TABLE.items():
        assert op.cls != Cls.PUBLIC or op.why, f"{key}: say why it needs no session"


# --- the walk -------------------------------------------------------------------------------

WHO = [V, E, A, S]
ROLE_IDS = {V: "viewer", E: "editor", A: "admin", S: "sysadmin"}


def _may(op: UiOp, who: str) -> bool:
    if who == S:
        return True
    return {Cls.READ: True, Cls.SELF: True, Cls.WRITE: who in (E, A),
            Cls.ADMIN: who == A, Cls.SYSTEM: False}[op.cls]


def _cases() -> Iterator[Any]:
    for (method, path), op in TABLE.items():
        if op.cls == Cls.PUBLIC:
            continue
        for who in WHO:
            for where in ("own", "foreign"):
                if where == "foreign" and op.scope != "object" and (
                        who != S or op.cls == Cls.SYSTEM):
                    continue  # the same call as in one's own space
                yield pytest.param(method, path, who, where,
                                   id=f"{method} {path}-{ROLE_IDS[who]}-{where}")


def expected(op: UiOp, who: str, where: str) -> tuple[int, ...]:
    if who == S:
        return op.ok
    if where == "foreign":
        # another space's object: not found; a form the role may post nowhere may be
        # refused for the role first
        return (404,) if _may(op, who) else (403, 404)
    return op.ok if _may(op, who) else (403,)


def _prepare(world: UiWorld, method: str, path: str, op: UiOp, who: str,
             where: str) -> Callable[[], Any]:
    """The call to make (after making what it consumes)."""
    space = world.team if where == "own" else world.rival
    browser = (world.browsers[(who, "own")] if who != S
               else world.browsers[(S, where)])
    if path == "/ui/logout":
        browser = world.signed_in(who, where if who == S else "own")
    fresh = op.fresh(world, space, who) if op.fresh else {}
    x = SimpleNamespace(**space.ids, ws=space.ws, slug=space.slug, w=world,
                        password=ADMIN[1] if who == S else PASSWORD, **fresh)
    url = (op.url or path).format(**vars(x))
    if method == "GET":
        return lambda: browser.client.get(url, follow_redirects=False)
    data = {"csrf": browser_csrf(browser), **(op.form(x) if op.form else {})}
    files = op.files(x) if op.files else None
    return lambda: browser.client.post(url, data=data, files=files, follow_redirects=False)


def browser_csrf(b: Browser) -> str:
    return csrf_of(b.get("/ui/account").text)


@pytest.mark.parametrize(("method", "path", "who", "where"), list(_cases()))
def test_ui_role_matrix(world: UiWorld, method: str, path: str, who: str,
                        where: str) -> None:
    op = TABLE[(method, path)]
    want = expected(op, who, where)
    refused = not set(want) - {403, 404}
    call = _prepare(world, method, path, op, who, where)
    before = world.fingerprint() if refused else None
    r = call()
    if path == "/ui/account/password":  # a password change ends the user's other sessions
        for key in [k for k in world.browsers if k[0] == who]:
            world.browsers[key] = world.signed_in(*key)
    assert r.status_code in want, (r.status_code, r.text[:1500])
    if refused:
        assert world.fingerprint() == before, "a refused call changed something"
    if who != S:
        seen = r.text + " ".join(f"{k}: {v}" for k, v in r.headers.items())
        assert MARK not in seen, f"the foreign space leaks: {seen[:2000]}"


POSTS = [(m, p) for (m, p), op in TABLE.items() if m == "POST" and op.cls != Cls.PUBLIC]


@pytest.mark.parametrize(("method", "path"), POSTS, ids=[p for _, p in POSTS])
def test_a_forged_csrf_token_is_refused_and_changes_nothing(world: UiWorld, method: str,
                                                            path: str) -> None:
    op = TABLE[(method, path)]
    b = world.browsers[(S, "own")]
    fresh = op.fresh(world, world.team, S) if op.fresh else {}
    x = SimpleNamespace(**world.team.ids, ws=world.team.ws, slug="team", w=world,
                        password=ADMIN[1], **fresh)
    url = (op.url or path).format(**vars(x))
    before = world.fingerprint()
    data = {**(op.form(x) if op.form else {}), "csrf": "forged-" + browser_csrf(b)[:10]}
    r = b.client.post(url, data=data, files=op.files(x) if op.files else None,
                      follow_redirects=False)
    assert r.status_code == 403, (r.status_code, r.text[:1000])
    assert world.fingerprint() == before, "a forged form changed something"


def test_the_rivals_pages_carry_the_mark(world: UiWorld) -> None:
    """The leak check means something: the system administrator, looking at the rival,
    sees the mark that no page may show a non-member."""
    b = world.browsers[(S, "foreign")]
    for url in ("/ui/sources", f"/ui/connections/{world.rival.connection}",
                "/ui/configurations", "/ui/admin/variables", "/ui/spaces"):
        r = b.get(url)
        assert MARK in r.text, url

"""The objects the role matrix acts on: two spaces filled alike, ``team`` (the callers' own,
with a viewer, an editor and an administrator) and ``rival`` (a space none of them is in,
whose every name and value carries :data:`MARK`), each with one object of every kind the
faces serve, made once per module through the faces themselves."""

from __future__ import annotations

import base64
import http.server
import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sluiceway.jobs.executors.inline import InlineExecutor
from sluiceway.services import auth, tokens
from sluiceway.store import models
from tests.api.conftest import ADMIN

#: carried by every name and value of the foreign space: no answer to a non-member holds it
MARK = "qzforeignmark"
V, E, A = "viewer@team.example", "editor@team.example", "admin@team.example"
S = "admin"  #: the installation's first administrator, a system administrator
ROLES = {V: "ROLE_USER", E: "ROLE_EDITOR", A: "ROLE_ADMINISTRATOR"}
RIVAL_ADMIN = "owner@rival.example"
DUMP = {"parameters": {}, "steps": [{"id": "all", "type": "resources", "parameters": {
    "stream": "events", "columns": "id"}}], "output": []}


def ok(r: Any, *codes: int) -> Any:
    assert r.status_code in (codes or (200,)), (r.request.method, r.request.url, r.text)
    return r.json() if r.content else None


@dataclass
class Space:
    """One space and the identifiers of its objects."""

    slug: str
    label: str  # what its names and values carry
    ws: str = ""
    ids: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["ids"][name]
        except KeyError:
            raise AttributeError(name) from None


class World:
    def __init__(self, client: TestClient, server: str) -> None:
        self.server = server
        self.client = client
        self.platform = client.app.state.platform  # type: ignore[attr-defined]
        self.root = self.platform.settings.allowed_roots[0]
        self.root.mkdir(parents=True, exist_ok=True)
        self.headers: dict[str, dict[str, str]] = {}
        self.team = Space("team", "teamlabel")
        self.rival = Space("rival", MARK)
        self._defs: dict[str, str] = {}

    # --- calls ---------------------------------------------------------------------------
    def admin(self, method: str, path: str, *codes: int, **kw: Any) -> Any:
        return ok(self.client.request(method, path, auth=ADMIN, **kw), *codes)

    def run_jobs(self) -> None:
        InlineExecutor(self.platform.settings, self.platform.db).run_pending()

    def bearer(self, email: str) -> dict[str, str]:
        token, _ = tokens.create(self.platform, auth.caller_for(self.platform, email, "tests"),
                                 "matrix")
        return {"Authorization": f"Bearer {token}"}

    def definition(self, kind: str, repository: str) -> str:
        key = f"{kind}:{repository}"
        if key not in self._defs:
            listed = self.admin("POST", f"/api/v1/{kind}_definitions/list", json={})
            self._defs[key] = next(d[f"{kind}DefinitionId"] for d in listed[f"{kind}Definitions"]
                                   if d["dockerRepository"] == repository)
        return self._defs[key]

    # --- objects made afresh (for the calls that consume them) ----------------------------
    def unique(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def source(self, s: Space, rows: int = 5) -> str:
        return str(self.admin("POST", "/api/v1/sources/create", json={
            "workspaceId": s.ws, "sourceDefinitionId": self.definition("source", "sample"),
            "connectionConfiguration": {"rows": rows}, "name": f"events {s.label}"})["sourceId"])

    def destination(self, s: Space) -> str:
        return str(self.admin("POST", "/api/v1/destinations/create", json={
            "workspaceId": s.ws,
            "destinationDefinitionId": self.definition("destination", "duckdb"),
            "connectionConfiguration": {"path": f"{self.unique(s.slug)}.duckdb"},
            "name": f"warehouse {s.label}"})["destinationId"])

    def connection(self, s: Space) -> str:
        return str(self.admin("POST", "/api/v1/connections/create", json={
            "sourceId": s.source, "destinationId": s.destination, "name": f"sync {s.label}",
            "syncMode": "full_refresh", "status": "active",
            "schedule": {"units": 24, "timeUnit": "hours"}})["connectionId"])

    def export(self, s: Space, run: bool = True) -> str:
        doc = self.admin("POST", "/exports/export", 202, json={
            "project_id": s.ws, "source_id": s.source, "stream": "events", "format": "csv",
            "filename": f"events-{s.label}.csv"})
        if run:
            self.run_jobs()
        return str(doc["data"]["id"])

    def dataset_job(self, s: Space) -> str:
        doc = self.admin("POST", "/exports/export", 202, json={
            "project_id": s.ws, "source_id": s.source, "stream": "events", "format": "csv"})
        return str(doc["included"][0]["id"])

    def dump(self, s: Space, run: bool = True) -> str:
        # a dump's id follows from its configuration: a parameter makes each one new
        made = self.admin("POST", f"/apis/{s.source}/dumps", 202,
                          json=DUMP | {"parameters": {"n": self.unique("n")}})
        if run:
            self.run_jobs()
        return str(made["location"].rsplit("/", 1)[1])

    def backup(self, s: Space, run: bool = True) -> str:
        made = self.admin("POST", f"/v2/projects/{s.ws}/backups", 201,
                          json={"description": f"nightly {s.label}"})
        if run:
            self.run_jobs()
        return str(made["id"])

    def backup_export(self, s: Space) -> str:
        b = self.backup(s)
        self.admin("POST", f"/v2/project-backups/{b}/export", 204, json={"format": "tar"})
        self.run_jobs()
        return b

    def pooled_backup(self, s: Space) -> str:
        """A completed backup made with the space (a backup made later would read the
        destinations the calls made since, which were never written)."""
        return str(s.ids["backups"].pop())

    def pooled_export(self, s: Space) -> str:
        return str(s.ids["exported"].pop())

    def backup_pool(self, s: Space, backups: int, exported: int) -> None:
        made = [self.backup(s, run=False) for _ in range(backups + exported)]
        self.run_jobs()
        for b in made[backups:]:
            self.admin("POST", f"/v2/project-backups/{b}/export", 204, json={"format": "tar"})
        self.run_jobs()
        s.ids["backups"], s.ids["exported"] = made[:backups], made[backups:]

    def configuration(self, s: Space, type_: str = "transformer", **kw: Any) -> str:
        identifier = kw.pop("identifier", None) or self.unique("conf")
        obj = kw.pop("object", None) or {"prototype": "remove",
                                         "parameters": {"keys": [s.label]}}
        self.admin("POST", "/api/v1/di/configurations", params={"space": s.slug}, json={
            "type": type_, "identifier": identifier, "name": f"{identifier} {s.label}",
            "description": s.label, "object": obj})
        return identifier

    def storage(self, s: Space) -> str:
        identifier = self.configuration(s, "storage", object={"prototype": "storage",
                                                              "parameters": {}})
        self.admin("PUT", f"/api/v1/storages/{identifier}/entity",
                   params={"space": s.slug, "entity": "k1"}, json={"v": s.label})
        return identifier

    def relation(self, s: Space) -> str:
        identifier = self.unique("case")
        self.admin("POST", f"/api/v1/di/relations/transformer-test/{s.conf}",
                   params={"space": s.slug}, json={
                       "identifier": identifier, "name": f"case {s.label}", "object": {
                           "prototype": "transformer-test",
                           "parameters": {"entity": {"k": s.label},
                                          "expected": {"k": s.label}}}})
        return identifier

    def variable(self, s: Space) -> str:
        name = self.unique("VAR").replace("-", "_").upper()
        self.admin("POST", "/api/v1/environment/variables", params={"space": s.slug},
                   json={"name": name, "value": f"value-{s.label}",
                         "description": s.label})
        return name

    def member(self, s: Space, role: str = "ROLE_USER") -> str:
        email = f"{self.unique('m')}@{s.slug}.example"
        self.admin("POST", f"/api/v1/spaces/{s.slug}/users",
                   json={"email": email, "roles": [role]})
        return email

    def token(self, email: str) -> str:
        _, identifier = tokens.create(
            self.platform, auth.caller_for(self.platform, email, "tests"),
            f"token {MARK if 'rival' in email else 'own'}")
        return identifier

    def table_filter(self, headers: dict[str, str], label: str) -> str:
        made = ok(self.client.post("/api/v1/users/current/table_filters", headers=headers,
                                   json={"tableKey": "routes", "name": f"mine {label}",
                                         "filter": {}}))
        return str(made["object"]["identifier"])

    def spare_space(self) -> str:
        slug = self.unique("spare")
        self.admin("PUT", "/api/v1/spaces", json={"identifier": slug, "name": "Spare",
                                                   "purpose": "dev"})
        return slug

    def system_administrator(self) -> str:
        email = f"{self.unique('sys')}@example.com"
        self.admin("POST", "/api/v1/system_administrators",
                   json={"email": email, "roles": ["ROLE_SYSTEM_ADMINISTRATOR"]})
        return email

    def owner_of(self, s: Space) -> str:
        return A if s is self.team else RIVAL_ADMIN

    def published(self, s: Space) -> int:
        made = self.admin("POST", "/api/v1/queue/publish", params={"space": s.slug}, json={
            "job": {"commands": [{"command": "route:run", "arguments": {"route": "orders"}}]}})
        return int(made["processId"])

    def personal(self, email: str, s: Space) -> dict[str, str]:
        """The personal objects of ``email`` (a token and two table filters, one to delete)."""
        headers = ({"Authorization": "Basic " + base64.b64encode(
            f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()} if email == S
            else self.headers[email])
        return {"my_token": self.token(email), "my_fresh_token": self.token(email),
                "my_filter": self.table_filter(headers, s.label),
                "my_fresh_filter": self.table_filter(headers, s.label)}

    # --- the whole world -------------------------------------------------------------------
    def build(self) -> World:
        c = self.client
        ok(c.post("/api/v1/spaces", auth=ADMIN, json={
            "object": {"identifier": "team", "name": "Team", "purpose": "dev",
                       "termsAgreed": True},
            "users": [{"email": e, "roles": [ROLES[e]]} for e in (V, E, A)],
            "dataEngines": []}))
        ok(c.post("/api/v1/spaces", auth=ADMIN, json={
            "object": {"identifier": "rival", "name": f"Rival {MARK}", "purpose": "dev",
                       "description": MARK, "termsAgreed": True},
            "users": [{"email": RIVAL_ADMIN, "roles": ["ROLE_ADMINISTRATOR"]}],
            "dataEngines": []}))
        for who in (V, E, A, RIVAL_ADMIN):
            self.headers[who] = self.bearer(who)
        for s in (self.team, self.rival):
            self.fill(s)
        return self

    def fill(self, s: Space) -> None:
        s.ws = str(self.admin("POST", "/api/v1/workspaces/get_by_slug",
                              json={"slug": s.slug})["workspaceId"])
        s.ids["source"] = self.source(s)
        s.ids["destination"] = self.destination(s)
        s.ids["connection"] = self.connection(s)
        job = self.admin("POST", "/api/v1/connections/sync",
                         json={"connectionId": s.connection})
        s.ids["job"] = job["job"]["id"]
        self.run_jobs()
        s.ids["export"] = self.export(s)
        imported = self.admin("POST", "/imports", 202, params={
            "project_id": s.ws, "destination_id": s.destination, "table": "imported",
            "format": "csv"},
            content=f"a\n{s.label}\n".encode())
        s.ids["import_"] = imported["data"]["id"]
        s.ids["dump"] = self.dump(s)
        s.ids["backup"] = self.backup_export(s)
        self.backup_pool(s, 12, 4)  # each call of the 3 and the 1 operations takes one
        s.ids["dsjob"] = self.dataset_job(s)
        self.run_jobs()
        s.ids["member"] = self.member(s)
        s.ids["dump_config"] = DUMP
        s.ids["import_file"] = json.dumps({"type": "transformer", "identifier": "imported",
                                           "name": f"imported {s.label}", "object": {
                                               "prototype": "remove",
                                               "parameters": {"keys": ["x"]}}}).encode()
        self.admin("POST", "/api/v1/environment/variables", params={"space": s.slug},
                   json={"name": "APP_SECRET", "value": f"secret-{s.label}",
                         "encrypted": True})
        s.ids["oauth_provider"] = json.dumps({
            "clientId": "app", "clientSecret": "${APP_SECRET}",
            "authorizationUrl": self.server + "/authorize", "tokenUrl": self.server + "/token"})
        s.ids["oauth1_provider"] = json.dumps({
            "consumerKey": "app", "consumerSecret": "${APP_SECRET}",
            "requestTokenUrl": self.server + "/request_token",
            "authorizeUrl": self.server + "/authorize",
            "accessTokenUrl": self.server + "/access_token"})
        s.ids["proxy"] = self.configuration(s, "http-client", object={
            "prototype": "http-client", "parameters": {"baseUrl": self.server}})
        s.ids["conf"] = self.configuration(s)
        s.ids["relation"] = self.relation(s)
        s.ids["storage"] = self.storage(s)
        s.ids["variable"] = self.variable(s)
        history = self.admin("GET", f"/api/v1/di/configurations/transformer/{s.conf}/history",
                             params={"space": s.slug})
        s.ids["ulid"] = history["results"][-1]["ulid"]
        self.route(s)
        trail = self.admin("GET", "/api/v1/audit_trail/current_space",
                           params={"space": s.slug})
        s.ids["audit"] = trail["results"][0]["identifier"]
        logs = self.admin("POST", "/api/v1/elasticsearch/search/result",
                          params={"space": s.slug, "index": "filebeat-*"}, json={})
        s.ids["log"] = logs["hits"]["hits"][0]["_id"]

    def route(self, s: Space) -> None:
        """Route ``orders`` (SQLite in and out) run once: its tasks and its process."""
        db = self.root / f"{s.slug}-shop.db"
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, sku TEXT)")
            conn.executemany("INSERT INTO orders VALUES (?, ?)", [(1, s.label), (2, None)])
        self.configuration(s, "incoming-configuration", identifier="orders-in", object={
            "prototype": "sqlite", "parameters": {"configuration": {"path": str(db)},
                                                  "stream": "orders", "identifierField": "id"}})
        self.configuration(s, "outgoing-configuration", identifier="orders-out", object={
            "prototype": "sqlite", "parameters": {
                "configuration": {"path": str(self.root / f"{s.slug}-out.db")},
                "stream": "orders_out", "key": ["code"]}})
        self.configuration(s, "transformer", identifier="make-code", object={
            "prototype": "jsonata", "parameters": {"expression": "$uppercase(sku)",
                                                   "target": "code"}})
        self.configuration(s, "route-configuration", identifier="orders", object={
            "prototype": "route", "parameters": {"incoming": "orders-in",
                                                 "outgoing": "orders-out",
                                                 "transformers": ["make-code"]}})
        published = self.admin("POST", "/api/v1/queue/publish", params={"space": s.slug},
                               json={"job": {"commands": [{"command": "route:run",
                                                           "arguments": {"route": "orders"}}]}})
        s.ids["process"] = published["processId"]
        self.run_jobs()
        tasks = self.admin("GET", "/api/v1/tasks", params={
            "space": s.slug, "filter": json.dumps({"order": "entityIdentifier asc"})})
        s.ids["task"] = tasks["results"][0]["identifier"]
        s.ids["failed_task"] = next(t["identifier"] for t in tasks["results"]
                                    if t["status"] == "failed")

    # --- what a refused call must leave as it was ------------------------------------------
    def fingerprint(self) -> tuple[Any, ...]:
        """How many rows each table of objects holds, and the audit trail (every change
        writes one entry), in one query."""
        counted = (models.AuditEntry, models.Workspace, models.Actor, models.Connection,
                   models.Job, models.Configuration, models.EnvironmentVariable, models.ApiToken,
                   models.Membership, models.Task, models.StorageEntity, models.Artifact,
                   models.User, models.TableFilter, models.ConnectorDefinition)
        query = select(*(select(func.count()).select_from(m).scalar_subquery()
                         for m in counted))
        with self.platform.db.session() as session:
            return tuple(session.execute(query).one())


class Peer(http.server.BaseHTTPRequestHandler):
    """The far end of the proxy and of the OAuth 1 request token: answers every call."""

    def _answer(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/request_token"):
            self._answer(b"oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=true",
                         "application/x-www-form-urlencoded")
        else:
            self._answer(b"{}", "application/json")

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def log_message(self, *_: Any) -> None:
        pass

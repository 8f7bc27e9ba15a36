"""One entry per operation (method, path) of the app: its class and how to make a valid call
of it in a given space. ``/v1`` paths are the Airbyte face's alias and take the entry of
their ``/api/v1`` twin."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from types import SimpleNamespace
from typing import Any

X = SimpleNamespace  # what a call is built from: the space's ids, the fresh objects, the world


class Cls(Enum):
    READ = "read"  # every member reads; a non-member gets 404
    WRITE = "write"  # editors and administrators; viewers 403
    ADMIN = "admin"  # administrators only (the space's users, tokens, variables)
    SYSTEM = "system"  # system administrators only, installation-wide
    SELF = "self"  # the caller's own objects: anyone, on their own only
    OPEN = "open"  # needs no role: public, or proven by its own secret
    EXCLUDED = "excluded"


READ, WRITE, ADMIN, SYSTEM, SELF, OPEN, EXCLUDED = tuple(Cls)
Build = Callable[[X], Any]


@dataclass(frozen=True)
class Op:
    cls: Cls
    url: str | None = None  # formatted with X's fields; default: the route's path
    json: Build | None = None
    params: Build | None = None
    content: Build | None = None
    #: objects made (by a space administrator) before each call, for calls that consume them
    fresh: Callable[[Any, Any], dict[str, Any]] | None = None
    ok: tuple[int, ...] = (200,)
    #: no space is named: the foreign variant is the same call (lists show one's own only)
    spaceless: bool = False
    why: str = ""


def _j(**kw: Any) -> Build:
    return lambda x: {k: (v(x) if callable(v) else v) for k, v in kw.items()}


def _src(x: X) -> dict[str, Any]:
    return {"workspaceId": x.ws, "sourceDefinitionId": x.w.definition("source", "sample"),
            "connectionConfiguration": {"rows": 5}, "name": "made"}


def _dst(x: X) -> dict[str, Any]:
    return {"workspaceId": x.ws,
            "destinationDefinitionId": x.w.definition("destination", "duckdb"),
            "connectionConfiguration": {"path": f"{x.w.unique('d')}.duckdb"}, "name": "made"}


def _conn(x: X) -> dict[str, Any]:
    return {"sourceId": x.source, "destinationId": x.destination, "syncMode": "full_refresh",
            "status": "inactive", "name": "made"}


def _fresh_conn(w: Any, s: Any) -> dict[str, Any]:
    return {"fresh": w.connection(s)}


def _running_job(w: Any, s: Any) -> dict[str, Any]:
    conn = w.connection(s)
    job = w.admin("POST", "/api/v1/connections/sync", json={"connectionId": conn})
    return {"fresh": job["job"]["id"]}


def _custom_def(kind: str) -> Callable[[Any, Any], dict[str, Any]]:
    def make(w: Any, s: Any) -> dict[str, Any]:
        owner = w.headers[w.owner_of(s)]
        made = w.client.post(f"/api/v1/{kind}_definitions/create", headers=owner, json={
            "name": w.unique(f"custom {s.label}"), "dockerRepository": "sample" if
            kind == "source" else "duckdb", "dockerImageTag": "1.0",
            "documentationUrl": "https://example.com/docs"})
        assert made.status_code == 200, made.text
        return {"fresh": made.json()[f"{kind}DefinitionId"]}
    return make


def _conf(x: X) -> dict[str, Any]:
    return {"type": "transformer", "identifier": x.w.unique("made"), "name": "Made",
            "object": {"prototype": "remove", "parameters": {"keys": ["x"]}}}


def _case(x: X) -> dict[str, Any]:
    return {"identifier": x.w.unique("case"), "name": "Case", "object": {
        "prototype": "transformer-test", "parameters": {"entity": {"a": 1},
                                                        "expected": {"a": 1}}}}


def _publish(x: X) -> dict[str, Any]:
    return {"job": {"commands": [{"command": "route:run", "arguments": {"route": "orders"}}]}}


_FILTER_ALL = {"filter": "{}"}
_ONE_TASK = _j(filter=lambda x: json.dumps({"where": {"identifier": x.failed_task}}))
_WINDOW = {"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"}


def _fresh(make: str, *args: Any) -> Callable[[Any, Any], dict[str, Any]]:
    return lambda w, s: {"fresh": getattr(w, make)(s, *args)}


def _fresh_member(w: Any, s: Any) -> dict[str, Any]:
    return {"fresh": w.member(s)}


def _spare(w: Any, s: Any) -> dict[str, Any]:
    return {"fresh": w.spare_space()}


def _sysadmin(w: Any, s: Any) -> dict[str, Any]:
    return {"fresh": w.system_administrator()}


_TOKEN = ("exchanges client credentials (a user's login with that user's password or API "
          "token) for a short-lived access token: proven by the secret it carries")
_DOCS = "the API's documentation: public, the same for everyone"

TABLE: dict[tuple[str, str], Op] = {
    # --- the Airbyte face (/api/v1, with /v1 as its alias) ---------------------------------
    ("POST", "/api/v1/workspaces/get"): Op(READ, json=_j(workspaceId=lambda x: x.ws)),
    ("POST", "/api/v1/workspaces/get_by_slug"): Op(READ, json=_j(slug=lambda x: x.slug)),
    ("POST", "/api/v1/workspaces/update"): Op(ADMIN, json=_j(
        workspaceId=lambda x: x.ws, initialSetupComplete=True, onboardingComplete=True,
        anonymousDataCollection=False, news=False, securityUpdates=False)),
    ("POST", "/api/v1/workspaces/create"): Op(SYSTEM, spaceless=True, json=_j(
        name=lambda x: x.w.unique("made"))),
    ("POST", "/api/v1/workspaces/list"): Op(READ, spaceless=True),
    # a gzipped archive: its foreign markers are looked for in tests/api/test_security.py
    ("POST", "/api/v1/deployment/export"): Op(READ, spaceless=True),
    ("POST", "/api/v1/source_definitions/create"): Op(WRITE, spaceless=True, json=_j(
        name=lambda x: x.w.unique("custom"), dockerRepository="sample", dockerImageTag="1",
        documentationUrl="https://example.com/docs")),
    ("POST", "/api/v1/source_definitions/update"): Op(
        WRITE, fresh=_custom_def("source"),
        json=_j(sourceDefinitionId=lambda x: x.fresh, dockerImageTag="2")),
    ("POST", "/api/v1/source_definitions/list"): Op(READ, spaceless=True),
    ("POST", "/api/v1/source_definitions/get"): Op(
        READ, fresh=_custom_def("source"), json=_j(sourceDefinitionId=lambda x: x.fresh)),
    ("POST", "/api/v1/source_definition_specifications/get"): Op(
        READ, fresh=_custom_def("source"),
        json=_j(sourceDefinitionId=lambda x: x.fresh, workspaceId=lambda x: x.ws)),
    ("POST", "/api/v1/destination_definitions/create"): Op(WRITE, spaceless=True, json=_j(
        name=lambda x: x.w.unique("custom"), dockerRepository="duckdb", dockerImageTag="1",
        documentationUrl="https://example.com/docs")),
    ("POST", "/api/v1/destination_definitions/update"): Op(
        WRITE, fresh=_custom_def("destination"),
        json=_j(destinationDefinitionId=lambda x: x.fresh, dockerImageTag="2")),
    ("POST", "/api/v1/destination_definitions/list"): Op(READ, spaceless=True),
    ("POST", "/api/v1/destination_definitions/get"): Op(
        READ, fresh=_custom_def("destination"),
        json=_j(destinationDefinitionId=lambda x: x.fresh)),
    ("POST", "/api/v1/destination_definition_specifications/get"): Op(
        READ, fresh=_custom_def("destination"),
        json=_j(destinationDefinitionId=lambda x: x.fresh, workspaceId=lambda x: x.ws)),
    ("POST", "/api/v1/sources/create"): Op(WRITE, json=_src),
    ("POST", "/api/v1/sources/update"): Op(WRITE, json=_j(
        sourceId=lambda x: x.source, connectionConfiguration={"rows": 5},
        name=lambda x: f"events {x.label}")),
    ("POST", "/api/v1/sources/list"): Op(READ, json=_j(workspaceId=lambda x: x.ws)),
    ("POST", "/api/v1/sources/get"): Op(READ, json=_j(sourceId=lambda x: x.source)),
    ("POST", "/api/v1/sources/delete"): Op(WRITE, fresh=_fresh("source"), ok=(204,),
                                           json=_j(sourceId=lambda x: x.fresh)),
    ("POST", "/api/v1/sources/check_connection"): Op(WRITE,
                                                     json=_j(sourceId=lambda x: x.source)),
    ("POST", "/api/v1/sources/discover_schema"): Op(WRITE,
                                                    json=_j(sourceId=lambda x: x.source)),
    ("POST", "/api/v1/destinations/create"): Op(WRITE, json=_dst),
    ("POST", "/api/v1/destinations/update"): Op(WRITE, fresh=_fresh("destination"), json=_j(
        destinationId=lambda x: x.fresh,
        connectionConfiguration=lambda x: {"path": f"{x.w.unique('d')}.duckdb"},
        name=lambda x: f"warehouse {x.label}")),
    ("POST", "/api/v1/destinations/list"): Op(READ, json=_j(workspaceId=lambda x: x.ws)),
    ("POST", "/api/v1/destinations/get"): Op(READ,
                                             json=_j(destinationId=lambda x: x.destination)),
    ("POST", "/api/v1/destinations/check_connection"): Op(
        WRITE, json=_j(destinationId=lambda x: x.destination)),
    ("POST", "/api/v1/destinations/delete"): Op(WRITE, fresh=_fresh("destination"), ok=(204,),
                                                json=_j(destinationId=lambda x: x.fresh)),
    ("POST", "/api/v1/connections/create"): Op(WRITE, json=_conn),
    ("POST", "/api/v1/connections/update"): Op(WRITE, json=_j(
        connectionId=lambda x: x.connection, status="active")),
    ("POST", "/api/v1/connections/list"): Op(READ, json=_j(workspaceId=lambda x: x.ws)),
    ("POST", "/api/v1/connections/list_paginated"): Op(
        READ, json=_j(workspaceIds=lambda x: [x.ws])),
    ("POST", "/api/v1/connections/get"): Op(READ,
                                            json=_j(connectionId=lambda x: x.connection)),
    ("POST", "/api/v1/connections/delete"): Op(WRITE, fresh=_fresh_conn, ok=(204,),
                                               json=_j(connectionId=lambda x: x.fresh)),
    ("POST", "/api/v1/connections/sync"): Op(WRITE, fresh=_fresh_conn,
                                             json=_j(connectionId=lambda x: x.fresh)),
    ("POST", "/api/v1/connections/reset"): Op(WRITE, fresh=_fresh_conn,
                                              json=_j(connectionId=lambda x: x.fresh)),
    ("POST", "/api/v1/jobs/list"): Op(READ, json=_j(configTypes=["sync"],
                                                    configId=lambda x: x.connection)),
    ("POST", "/api/v1/jobs/get"): Op(READ, json=_j(id=lambda x: x.job)),
    ("POST", "/api/v1/jobs/cancel"): Op(WRITE, fresh=_running_job,
                                        json=_j(id=lambda x: x.fresh)),
    ("POST", "/api/v1/operations/list"): Op(READ,
                                            json=_j(connectionId=lambda x: x.connection)),
    ("POST", "/api/v1/web_backend/connections/list"): Op(
        READ, json=_j(workspaceId=lambda x: x.ws)),
    ("POST", "/api/v1/web_backend/connections/list_paginated"): Op(
        READ, json=_j(workspaceIds=lambda x: [x.ws])),
    ("POST", "/api/v1/web_backend/connections/get"): Op(
        READ, json=_j(connectionId=lambda x: x.connection)),
    ("POST", "/api/v1/web_backend/sources/create"): Op(WRITE, json=_src),
    ("POST", "/api/v1/web_backend/sources/recreate"): Op(
        WRITE, fresh=_fresh("source"), json=lambda x: _src(x) | {"sourceId": x.fresh}),
    ("POST", "/api/v1/web_backend/destinations/create"): Op(WRITE, json=_dst),
    ("POST", "/api/v1/web_backend/destinations/recreate"): Op(
        WRITE, fresh=_fresh("destination"),
        json=lambda x: _dst(x) | {"destinationId": x.fresh}),
    ("GET", "/api/v1/health"): Op(OPEN, why="the health check answers without credentials"),
    ("GET", "/api/v1/debug"): Op(READ, spaceless=True),

    # --- the Airbyte public API (/api/public/v1) -------------------------------------------
    ("POST", "/api/public/v1/applications/token"): Op(OPEN, why=_TOKEN),
    ("POST", "/api/v1/applications/token"): Op(OPEN, why=_TOKEN),
    ("GET", "/api/public/v1/health"): Op(
        OPEN, why="the health check answers without credentials"),
    ("POST", "/api/public/v1/jobs"): Op(WRITE, fresh=_fresh_conn, json=_j(
        connectionId=lambda x: x.fresh, jobType="sync")),
    ("GET", "/api/public/v1/jobs"): Op(READ, params=_j(connectionId=lambda x: x.connection)),
    ("GET", "/api/public/v1/jobs/{jobId}"): Op(READ, url="/api/public/v1/jobs/{job}"),
    ("DELETE", "/api/public/v1/jobs/{jobId}"): Op(WRITE, fresh=_running_job,
                                                   url="/api/public/v1/jobs/{fresh}"),
    ("GET", "/api/public/v1/connections"): Op(READ, params=_j(workspaceIds=lambda x: [x.ws])),
    ("GET", "/api/public/v1/connections/{connectionId}"): Op(
        READ, url="/api/public/v1/connections/{connection}"),
    ("GET", "/api/public/v1/workspaces"): Op(READ, params=_j(workspaceIds=lambda x: [x.ws])),
    ("GET", "/api/public/v1/workspaces/{workspaceId}"): Op(
        READ, url="/api/public/v1/workspaces/{ws}"),
    ("GET", "/api/public/v1/sources/{sourceId}"): Op(
        READ, url="/api/public/v1/sources/{source}"),
    ("GET", "/api/public/v1/destinations/{destinationId}"): Op(
        READ, url="/api/public/v1/destinations/{destination}"),

    # --- datasets --------------------------------------------------------------------------
    ("GET", "/exports"): Op(READ, spaceless=True),
    ("GET", "/exports/formats"): Op(READ, spaceless=True,
                                    params=_j(modalities="tabular")),
    ("GET", "/exports/{resource_id}"): Op(READ, url="/exports/{export}"),
    ("POST", "/exports/export"): Op(WRITE, ok=(202,), json=_j(
        project_id=lambda x: x.ws, source_id=lambda x: x.source, stream="events")),
    ("GET", "/exports/{resource_id}/download"): Op(READ, url="/exports/{export}/download"),
    ("GET", "/jobs"): Op(READ, spaceless=True),
    ("GET", "/jobs/{resource_id}"): Op(READ, url="/jobs/{dsjob}"),
    ("DELETE", "/jobs/{resource_id}"): Op(WRITE, url="/jobs/{fresh}",
                                          fresh=_fresh("dataset_job"), ok=(200, 204)),
    ("POST", "/imports"): Op(WRITE, ok=(202,), params=_j(
        project_id=lambda x: x.ws, destination_id=lambda x: x.destination, table="made",
        format="csv"), content=lambda x: b"a\n1\n"),
    ("GET", "/imports/{resource_id}"): Op(READ, url="/imports/{import_}"),

    # --- backups ---------------------------------------------------------------------------
    ("GET", "/v2/projects/{projectId}/backups"): Op(READ, url="/v2/projects/{ws}/backups"),
    ("POST", "/v2/projects/{projectId}/backups"): Op(WRITE, url="/v2/projects/{ws}/backups",
                                                     ok=(201,), json=_j(description="made")),
    ("GET", "/v2/project-backups/{projectBackupId}"): Op(
        READ, url="/v2/project-backups/{backup}"),
    ("PATCH", "/v2/project-backups/{projectBackupId}"): Op(
        WRITE, url="/v2/project-backups/{backup}", ok=(200, 204),
        json=_j(description=lambda x: f"nightly {x.label}")),
    ("PATCH", "/v2/project-backups/{projectBackupId}/description"): Op(
        WRITE, url="/v2/project-backups/{backup}/description", ok=(200, 204),
        json=_j(description=lambda x: f"nightly {x.label}")),
    ("DELETE", "/v2/project-backups/{projectBackupId}"): Op(
        WRITE, url="/v2/project-backups/{fresh}", fresh=_fresh("pooled_backup"), ok=(200, 204)),
    ("GET", "/v2/project-backups/{projectBackupId}/database-dumps"): Op(
        READ, url="/v2/project-backups/{backup}/database-dumps"),
    ("POST", "/v2/project-backups/{projectBackupId}/export"): Op(
        WRITE, url="/v2/project-backups/{fresh}/export", fresh=_fresh("pooled_backup"),
        ok=(204,), json=_j(format="tar")),
    ("DELETE", "/v2/project-backups/{projectBackupId}/export"): Op(
        WRITE, url="/v2/project-backups/{fresh}/export", fresh=_fresh("pooled_export"),
        ok=(200, 204)),
    ("GET", "/v2/project-backups/{projectBackupId}/export/download"): Op(
        READ, url="/v2/project-backups/{backup}/export/download"),
    ("POST", "/v2/project-backups/{projectBackupId}/restore"): Op(
        WRITE, url="/v2/project-backups/{fresh}/restore", fresh=_fresh("pooled_backup"),
        ok=(200, 202, 204), json=_j(restoreConfiguration=True)),

    # --- dumps -----------------------------------------------------------------------------
    ("GET", "/apis/{apiId}/dumps"): Op(READ, url="/apis/{source}/dumps"),
    ("POST", "/apis/{apiId}/dumps"): Op(WRITE, url="/apis/{source}/dumps", ok=(202,),
                                        json=lambda x: x.dump_config),
    ("GET", "/apis/{apiId}/dumps/{dumpId}"): Op(READ, url="/apis/{source}/dumps/{dump}"),
    ("DELETE", "/apis/{apiId}/dumps/{dumpId}"): Op(
        WRITE, url="/apis/{source}/dumps/{fresh}", fresh=_fresh("dump", False), ok=(200, 204)),
    ("GET", "/apis/{apiId}/dumps/{dumpId}/download"): Op(
        READ, url="/apis/{source}/dumps/{dump}/download"),

    # --- the platform API (Alumio): spaces, users, tokens, audit, variables ----------------
    ("GET", "/api/v1/spaces"): Op(READ, spaceless=True),
    ("POST", "/api/v1/spaces"): Op(SYSTEM, spaceless=True, json=lambda x: {
        "object": {"identifier": x.w.unique("made"), "name": "Made", "purpose": "dev"},
        "users": [], "dataEngines": []}),
    ("PUT", "/api/v1/spaces"): Op(SYSTEM, spaceless=True, json=_j(
        identifier=lambda x: x.w.unique("made"), name="Made", purpose="dev")),
    ("GET", "/api/v1/spaces/{identifier}"): Op(READ, url="/api/v1/spaces/{slug}"),
    ("DELETE", "/api/v1/spaces/{identifier}"): Op(SYSTEM, spaceless=True, fresh=_spare,
                                                  url="/api/v1/spaces/{fresh}"),
    ("POST", "/api/v1/spaces/{identifier}/retry_sync"): Op(
        SYSTEM, url="/api/v1/spaces/{slug}/retry_sync"),
    ("POST", "/api/v1/spaces/{space}/assign_users"): Op(
        ADMIN, url="/api/v1/spaces/{slug}/assign_users", fresh=_fresh_member,
        json=_j(users=lambda x: [{"email": x.fresh, "roles": ["ROLE_EDITOR"]}])),
    ("GET", "/api/v1/spaces/{space}/users"): Op(READ, url="/api/v1/spaces/{slug}/users"),
    ("POST", "/api/v1/spaces/{space}/users"): Op(
        ADMIN, url="/api/v1/spaces/{slug}/users",
        json=_j(email=lambda x: f"{x.w.unique('new')}@example.com", roles=["ROLE_USER"])),
    ("GET", "/api/v1/spaces/{space}/users/{email}"): Op(
        READ, url="/api/v1/spaces/{slug}/users/{member}"),
    ("PUT", "/api/v1/spaces/{space}/users/{email}"): Op(
        ADMIN, url="/api/v1/spaces/{slug}/users/{fresh}", fresh=_fresh_member,
        json=_j(email=lambda x: x.fresh, roles=["ROLE_EDITOR"])),
    ("DELETE", "/api/v1/spaces/{space}/users/{email}"): Op(
        ADMIN, url="/api/v1/spaces/{slug}/users/{fresh}", fresh=_fresh_member),
    ("GET", "/api/v1/users/current"): Op(READ),
    # another user's password (an extension): the space's administrators when they run every
    # space the user is in (a fresh member is in this space only); one's own needs the
    # current password (tests/api/test_alumio_users.py)
    ("PUT", "/api/v1/users/{email}/password"): Op(
        ADMIN, url="/api/v1/users/{fresh}/password", fresh=_fresh_member,
        json=_j(password="matrix-password-1")),
    ("PUT", "/api/v1/users/preferences/update"): Op(READ, json=_j(
        updatedPreferences={"tab": 1})),
    ("POST", "/api/v1/users/current/accept_terms"): Op(READ),
    # one's own preferences within the space (kept with the membership: a system
    # administrator who is not a member is told so)
    ("PUT", "/api/v1/current_space/preferences"): Op(READ, ok=(200, 409), json=_j(
        updatedPreferences={"tab": 1})),
    ("GET", "/api/v1/current_space/users"): Op(READ),
    ("POST", "/api/v1/current_space/users"): Op(ADMIN, json=_j(
        email=lambda x: f"{x.w.unique('new')}@example.com", roles=["ROLE_USER"])),
    ("GET", "/api/v1/current_space/users/{email}"): Op(
        READ, url="/api/v1/current_space/users/{member}"),
    ("PUT", "/api/v1/current_space/users/{email}"): Op(
        ADMIN, url="/api/v1/current_space/users/{fresh}", fresh=_fresh_member,
        json=_j(email=lambda x: x.fresh, roles=["ROLE_EDITOR"])),
    ("GET", "/api/v1/users/current/table_filters"): Op(SELF, spaceless=True),
    ("POST", "/api/v1/users/current/table_filters"): Op(SELF, spaceless=True, json=_j(
        tableKey="routes", name=lambda x: x.w.unique("f"), filter={})),
    ("PUT", "/api/v1/users/current/table_filters/{identifier}"): Op(
        SELF, url="/api/v1/users/current/table_filters/{my_filter}",
        json=_j(tableKey="routes", name="mine", filter={})),
    ("DELETE", "/api/v1/users/current/table_filters/{identifier}"): Op(
        SELF, url="/api/v1/users/current/table_filters/{my_fresh_filter}"),
    ("GET", "/api/v1/system_administrators"): Op(SYSTEM, spaceless=True),
    ("POST", "/api/v1/system_administrators"): Op(SYSTEM, spaceless=True, json=_j(
        email=lambda x: f"{x.w.unique('sys')}@example.com",
        roles=["ROLE_SYSTEM_ADMINISTRATOR"])),
    ("GET", "/api/v1/system_administrators/{email}"): Op(
        SYSTEM, spaceless=True, url="/api/v1/system_administrators/{fresh}",
        fresh=_sysadmin),
    ("PUT", "/api/v1/system_administrators/{email}"): Op(
        SYSTEM, spaceless=True, url="/api/v1/system_administrators/{fresh}", fresh=_sysadmin,
        json=_j(email=lambda x: x.fresh, roles=["ROLE_SYSTEM_ADMINISTRATOR"])),
    ("DELETE", "/api/v1/system_administrators/{email}"): Op(
        SYSTEM, spaceless=True, url="/api/v1/system_administrators/{fresh}",
        fresh=_sysadmin),
    ("GET", "/api/v1/tokens"): Op(SELF, spaceless=True),
    ("POST", "/api/v1/tokens"): Op(SELF, spaceless=True, json=_j(name="made")),
    ("GET", "/api/v1/tokens/{identifier}"): Op(SELF, url="/api/v1/tokens/{my_token}"),
    ("PUT", "/api/v1/tokens/{identifier}"): Op(SELF, url="/api/v1/tokens/{my_token}",
                                               json=_j(name="renamed")),
    ("DELETE", "/api/v1/tokens/{identifier}"): Op(SELF, url="/api/v1/tokens/{my_fresh_token}"),
    ("GET", "/api/v1/audit_trail/current_space"): Op(ADMIN),
    ("GET", "/api/v1/audit_trail/current_space/item/{identifier}"): Op(
        ADMIN, url="/api/v1/audit_trail/current_space/item/{audit}"),
    ("GET", "/api/v1/audit_trail"): Op(SYSTEM, spaceless=True),
    # with ``space``: that space's administrators; without: system administrators
    ("GET", "/api/v1/audit_trail/item/{identifier}"): Op(
        ADMIN, url="/api/v1/audit_trail/item/{audit}"),
    ("POST", "/api/v1/audit_trail/current_space/export"): Op(ADMIN),
    ("POST", "/api/v1/audit_trail/export"): Op(SYSTEM, spaceless=True),
    ("GET", "/api/v1/environment/variables"): Op(READ),
    # plain variables are an editor's to change, encrypted ones an administrator's
    ("POST", "/api/v1/environment/variables"): Op(WRITE, json=_j(
        name=lambda x: x.w.unique("MADE").replace("-", "_").upper(), value="v")),
    ("GET", "/api/v1/environment/variables/{name}"): Op(
        READ, url="/api/v1/environment/variables/{variable}"),
    ("PUT", "/api/v1/environment/variables/{name}"): Op(
        WRITE, url="/api/v1/environment/variables/{variable}",
        json=_j(value=lambda x: f"value-{x.label}")),
    ("DELETE", "/api/v1/environment/variables/{name}"): Op(
        WRITE, url="/api/v1/environment/variables/{fresh}", fresh=_fresh("variable")),
    ("GET", "/api/v1/environment/variables/{variable}/usages"): Op(
        READ, url="/api/v1/environment/variables/{variable}/usages"),
    ("GET", "/api/v1/environment/candidates"): Op(WRITE),
    ("POST", "/api/v1/ai/javascript_code"): Op(READ, spaceless=True, ok=(501,),
                                               json=_j(prompt="sum")),
    ("POST", "/api/v1/ai/transformer_tester_data"): Op(READ, spaceless=True, ok=(501,),
                                                       json=_j(prompt="sum")),
    ("POST", "/api/v1/ai/cron_expression"): Op(READ, spaceless=True,
                                               json=_j(prompt="every 5 minutes")),
    ("GET", "/api/v1/application/server"): Op(READ, spaceless=True),
    ("GET", "/api/v1/application/subscription"): Op(READ, spaceless=True),
    ("GET", "/api/v1/application/environment"): Op(READ, spaceless=True),
    # a self-hosted server has no update cycle: 501, honestly
    ("PUT", "/api/v1/application/update_cycle"): Op(SYSTEM, spaceless=True, ok=(501,),
                                                    json=_j(updateCycle="lts")),
    ("GET", "/api/v1/maintenance_windows"): Op(READ, spaceless=True),
    ("GET", "/api/v1/environments"): Op(READ, spaceless=True),
    ("GET", "/api/v1/statistics/spaces"): Op(SYSTEM, spaceless=True),
    ("GET", "/api/v1/space_workers/allocation"): Op(SYSTEM, spaceless=True),
    ("POST", "/api/v1/space_workers/allocation"): Op(SYSTEM, spaceless=True, ok=(200, 201),
                                                     json=_j(
        spaceWorkers=lambda x: [{"spaceIdentifier": "team", "workers": None}])),
    ("GET", "/api/v1/space_workers"): Op(SYSTEM, spaceless=True),
    ("POST", "/api/v1/space_workers"): Op(SYSTEM, spaceless=True, json=_j(
        spaceWorkers=lambda x: [{"spaceIdentifier": "team", "workerIdentifiers": []}])),

    # --- configurations and their graph ----------------------------------------------------
    ("GET", "/api/v1/di/configurations/persisted"): Op(READ),
    ("GET", "/api/v1/di/configurations"): Op(READ),
    ("POST", "/api/v1/di/configurations"): Op(WRITE, json=_conf),
    ("PUT", "/api/v1/di/configurations"): Op(WRITE, json=lambda x: {
        "type": "transformer", "identifier": x.conf, "name": f"{x.conf} {x.label}",
        "description": x.label,
        "object": {"prototype": "remove", "parameters": {"keys": [x.label]}}}),
    ("PATCH", "/api/v1/di/configurations"): Op(WRITE, json=_j(
        type="transformer", identifier=lambda x: x.conf, description=lambda x: x.label)),
    ("GET", "/api/v1/di/configurations/{type}/{identifier}"): Op(
        READ, url="/api/v1/di/configurations/transformer/{conf}"),
    ("DELETE", "/api/v1/di/configurations/{type}/{identifier}"): Op(
        WRITE, url="/api/v1/di/configurations/transformer/{fresh}",
        fresh=_fresh("configuration")),
    ("PUT", "/api/v1/di/configurations/{type}/{identifier}/status"): Op(
        WRITE, url="/api/v1/di/configurations/transformer/{conf}/status",
        json=_j(disabled=False)),
    ("PUT", "/api/v1/di/configurations/{type}/{identifier}/labels"): Op(
        WRITE, url="/api/v1/di/configurations/transformer/{conf}/labels",
        json=_j(labels=["blue"])),
    ("POST", "/api/v1/di/configurations/{type}/delete"): Op(
        WRITE, url="/api/v1/di/configurations/transformer/delete", fresh=_fresh("configuration"),
        json=_j(filter=lambda x: json.dumps({"where": {"identifier": x.fresh}}))),
    ("POST", "/api/v1/di/favourites"): Op(READ, json=_j(type="transformer",
                                                       identifier=lambda x: x.conf)),
    ("GET", "/api/v1/di/configurations/{type}/{identifier}/history"): Op(
        READ, url="/api/v1/di/configurations/transformer/{conf}/history"),
    ("POST", "/api/v1/di/configurations/{type}/{identifier}/restore"): Op(
        WRITE, url="/api/v1/di/configurations/transformer/{conf}/restore",
        json=_j(ulid=lambda x: x.ulid)),
    ("POST", "/api/v1/di/export"): Op(WRITE, json=_j(
        objects=lambda x: [{"type": "transformer", "identifier": x.conf}])),
    ("POST", "/api/v1/di/export/{type}"): Op(WRITE, url="/api/v1/di/export/transformer",
                                             json=_j()),
    ("POST", "/api/v1/di/import"): Op(WRITE, ok=(201,), params=_j(**{"dry-run": "true"}),
                                      content=lambda x: x.import_file),
    ("GET", "/api/v1/di/configurations/{type}/{identifier}/usages"): Op(
        READ, url="/api/v1/di/configurations/transformer/{conf}/usages"),
    ("POST", "/api/v1/di/resolve"): Op(READ, json=_j(
        objects=lambda x: [{"type": "transformer", "identifier": x.conf}])),
    ("GET", "/api/v1/di/resolve/{type}/{identifier}"): Op(
        READ, url="/api/v1/di/resolve/transformer/{conf}"),
    ("GET", "/api/v1/di/dependants"): Op(READ),
    ("GET", "/api/v1/di/validate"): Op(READ),
    ("GET", "/api/v1/di/validate/registered"): Op(READ),
    ("POST", "/api/v1/di/test/{type}"): Op(WRITE, url="/api/v1/di/test/transformer", json=_j(
        object={"prototype": "remove", "parameters": {"keys": ["x"]}}, entity={"x": 1})),
    ("POST", "/api/v1/di/test/{type}/{identifier}"): Op(
        WRITE, url="/api/v1/di/test/transformer/{conf}", json=_j(entity={"x": 1})),
    ("GET", "/api/v1/di/types/{type}"): Op(READ, url="/api/v1/di/types/transformer"),
    ("GET", "/api/v1/di/types/{type}/configurations"): Op(
        READ, url="/api/v1/di/types/transformer/configurations"),
    ("GET", "/api/v1/di/types/{type}/prototypes"): Op(
        READ, spaceless=True, url="/api/v1/di/types/transformer/prototypes"),
    ("GET", "/api/v1/di/prototypes/tests"): Op(READ, spaceless=True),
    ("GET", "/api/v1/di/prototypes/{type}/documentation"): Op(
        READ, spaceless=True, url="/api/v1/di/prototypes/transformer/documentation"),
    ("GET", "/api/v1/di/prototypes/{type}/{identifier}/documentation"): Op(
        READ, spaceless=True, url="/api/v1/di/prototypes/transformer/remove/documentation"),
    ("GET", "/api/v1/platforms"): Op(READ, spaceless=True),
    ("GET", "/api/v1/di/relations/{type}/{owner}"): Op(
        READ, url="/api/v1/di/relations/transformer-test/{conf}"),
    ("POST", "/api/v1/di/relations/{type}/{owner}"): Op(
        WRITE, url="/api/v1/di/relations/transformer-test/{conf}", json=_case),
    ("GET", "/api/v1/di/relations/{type}/{owner}/{identifier}"): Op(
        READ, url="/api/v1/di/relations/transformer-test/{conf}/{relation}"),
    ("PUT", "/api/v1/di/relations/{type}/{owner}/{identifier}"): Op(
        WRITE, url="/api/v1/di/relations/transformer-test/{conf}/{relation}",
        json=lambda x: {k: v for k, v in _case(x).items() if k != "identifier"}),
    ("DELETE", "/api/v1/di/relations/{type}/{owner}/{identifier}"): Op(
        WRITE, url="/api/v1/di/relations/transformer-test/{conf}/{fresh}",
        fresh=_fresh("relation")),

    # --- routes, the queue, tasks ----------------------------------------------------------
    ("GET", "/api/v1/routes"): Op(READ),
    ("GET", "/api/v1/routes/all_spaces"): Op(SYSTEM, spaceless=True),
    ("POST", "/api/v1/queue/publish"): Op(WRITE, json=_publish),
    ("GET", "/api/v1/queue/processes"): Op(READ),
    ("GET", "/api/v1/queue/processes/{process}"): Op(
        READ, url="/api/v1/queue/processes/{process}"),
    ("GET", "/api/v1/queue/jobs/{job}"): Op(READ, url="/api/v1/queue/jobs/{process}"),
    ("POST", "/api/v1/queue/jobs/skip"): Op(WRITE, json=_j(**_FILTER_ALL)),
    ("POST", "/api/v1/queue/jobs/kill"): Op(WRITE, json=_j(**_FILTER_ALL)),
    ("POST", "/api/v1/queue/jobs/stop"): Op(WRITE, json=_j(**_FILTER_ALL)),
    ("POST", "/api/v1/queue/processes/{identifier}/kill"): Op(
        WRITE, url="/api/v1/queue/processes/{fresh}/kill", fresh=_fresh("published")),
    ("POST", "/api/v1/queue/processes/{identifier}/stop"): Op(
        WRITE, url="/api/v1/queue/processes/{fresh}/stop", fresh=_fresh("published")),
    ("POST", "/api/v1/subscribers/{subscriber}/consume"): Op(
        WRITE, url="/api/v1/subscribers/orders-in/consume"),
    ("GET", "/api/v1/subscribers/{subscriber}/consume"): Op(
        WRITE, url="/api/v1/subscribers/orders-in/consume"),
    ("POST", "/api/v1/routes/{route}/export"): Op(WRITE, url="/api/v1/routes/orders/export"),
    ("GET", "/api/v1/routes/{route}/export"): Op(WRITE, url="/api/v1/routes/orders/export"),
    ("POST", "/api/v1/transformers/run"): Op(WRITE, params=_j(type=lambda x: x.conf),
                                             json=_j(a=1)),
    ("GET", "/api/v1/tasks"): Op(READ),
    ("GET", "/api/v1/tasks/{identifier}"): Op(READ, url="/api/v1/tasks/{task}"),
    ("GET", "/api/v1/tasks/{identifier}/entity_data"): Op(
        READ, url="/api/v1/tasks/{task}/entity_data"),
    ("POST", "/api/v1/tasks/retry"): Op(WRITE, json=_ONE_TASK),
    ("POST", "/api/v1/tasks/skip"): Op(WRITE, json=_j(filter='{"where": {"identifier": 0}}')),
    ("POST", "/api/v1/tasks/resolve"): Op(WRITE,
                                          json=_j(filter='{"where": {"identifier": 0}}')),
    ("POST", "/api/v1/tasks/waiting/finish"): Op(WRITE, json=_j(**_FILTER_ALL)),
    ("POST", "/api/v1/tasks/waiting/fail"): Op(WRITE, json=_j(**_FILTER_ALL)),
    ("POST", "/api/v1/tasks/delete"): Op(WRITE,
                                         json=_j(filter='{"where": {"identifier": 0}}')),
    ("POST", "/api/v1/tasks/prune"): Op(WRITE, params=_j(maxAge="3650 days", maxCount=1000)),
    ("POST", "/api/v1/tasks/repair"): Op(WRITE),
    ("POST", "/api/v1/tasks/waiting/transition"): Op(WRITE, json=_j(tasks=lambda x: [
        {"identifiers": [x.task], "status": "finished"}])),
    ("GET", "/api/v1/statistics/routes"): Op(READ),
    ("POST", "/api/v1/statistics/routes"): Op(READ, json=_j(
        **_WINDOW, routeIdentifiers=["orders"])),

    # --- storages --------------------------------------------------------------------------
    ("GET", "/api/v1/storages"): Op(READ),
    ("POST", "/api/v1/storages/prune"): Op(WRITE),
    ("POST", "/api/v1/storages/{source}/copy/{target}"): Op(
        WRITE, url="/api/v1/storages/{storage}/copy/{fresh}", fresh=_fresh("storage")),
    ("GET", "/api/v1/storages/{identifier}/entities"): Op(
        READ, url="/api/v1/storages/{storage}/entities"),
    ("POST", "/api/v1/storages/{identifier}/entities/delete"): Op(
        WRITE, url="/api/v1/storages/{fresh}/entities/delete", fresh=_fresh("storage"),
        json=_j(entities=["k1"])),
    ("GET", "/api/v1/storages/{identifier}/entities/{entity:path}"): Op(
        READ, url="/api/v1/storages/{storage}/entities/k1"),
    ("PUT", "/api/v1/storages/{identifier}/entities/{entity:path}"): Op(
        WRITE, url="/api/v1/storages/{storage}/entities/k2", json=lambda x: 1),
    ("DELETE", "/api/v1/storages/{identifier}/entities/{entity:path}"): Op(
        WRITE, url="/api/v1/storages/{fresh}/entities/k1", fresh=_fresh("storage")),
    ("GET", "/api/v1/storages/{identifier}/entity"): Op(
        READ, url="/api/v1/storages/{storage}/entity", params=_j(entity="k1")),
    ("PUT", "/api/v1/storages/{identifier}/entity"): Op(
        WRITE, url="/api/v1/storages/{storage}/entity", params=_j(entity="k2"),
        json=lambda x: 2),
    ("POST", "/api/v1/storages/{identifier}/entity"): Op(
        WRITE, url="/api/v1/storages/{storage}/entity",
        params=_j(entity=lambda x: x.w.unique("k")),
        json=lambda x: 3),
    ("DELETE", "/api/v1/storages/{identifier}/entity"): Op(
        WRITE, url="/api/v1/storages/{fresh}/entity", fresh=_fresh("storage"),
        params=_j(entity="k1")),
    ("POST", "/api/v1/storages/{identifier}/export"): Op(
        WRITE, url="/api/v1/storages/{storage}/export"),
    ("POST", "/api/v1/storages/{identifier}/clear"): Op(
        WRITE, url="/api/v1/storages/{fresh}/clear", fresh=_fresh("storage")),

    # --- logs, search, statistics ----------------------------------------------------------
    ("POST", "/api/v1/elasticsearch/search/result"): Op(READ, json=_j()),
    ("POST", "/api/v1/elasticsearch/search/count"): Op(READ, json=_j()),
    ("GET", "/api/v1/elasticsearch/export/{index}/{id}"): Op(
        READ, url="/api/v1/elasticsearch/export/filebeat-*/{log}"),
    ("POST", "/api/v1/elasticsearch/templates"): Op(SYSTEM, spaceless=True),
    ("GET", "/api/v1/search"): Op(READ, params=_j(query="a")),
    ("GET", "/api/v1/statistics/tasks/daily"): Op(READ),
    ("GET", "/api/v1/statistics/tasks/series"): Op(SYSTEM, spaceless=True,
                                                    params=_j(filter="{}")),
    ("GET", "/api/v1/statistics/tasks/totals"): Op(READ),

    # --- calls that prove themselves by their own secret -----------------------------------
    ("POST", "/api/v1/webhook/{identifier}"): Op(
        OPEN, why="a webhook is called by a third party with the incoming's own secret "
                  "(tests/api/test_alumio_webhooks.py); no user, no role"),
    ("POST", "/api/v1/http-proxy/{identifier}"): Op(
        WRITE, url="/api/v1/http-proxy/{proxy}", content=lambda x: b"{}"),
    # reading through a proxy may change the remote side: an editor for a GET too
    **{(m, "/api/v1/http-proxy/{identifier}"): Op(
        WRITE, url="/api/v1/http-proxy/{proxy}", content=lambda x: b"{}")
       for m in ("GET", "PUT", "PATCH", "DELETE")},
    ("GET", "/api/v1/oauth/authorize"): Op(ADMIN, ok=(302, 303, 307), params=_j(
        provider=lambda x: x.oauth_provider, key=lambda x: x.w.unique("T").upper()
        .replace("-", "_"))),
    ("GET", "/api/v1/oauth/callback"): Op(
        OPEN, why="the provider's redirect: the signed state of an authorisation started "
                  "by an administrator is its proof (tests/api/test_alumio_oauth.py)"),
    ("GET", "/api/v1/oauth1/authorize"): Op(ADMIN, ok=(302, 303, 307), params=_j(
        provider=lambda x: x.oauth1_provider, key=lambda x: x.w.unique("T").upper()
        .replace("-", "_"))),
    ("GET", "/api/v1/oauth1/callback"): Op(
        OPEN, why="the provider's redirect: the signed cookie of an authorisation started "
                  "by an administrator is its proof (tests/api/test_alumio_oauth.py)"),

    # --- documentation and the web UI --------------------------------------------------------
    ("GET", "/openapi.json"): Op(OPEN, why=_DOCS),
    ("HEAD", "/openapi.json"): Op(OPEN, why=_DOCS),
    ("*", "/static/docs"): Op(OPEN, why=_DOCS),
    ("GET", "/docs"): Op(OPEN, why=_DOCS),
    ("GET", "/redoc"): Op(OPEN, why=_DOCS),
    ("GET", "/"): Op(OPEN, why="redirects to the web UI"),
}

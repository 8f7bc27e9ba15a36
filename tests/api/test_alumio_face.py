"""The platform API under /api/v1: spaces, space users, current user, tokens, audit trail; and
the role matrix over a representative operation of each face."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.services import auth, spaces
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import StorageEntity, Task
from tests.api.conftest import ADMIN, A, E, V, bearer

#: the other platform API tests import it from here
_bearer = bearer


def _platform(client: TestClient) -> Platform:
    p: Platform = client.app.state.platform  # type: ignore[attr-defined]
    return p


def _error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == str(status)
    assert set(body) == {"status", "context", "type", "title", "detail", "violations"}
    return body


def _ws(client: TestClient, slug: str) -> str:
    p = _platform(client)
    return spaces.get(p, auth.caller_for(p, "admin"), slug).id


def test_spaces_are_the_airbyte_workspaces(client: TestClient,
                                           team: dict[str, dict[str, str]]) -> None:
    r = client.get("/api/v1/spaces/team-a", headers=team[V])
    space = r.json()["object"]
    assert (space["identifier"], space["name"], space["purpose"]) == ("team-a", "Team A", "dev")
    r = client.post("/api/v1/workspaces/get_by_slug", json={"slug": "team-a"}, headers=team[E])
    assert r.json()["name"] == "Team A"
    r = client.post("/api/v1/workspaces/get_by_slug", json={"slug": "default"},
                    headers=team[E])
    assert r.status_code == 404
    listed = client.get("/api/v1/spaces", headers=team[V]).json()
    assert listed["metadata"] == {"totalCount": 1}
    assert [s["identifier"] for s in listed["results"]] == ["team-a"]


def test_put_spaces_creates_then_updates_and_only_for_system_administrators(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    body = {"identifier": "team-b", "name": "B", "purpose": "test"}
    _error(client.put("/api/v1/spaces", json=body, headers=team[A]), 403)
    assert client.put("/api/v1/spaces", json=body, auth=ADMIN).json()["object"]["name"] == "B"
    body["name"] = "Bee"
    assert client.put("/api/v1/spaces", json=body, auth=ADMIN).json()["object"]["name"] == "Bee"


@pytest.mark.parametrize(("body", "path"), [
    ({"identifier": "Bad Id", "name": "x", "purpose": "dev"}, "identifier"),
    ({"identifier": "ok", "name": "x", "purpose": "live"}, "purpose"),
    ({"identifier": "ok", "name": "", "purpose": "dev"}, "name"),
    ({"identifier": "ok", "name": "x"}, "purpose"),
])
def test_a_bad_space_is_400_naming_the_field(client: TestClient, body: dict[str, Any],
                                             path: str) -> None:
    err = _error(client.put("/api/v1/spaces", json=body, auth=ADMIN), 400)
    assert path in [v["propertyPath"] for v in err["violations"]]


def test_deleting_a_space_that_holds_objects_is_409_naming_them(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    ws = _ws(client, "team-a")
    defs = client.post("/api/v1/source_definitions/list", json={}, auth=ADMIN).json()
    sample = next(d["sourceDefinitionId"] for d in defs["sourceDefinitions"]
                  if d["dockerRepository"] == "sample")
    made = client.post("/api/v1/sources/create", headers=team[E], json={
        "workspaceId": ws, "sourceDefinitionId": sample, "name": "s",
        "connectionConfiguration": {"rows": 5}})
    assert made.status_code == 200, made.text
    err = _error(client.delete("/api/v1/spaces/team-a", auth=ADMIN), 409)
    assert "1 sources" in err["detail"]
    client.post("/api/v1/sources/delete", headers=team[E],
                json={"sourceId": made.json()["sourceId"]})
    r = client.delete("/api/v1/spaces/team-a", auth=ADMIN)
    assert r.status_code == 200, r.text
    _error(client.get("/api/v1/spaces/team-a", auth=ADMIN), 404)


def test_deleting_a_space_deletes_its_tasks_and_storage_entities(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    """They have no foreign key to their space (a route records them in bulk): the
    deletion removes them itself, and leaves another space's alone."""
    p = _platform(client)
    doomed, other = _ws(client, "team-a"), _ws(client, "default")
    t = now()
    with p.db.session() as s:
        for ws in (doomed, other):
            s.add(Task(workspace_id=ws, route="r", entity_type="e", entity_identifier="1",
                       status="finished", entity={"id": 1}, log=[]))
            s.add(StorageEntity(workspace_id=ws, storage="seen", key="1", value="a" * 32,
                                created_at=t, updated_at=t))
    assert client.delete("/api/v1/spaces/team-a", auth=ADMIN).status_code == 200
    with p.db.session() as s:
        assert [x.workspace_id for x in s.scalars(select(Task))] == [other]
        assert [x.workspace_id for x in s.scalars(select(StorageEntity))] == [other]


def test_space_users_are_managed_by_administrators(client: TestClient,
                                                   team: dict[str, dict[str, str]]) -> None:
    new = {"email": "new@team.example", "roles": ["ROLE_EDITOR"]}
    _error(client.post("/api/v1/spaces/team-a/users", json=new, headers=team[E]), 403)
    r = client.post("/api/v1/spaces/team-a/users", json=new, headers=team[A])
    assert r.json() == {"object": {"email": "new@team.example", "space": "team-a",
                                   "roles": ["ROLE_EDITOR"]}}
    _error(client.post("/api/v1/spaces/team-a/users", json=new, headers=team[A]), 409)
    filt = json.dumps({"where": {"roles": "ROLE_EDITOR"}, "order": "email asc"})
    listed = client.get("/api/v1/spaces/team-a/users", params={"filter": filt},
                        headers=team[V]).json()
    assert [u["email"] for u in listed["results"]] == [E, "new@team.example"]
    r = client.put("/api/v1/spaces/team-a/users/new@team.example", headers=team[A],
                   json={"email": "new@team.example", "roles": ["ROLE_USER"]})
    assert r.json()["object"]["roles"] == ["ROLE_USER"]
    assert client.delete("/api/v1/spaces/team-a/users/new@team.example",
                         headers=team[A]).status_code == 200
    _error(client.get("/api/v1/spaces/team-a/users/new@team.example", headers=team[A]), 404)
    r = client.post("/api/v1/spaces/team-a/assign_users", headers=team[A],
                    json={"users": [{"email": V, "roles": ["ROLE_EDITOR"]}]})
    assert r.json() == {}
    me = client.get("/api/v1/users/current", headers=team[V]).json()["object"]
    assert (me["email"], me["roles"]) == (V, ["ROLE_EDITOR"])


def test_the_current_user_of_the_admin_is_a_system_administrator(client: TestClient) -> None:
    me = client.get("/api/v1/users/current", auth=ADMIN).json()
    assert me["object"]["roles"] == ["ROLE_ADMINISTRATOR", "ROLE_SYSTEM_ADMINISTRATOR"]


def test_a_jwt_is_shown_once_lists_its_last_use_and_dies_when_revoked(
        client: TestClient) -> None:
    r = client.post("/api/v1/tokens", json={"name": "ci", "description": "pipeline"},
                    auth=ADMIN)
    made = r.json()
    assert set(made) == {"access_token", "identifier"}
    bearer = {"Authorization": f"Bearer {made['access_token']}"}
    assert client.get("/api/v1/users/current", headers=bearer).status_code == 200
    listed = client.get("/api/v1/tokens", auth=ADMIN).json()["results"]
    (row,) = [t for t in listed if t["identifier"] == made["identifier"]]
    assert row["lastUsed"] is not None
    assert "access_token" not in row
    assert row["createdBy"] == "admin"
    r = client.put(f"/api/v1/tokens/{made['identifier']}", json={"name": "ci2"}, auth=ADMIN)
    assert r.json()["object"]["name"] == "ci2"
    assert client.delete(f"/api/v1/tokens/{made['identifier']}", auth=ADMIN).status_code == 200
    assert client.get("/api/v1/users/current", headers=bearer).status_code == 401
    forged = made["access_token"][:-2] + ("AA" if not made["access_token"].endswith("AA")
                                          else "BB")
    assert client.get("/api/v1/users/current",
                      headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_an_swt_token_keeps_working(client: TestClient) -> None:
    token = auth.create_token(_platform(client), "admin", "old")
    r = client.get("/api/v1/users/current", headers={"Authorization": f"Bearer {token}"})
    assert r.json()["object"]["email"] == "admin"


def test_a_token_of_another_user_is_not_found(client: TestClient,
                                              team: dict[str, dict[str, str]]) -> None:
    made = client.post("/api/v1/tokens", json={"name": "mine"}, auth=ADMIN).json()
    _error(client.get(f"/api/v1/tokens/{made['identifier']}", headers=team[A]), 404)
    _error(client.delete(f"/api/v1/tokens/{made['identifier']}", headers=team[E]), 404)


def test_the_audit_trail_records_changes_on_every_face_and_exports_them(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    client.post("/api/v1/spaces/team-a/users", headers=team[A],
                json={"email": "x@team.example", "roles": ["ROLE_USER"]})
    client.put("/api/v1/spaces", auth=ADMIN, json={"identifier": "team-a", "name": "A2",
                                                   "purpose": "dev"})
    _error(client.get("/api/v1/audit_trail/current_space", params={"space": "team-a"},
                      headers=team[E]), 403)
    filt = json.dumps({"where": {"category": "user"}})
    page = client.get("/api/v1/audit_trail/current_space",
                      params={"space": "team-a", "filter": filt}, headers=team[A]).json()
    assert page["metadata"]["totalCount"] == 1
    (entry,) = page["results"]
    assert (entry["user"], entry["spaceIdentifier"], entry["action"]) == (
        A, "team-a", "space_user.create")
    assert entry["ipAddress"] == "testclient"
    item = client.get(f"/api/v1/audit_trail/current_space/item/{entry['identifier']}",
                      params={"space": "team-a"}, headers=team[A]).json()
    assert item == entry
    everything = client.get("/api/v1/audit_trail", auth=ADMIN).json()
    actions = {e["action"] for e in everything["results"]}
    assert {"space.create", "space.update", "space_user.create", "token.create"} <= actions
    _error(client.get("/api/v1/audit_trail", headers=team[A]), 403)
    bad = _error(client.get("/api/v1/audit_trail",
                            params={"filter": '{"where": {"nope": 1}}'}, auth=ADMIN), 400)
    assert bad["violations"][0]["propertyPath"] == "filter.where.nope"
    r = client.post("/api/v1/audit_trail/export", auth=ADMIN, data={"filter": filt})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["action"] for row in rows] == ["space_user.create"]
    r = client.post("/api/v1/audit_trail/current_space/export",
                    params={"space": "team-a", "format": "ndjson"}, headers=team[A])
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert {e["spaceIdentifier"] for e in lines} == {"team-a"}


# --- the role matrix ----------------------------------------------------------------------------

def _sample_definition(client: TestClient) -> str:
    defs = client.post("/api/v1/source_definitions/list", json={}, auth=ADMIN).json()
    return str(next(d["sourceDefinitionId"] for d in defs["sourceDefinitions"]
                    if d["dockerRepository"] == "sample"))


def _source(client: TestClient, ws: str, owner: dict[str, str] | None = None) -> str:
    """A source made in ``ws`` by ``owner`` (bearer headers), or by the admin."""
    kw: dict[str, Any] = {"headers": owner} if owner else {"auth": ADMIN}
    r = client.post("/api/v1/sources/create", **kw, json={
        "workspaceId": ws, "sourceDefinitionId": _sample_definition(client),
        "connectionConfiguration": {"rows": 5}, "name": "events"})
    return str(r.json()["sourceId"])


OPERATIONS = ["airbyte sources/create", "datasets exports/export", "alumio space users",
              "alumio configurations create", "alumio configurations list",
              "alumio tasks retry", "alumio queue processes",
              "alumio storage entity put", "alumio storage entities list",
              "alumio storage clear", "alumio logs search", "alumio search",
              "alumio statistics totals"]
_CONFIG = {"type": "transformer", "identifier": "mine", "name": "Mine",
           "object": {"prototype": "remove", "parameters": {"keys": ["x"]}}}


def _call(client: TestClient, op: str, space: str, ws: str, headers: dict[str, str],
          owner: dict[str, str] | None) -> Any:
    if op == "airbyte sources/create":
        return client.post("/api/v1/sources/create", headers=headers, json={
            "workspaceId": ws, "sourceDefinitionId": _sample_definition(client),
            "connectionConfiguration": {"rows": 5}, "name": "mine"})
    if op == "datasets exports/export":
        return client.post("/exports/export", headers=headers, json={
            "project_id": ws, "source_id": _source(client, ws, owner), "stream": "events"})
    if op == "alumio configurations create":
        return client.post("/api/v1/di/configurations", headers=headers,
                           params={"space": space}, json=_CONFIG)
    if op == "alumio configurations list":
        return client.get("/api/v1/di/configurations", headers=headers,
                          params={"space": space})
    if op == "alumio tasks retry":
        return client.post("/api/v1/tasks/retry", headers=headers, params={"space": space},
                           json={"filter": "{}"})
    if op == "alumio queue processes":
        return client.get("/api/v1/queue/processes", headers=headers, params={"space": space})
    if op.startswith("alumio storage"):
        client.post("/api/v1/di/configurations", params={"space": space},
                    **({"headers": owner} if owner else {"auth": ADMIN}),
                    json={"type": "storage", "identifier": "seen", "name": "Seen",
                          "object": {"prototype": "storage", "parameters": {}}})
        url = f"/api/v1/storages/seen{{}}?space={space}"
        if op == "alumio storage entity put":
            return client.put(url.format("/entity") + "&entity=k", headers=headers, json=1)
        if op == "alumio storage clear":
            return client.post(url.format("/clear"), headers=headers)
        return client.get(url.format("/entities"), headers=headers)
    if op == "alumio logs search":
        return client.post("/api/v1/elasticsearch/search/result", headers=headers,
                           params={"space": space}, json={"prototype": "query",
                                                          "parameters": {"query": "x"}})
    if op == "alumio search":
        return client.get("/api/v1/search", headers=headers, params={"space": space})
    if op == "alumio statistics totals":
        return client.get("/api/v1/statistics/tasks/totals", headers=headers,
                          params={"space": space})
    return client.post(f"/api/v1/spaces/{space}/users", headers=headers,
                       json={"email": "new@team.example", "roles": ["ROLE_USER"]})


ALLOWED = {"airbyte sources/create": {V: 403, E: 200, A: 200},
           "datasets exports/export": {V: 403, E: 202, A: 202},
           "alumio space users": {V: 403, E: 403, A: 200},
           "alumio configurations create": {V: 403, E: 200, A: 200},
           "alumio configurations list": {V: 200, E: 200, A: 200},
           "alumio tasks retry": {V: 403, E: 200, A: 200},
           "alumio queue processes": {V: 200, E: 200, A: 200},
           "alumio storage entity put": {V: 403, E: 200, A: 200},
           "alumio storage entities list": {V: 200, E: 200, A: 200},
           "alumio storage clear": {V: 403, E: 200, A: 200},
           "alumio logs search": {V: 200, E: 200, A: 200},
           "alumio search": {V: 200, E: 200, A: 200},
           "alumio statistics totals": {V: 200, E: 200, A: 200}}


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("who", [V, E, A])
@pytest.mark.parametrize("where", ["own", "foreign"])
def test_role_matrix(client: TestClient, team: dict[str, dict[str, str]], op: str, who: str,
                     where: str) -> None:
    space = "team-a" if where == "own" else "default"
    ws = _ws(client, space)
    r = _call(client, op, space, ws, team[who], team[A] if where == "own" else None)
    expected = ALLOWED[op][who] if where == "own" else 404
    assert r.status_code == expected, r.text
    if expected == 403 and op.startswith("alumio"):
        _error(r, 403)


def test_nothing_of_a_foreign_space_leaks_in_lists(client: TestClient,
                                                   team: dict[str, dict[str, str]]) -> None:
    default = _ws(client, "default")
    _source(client, default)
    client.post("/api/v1/tokens", json={"name": "admins"}, auth=ADMIN)
    for who in (V, E, A):
        listed = client.get("/api/v1/spaces", headers=team[who]).json()
        assert [s["identifier"] for s in listed["results"]] == ["team-a"]
        tokens_seen = client.get("/api/v1/tokens", headers=team[who]).json()["results"]
        assert {t["createdBy"] for t in tokens_seen} == {who}
        r = client.post("/api/v1/sources/list", json={"workspaceId": default},
                        headers=team[who])
        assert r.status_code == 404
        _error(client.get("/api/v1/spaces/default/users", headers=team[who]), 404)
    trail = client.get("/api/v1/audit_trail/current_space", headers=team[A]).json()
    assert {e["spaceIdentifier"] for e in trail["results"]} == {"team-a"}

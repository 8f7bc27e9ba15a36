"""Environment variables on the platform API (#77-82 and delete), and ``${NAME}`` in an
Airbyte source made on the other face."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import A, Api, E, V, definition_id
from tests.api.test_alumio_face import _error

URL = "/api/v1/environment/variables"



def test_variables_round_trip_and_an_encrypted_value_is_never_returned(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    r = client.post(URL, headers=team[E], json={"name": "DB_HOST", "value": "db.example.com",
                                                "description": "the shop database"})
    assert r.status_code == 200, r.text
    assert r.json()["object"]["value"] == "db.example.com"
    _error(client.post(URL, headers=team[E], json={
        "name": "PW", "value": "x", "encrypted": True}), 403)
    r = client.post(URL, headers=team[A], json={
        "name": "PW", "value": "pw-secret-1", "encrypted": True,
        "allowedTargets": ["db.example.com"]})
    assert r.json()["object"]["value"] is None
    for who in (A, E, V):
        listed = client.get(URL, headers=team[who]).json()
        assert listed["metadata"] == {"totalCount": 2}
        assert "pw-secret-1" not in str(listed)
        values = {v["name"]: v["value"] for v in listed["results"]}
        assert values["DB_HOST"] == (None if who == V else "db.example.com")
    got = client.get(f"{URL}/PW", headers=team[A]).json()["object"]
    assert (got["encrypted"], got["value"], got["allowedTargets"]) == (
        True, None, ["db.example.com"])
    only = client.get(URL, headers=team[A], params={
        "filter": '{"where": {"encrypted": true}}'}).json()
    assert [v["name"] for v in only["results"]] == ["PW"]
    r = client.put(f"{URL}/DB_HOST", headers=team[E], json={"value": "db2.example.com"})
    assert r.json()["object"]["value"] == "db2.example.com"
    assert client.delete(f"{URL}/DB_HOST", headers=team[E]).json() == {
        "message": "Environment variable DB_HOST deleted"}
    _error(client.get(f"{URL}/DB_HOST", headers=team[E]), 404)
    trail = client.get("/api/v1/audit_trail/current_space", headers=team[A]).json()
    assert "pw-secret-1" not in str(trail)
    assert {"variable.create", "variable.update", "variable.delete"} <= {
        e["action"] for e in trail["results"]}


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "has space", "value": "x"}, "name"),
    ({"name": "OK", "value": "x", "description": "d" * 151}, "description"),
    ({"name": "OK"}, "value"),
    ({"name": "OK", "value": "x", "allowedTargets": ["h"]}, "allowedTargets"),
    ({"name": "OK", "value": "x", "colour": "red"}, "colour"),
])
def test_a_bad_variable_is_refused_with_a_violation_naming_the_field(
        client: TestClient, team: dict[str, dict[str, str]], body: dict[str, Any],
        field: str) -> None:
    body_ = _error(client.post(URL, headers=team[E], json=body), 400)
    assert any(field in v["propertyPath"] for v in body_["violations"]), body_


def test_a_name_that_cannot_be_referenced_is_kept_with_a_warning(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    r = client.post(URL, headers=team[E], json={"name": "lower-case", "value": "x"})
    assert "warning" in r.json()["object"]


def test_an_airbyte_source_refers_to_variables_and_usages_and_candidates_find_it(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    api = Api(client, None, auth=None)
    client.headers.update(team[E])
    ws = client.post("/api/v1/workspaces/get_by_slug", json={"slug": "team-a"}).json()
    pg = definition_id(api, "source", "postgres")
    config = {"host": "db.example.com", "port": "${DB_PORT}", "database": "shop",
              "username": "reader", "password": "a-literal-secret"}
    made = api("/sources/create", {"workspaceId": ws["workspaceId"], "name": "shop",
                                   "sourceDefinitionId": pg,
                                   "connectionConfiguration": config})
    assert made["connectionConfiguration"]["port"] == "${DB_PORT}"
    client.post(URL, json={"name": "DB_PORT", "value": "port"})
    bad = api("/sources/update", {"sourceId": made["sourceId"], "name": "shop",
                                  "connectionConfiguration": config}, status=422)
    assert "connectionConfiguration.port" in str(bad)
    used = client.get(f"{URL}/DB_PORT/usages").json()
    assert used["results"] == [{"type": "source", "identifier": made["sourceId"],
                                "name": "shop", "propertyPaths": ["port"]}]
    found = client.get("/api/v1/environment/candidates").json()
    assert "a-literal-secret" not in str(found)
    assert {"type": "source", "metadata": {"identifier": made["sourceId"], "name": "shop"},
            "payload": {"propertyPath": "password"}} in [
        m for c in found["results"] for m in c["matches"]]

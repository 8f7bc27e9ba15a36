"""Logs (#73-76) over the job logs, search (#83) and task statistics (#110, #111, #127-129)
on the platform API: shapes, filters, bad input, and nothing of another space."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.jobs import ledger
from sluiceway.store.models import Configuration
from tests.api.conftest import ADMIN, A, E, V
from tests.api.test_alumio_face import _error, _platform, _ws

LOGS = "/api/v1/elasticsearch/search"



def _job_with_logs(client: TestClient, space: str, scope: str,
                   lines: list[tuple[str, str]], kind: str = "sync") -> int:
    """A job of ``space`` whose attempt wrote ``lines`` (as the job runner does)."""
    db = _platform(client).db
    job = ledger.enqueue_in(db, workspace_id=_ws(client, space), config_type=kind,
                            scope=scope, max_attempts=1)
    attempt = ledger.claim(db, "tests", None, 30, job_id=job.id)
    assert attempt is not None
    ledger.append_logs(db, attempt.id, lines)
    return job.id


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def test_logs_are_searched_counted_and_exported_within_the_space(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    job = _job_with_logs(client, "team-a", "orders", [
        ("INFO", "read 10 records from orders"), ("ERROR", "Connection refused by crm"),
        ("INFO", "wrote 10 records")])
    _job_with_logs(client, "default", "other", [("ERROR", "Connection refused elsewhere")])
    body = {"prototype": "query", "parameters": {"query": "records", "size": 10}}
    found = _ok(client.post(f"{LOGS}/result", params={"index": "filebeat-*"}, json=body,
                            headers=team[V]))
    assert found["hits"]["total"] == 2
    sources = [h["_source"] for h in found["hits"]["hits"]]
    assert {s["@message"] for s in sources} == {"read 10 records from orders",
                                                "wrote 10 records"}
    assert sources[0]["@fields"]["scope"] == {"job": job, "attempt": 1, "kind": "sync",
                                              "space": "team-a"}
    errors = {"prototype": "query", "parameters": {"query": "level:error refused"}}
    hit = _ok(client.post(f"{LOGS}/result", json=errors, headers=team[V]))["hits"]
    assert [h["_source"]["@message"] for h in hit["hits"]] == ["Connection refused by crm"]
    assert _ok(client.post(f"{LOGS}/count", json=errors, headers=team[V])) == {"count": 1}
    everything = _ok(client.post(f"{LOGS}/count", json={}, headers=team[V]))
    assert everything == {"count": 3}
    later = {"prototype": "query", "parameters": {"from": "2999-01-01T00:00:00Z"}}
    assert _ok(client.post(f"{LOGS}/count", json=later, headers=team[V])) == {"count": 0}
    one = hit["hits"][0]["_id"]
    r = client.get(f"/api/v1/elasticsearch/export/filebeat-*/{one}", headers=team[V])
    assert r.status_code == 200, r.text
    assert json.loads(r.text)["_source"]["@message"] == "Connection refused by crm"
    everywhere = _ok(client.post(f"{LOGS}/result", json=errors, auth=ADMIN,
                                 params={"space": "default"}))
    foreign = everywhere["hits"]["hits"][0]["_id"]
    _error(client.get(f"/api/v1/elasticsearch/export/filebeat-*/{foreign}",
                      headers=team[A]), 404)


@pytest.mark.parametrize(("body", "path"), [
    ({"prototype": "sql"}, "prototype"),
    ({"parameters": {"query": "x", "where": 1}}, "parameters.where"),
    ({"parameters": {"size": 0}}, "parameters.size"),
    ({"parameters": {"from": "yesterday"}}, "parameters.from"),
    ({"parameters": {"query": "colour:red"}}, "parameters.query"),
])
def test_a_bad_log_search_is_400_naming_the_field(
        client: TestClient, team: dict[str, dict[str, str]], body: dict[str, Any],
        path: str) -> None:
    err = _error(client.post(f"{LOGS}/result", json=body, headers=team[V]), 400)
    assert err["violations"][0]["propertyPath"] == path


def test_the_index_template_is_a_system_administrators_and_there_is_none(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _error(client.post("/api/v1/elasticsearch/templates", headers=team[A]), 403)
    assert _ok(client.post("/api/v1/elasticsearch/templates", params={"dry-run": "true"},
                           auth=ADMIN)) == {"templates": []}


def _configure(client: TestClient, headers: dict[str, str], type_: str, identifier: str,
               name: str, obj: dict[str, Any]) -> None:
    r = client.post("/api/v1/di/configurations", headers=headers, json={
        "type": type_, "identifier": identifier, "name": name, "object": obj})
    assert r.status_code == 200, r.text


def test_search_finds_configurations_and_variables_by_text_and_terms(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _configure(client, team[E], "storage", "orders-seen", "Orders seen",
               {"prototype": "storage", "parameters": {}})
    _configure(client, team[E], "transformer", "rename-orders", "Rename",
               {"prototype": "rename", "parameters": {"mapping": {"a": "b"}}})
    _configure(client, team[E], "transformer", "mask-mail", "Mask mail",
               {"prototype": "mask", "parameters": {"keys": ["mail"]}})
    r = client.post("/api/v1/environment/variables", headers=team[E],
                    json={"name": "ORDERS_URL", "value": "https://shop.example"})
    assert r.status_code == 200, r.text
    found = _ok(client.get("/api/v1/search", params={"query": "ORDERS"}, headers=team[V]))
    assert set(found) == {"configurations", "tasks", "variables"}
    assert [c["identifier"] for c in found["configurations"]["results"]] == [
        "orders-seen", "rename-orders"]
    assert found["configurations"]["metadata"] == {"totalCount": 2}
    assert [v["name"] for v in found["variables"]["results"]] == ["ORDERS_URL"]
    assert found["variables"]["results"][0]["value"] is None  # a viewer sees no values
    assert found["tasks"] == {"metadata": {"totalCount": 0}, "results": []}
    typed = _ok(client.get("/api/v1/search", params={"query": "orders type:transformer"},
                           headers=team[V]))
    assert [c["identifier"] for c in typed["configurations"]["results"]] == ["rename-orders"]
    assert typed["variables"]["results"] == []  # variables have no type
    paged = _ok(client.get("/api/v1/search", headers=team[V], params={
        "filter": json.dumps({"limit": 1, "order": "identifier desc"})}))
    assert [c["identifier"] for c in paged["configurations"]["results"]] == ["rename-orders"]
    assert paged["configurations"]["metadata"] == {"totalCount": 3}
    err = _error(client.get("/api/v1/search", params={"query": "colour:red"},
                            headers=team[V]), 400)
    assert err["violations"][0]["propertyPath"] == "query"
    _error(client.get("/api/v1/search", params={"filter": '{"where": {"nope": 1}}'},
                      headers=team[V]), 400)
    other = _ok(client.get("/api/v1/search", params={"query": "orders", "space": "default"},
                           auth=ADMIN))
    assert other["configurations"]["results"] == []


def test_task_statistics_answer_their_shapes_and_check_their_input(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _configure(client, team[E], "route-configuration", "orders", "Orders",
               {"prototype": "route", "parameters": {"incoming": "in", "outgoing": "out"}})
    with _platform(client).db.session() as s:  # a route's runs: jobs scoped to its id
        config_id = s.scalars(select(Configuration.id).where(
            Configuration.identifier == "orders")).one()
    _job_with_logs(client, "team-a", config_id, [("ERROR", "boom"), ("INFO", "fine")],
                   kind="route")
    window = {"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z",
              "routeIdentifiers": ["orders"]}
    r = _ok(client.post("/api/v1/statistics/routes", json=window, headers=team[V]))
    assert r == {"metadata": {"totalCount": 1}, "results": [{
        "identifier": "orders", "taskStats": {"new": 0, "finished": 0, "failed": 0},
        "logStats": {"errors": 1, "memory": "17 B"}}]}
    _error(client.post("/api/v1/statistics/routes", headers=team[V],
                       json={**window, "routeIdentifiers": ["nope"]}), 404)
    _error(client.post("/api/v1/statistics/routes", headers=team[V],
                       json={**window, "routeIdentifiers": []}), 400)
    bad = _error(client.post("/api/v1/statistics/routes", headers=team[V],
                             json={**window, "to": "1999-01-01T00:00:00Z"}), 400)
    assert bad["violations"][0]["propertyPath"] == "to"
    per_route = _ok(client.get("/api/v1/statistics/routes", headers=team[V]))
    assert per_route["results"] == [{"identifier": "orders", "name": "Orders", "stats": {
        "new": 0, "processing": 0, "skipped": 0, "finished": 0, "failed": 0}}]
    assert _ok(client.get("/api/v1/statistics/tasks/daily", headers=team[V])) == {
        "metadata": {"totalCount": 0}, "results": []}
    totals = _ok(client.get("/api/v1/statistics/tasks/totals", headers=team[V],
                            params={"dateFrom": "2026-01-01", "dateTo": "2026-12-31"}))
    assert totals == {"results": {"new": 0, "processing": 0, "finished": 0, "failed": 0,
                                  "skipped": 0}}
    _error(client.get("/api/v1/statistics/tasks/totals", headers=team[V],
                      params={"dateFrom": "2026-12-31", "dateTo": "2026-01-01"}), 400)
    _error(client.get("/api/v1/statistics/tasks/series", headers=team[A],
                      params={"filter": "{}"}), 403)
    _error(client.get("/api/v1/statistics/tasks/series", auth=ADMIN), 400)
    _error(client.get("/api/v1/statistics/tasks/series", auth=ADMIN,
                      params={"filter": "{}", "aggregation": "hourly"}), 400)
    assert _ok(client.get("/api/v1/statistics/tasks/series", auth=ADMIN, params={
        "filter": "{}", "aggregation": "weekly"})) == {"results": []}

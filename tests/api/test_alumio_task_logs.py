"""Task data in the logs (#73-75), search (#83) and statistics (#110): a route run's task log
lines are found with the job lines (and exported by their id), the search's ``tasks`` group
finds the space's tasks by route, entity identifier, number and status, never another
space's, and ``logStats.memory`` is the bytes of the route's log and task data."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN
from tests.api.test_alumio_face import _error
from tests.api.test_alumio_routes import E, V, _ok, _publish, route, team
from tests.api.test_datasets import run_jobs

__all__ = ["route", "team"]
LOGS = "/api/v1/elasticsearch/search"


def _run(client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _ok(_publish(client, team[E]))
    assert run_jobs(client) == 1


def test_task_log_lines_are_searched_with_the_job_lines_and_exported(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    _run(client, team)
    body = {"prototype": "query", "parameters": {"query": "kind:task", "size": 100}}
    found = _ok(client.post(f"{LOGS}/result", params={"space": "team-a"}, json=body,
                            headers=team[V]))["hits"]
    scopes = [h["_source"]["@fields"]["scope"] for h in found["hits"]]
    # order 2 failed (its JSONata), order 3 was skipped by the filter: one line each
    assert found["total"] == 2
    assert {s["kind"] for s in scopes} == {"task"}
    assert {s["route"] for s in scopes} == {"orders"}
    levels = {h["_source"]["@fields"]["level"]: h["_source"]["@message"]
              for h in found["hits"]}
    assert set(levels) == {"error", "info"}
    assert "filtered out" in levels["info"]
    # job and task lines together, newest first
    every = _ok(client.post(f"{LOGS}/result", params={"space": "team-a"}, headers=team[V],
                            json={"parameters": {"size": 1000}}))["hits"]
    kinds = {h["_source"]["@fields"]["scope"]["kind"] for h in every["hits"]}
    assert kinds == {"route", "task"}
    stamps = [h["_source"]["@timestamp"] for h in every["hits"]]
    assert stamps == sorted(stamps, reverse=True)
    count = _ok(client.post(f"{LOGS}/count", params={"space": "team-a"}, headers=team[V],
                            json={"parameters": {"query": "level:error"}}))["count"]
    assert count >= 1
    errors = _ok(client.post(f"{LOGS}/result", params={"space": "team-a"}, headers=team[V],
                             json={"parameters": {"query": "kind:task level:error"}}))
    [line] = errors["hits"]["hits"]
    r = client.get(f"/api/v1/elasticsearch/export/filebeat-*/{line['_id']}",
                   params={"space": "team-a"}, headers=team[V])
    assert r.status_code == 200, r.text
    assert json.loads(r.text)["_source"]["@message"] == line["_source"]["@message"]
    # another space finds none of them
    _error(client.get(f"/api/v1/elasticsearch/export/filebeat-*/{line['_id']}",
                      params={"space": "default"}, auth=ADMIN), 404)
    assert _ok(client.post(f"{LOGS}/count", params={"space": "default"}, auth=ADMIN,
                           json={"parameters": {"query": "kind:task"}})) == {"count": 0}


def test_search_finds_tasks_of_the_space_only(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    _run(client, team)

    def tasks(query: str, space: str = "team-a", **auth: object) -> list[tuple[str, str]]:
        got = _ok(client.get("/api/v1/search", params={"query": query, "space": space},
                             **(auth or {"headers": team[V]})))  # type: ignore[arg-type]
        assert got["tasks"]["metadata"]["totalCount"] == len(got["tasks"]["results"])
        return sorted((t["entityIdentifier"], t["status"]) for t in got["tasks"]["results"])

    assert tasks("orders") == [("1", "finished"), ("2", "failed"), ("3", "skipped"),
                               ("4", "finished")]
    assert tasks("entityIdentifier:2") == [("2", "failed")]
    assert tasks("status:failed") == [("2", "failed")]
    assert tasks("route:orders status:skipped") == [("3", "skipped")]
    assert tasks("type:transformer") == []  # a configuration's term finds no task
    assert tasks("identifier:orders") == []
    assert tasks("nowhere") == []
    assert tasks("orders", "default", auth=ADMIN) == []


def test_log_stats_memory_is_the_size_of_the_routes_log_and_task_data(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    window = {"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z",
              "routeIdentifiers": ["orders"]}

    def memory() -> tuple[float, str]:
        [row] = _ok(client.post("/api/v1/statistics/routes", params={"space": "team-a"},
                                headers=team[V], json=window))["results"]
        number, unit = row["logStats"]["memory"].split()
        return float(number) * {"B": 1, "kB": 1000, "MB": 1e6}[unit], unit

    assert memory() == (0, "B")
    _run(client, team)
    first, _ = memory()
    # four tasks' entities (about 30 bytes each) and the run's log lines
    assert 300 < first < 20_000
    _run(client, team)
    assert memory()[0] > first
    empty = {**window, "to": "2000-01-02T00:00:00Z"}
    [row] = _ok(client.post("/api/v1/statistics/routes", params={"space": "team-a"},
                            headers=team[V], json=empty))["results"]
    assert row["logStats"] == {"errors": 0, "memory": "0 B"}

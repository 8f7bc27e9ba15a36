"""Stop and kill on the queue (#105-108) name what they did: a stopped process shows
``stopped``, a killed one ``killed``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_alumio_routes import E, V, _ok, _publish, route, team
from tests.api.test_datasets import run_jobs

__all__ = ["route", "team"]


def test_a_stopped_process_shows_stopped_and_a_killed_one_killed(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    shown = {}
    for how in ("stop", "kill"):
        process = _ok(_publish(client, team[E]))["processId"]
        _ok(client.post(f"/api/v1/queue/processes/{process}/{how}",
                        params={"space": "team-a"}, headers=team[E]))
        shown[how] = _ok(client.get(f"/api/v1/queue/processes/{process}",
                                    params={"space": "team-a"}, headers=team[V]))["object"]
    assert shown["stop"]["status"] == "stopped"
    assert shown["kill"]["status"] == "killed"
    listed = _ok(client.get("/api/v1/queue/processes", params={"space": "team-a"},
                            headers=team[V]))["results"]
    assert sorted(p["status"] for p in listed) == ["killed", "stopped"]


def test_a_sync_started_on_the_airbyte_face_is_a_process_here_and_a_kill_here_ends_it(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    def call(path: str, body: dict[str, Any]) -> Any:
        r = client.post(path, json=body, headers=team[E])
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    ws = call("/api/v1/workspaces/get_by_slug", {"slug": "team-a"})["workspaceId"]

    def definition(kind: str, repository: str) -> str:
        listed = call(f"/api/v1/{kind}_definitions/list", {})[f"{kind}Definitions"]
        return str(next(d[f"{kind}DefinitionId"] for d in listed
                        if d["dockerRepository"] == repository))

    source = call("/api/v1/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": definition("source", "sample"),
        "connectionConfiguration": {"rows": 5}, "name": "events"})["sourceId"]
    destination = call("/api/v1/destinations/create", {
        "workspaceId": ws, "destinationDefinitionId": definition("destination", "duckdb"),
        "connectionConfiguration": {"path": "queue-stop.duckdb"},
        "name": "warehouse"})["destinationId"]
    connection = call("/api/v1/connections/create", {
        "sourceId": source, "destinationId": destination, "name": "sync",
        "syncMode": "full_refresh", "status": "active"})["connectionId"]
    job = call("/api/v1/connections/sync", {"connectionId": connection})["job"]
    listed = _ok(client.get("/api/v1/queue/processes", params={"space": "team-a"},
                            headers=team[V]))["results"]
    [process] = [p for p in listed if str(p["jobId"]) == str(job["id"])]
    assert process["status"] == "scheduled"
    _ok(client.post(f"/api/v1/queue/processes/{process['identifier']}/kill",
                    params={"space": "team-a"}, headers=team[E]))
    assert run_jobs(client) == 0  # the killed sync is never taken by a worker
    assert call("/api/v1/jobs/get", {"id": job["id"]})["job"]["status"] == "cancelled"
    shown = _ok(client.get(f"/api/v1/queue/processes/{process['identifier']}",
                           params={"space": "team-a"}, headers=team[V]))["object"]
    assert shown["status"] == "killed"

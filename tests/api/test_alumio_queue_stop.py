"""Stop and kill on the queue (#105-108) name what they did: a stopped process shows
``stopped``, a killed one ``killed``."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.test_alumio_routes import E, V, _ok, _publish, route, team

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

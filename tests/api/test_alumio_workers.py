"""Workers per space (#15-18): the pool's real size, allocations kept per space (the whole
pool by default), slots pinned, for system administrators only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from sluiceway.services import auth, space_users, tokens
from sluiceway.services.platform import Platform
from tests.api.conftest import ADMIN


def _space(client: TestClient, ident: str, engines: list[dict[str, Any]]) -> Any:
    return client.post("/api/v1/spaces", auth=ADMIN, json={
        "object": {"identifier": ident, "name": ident, "purpose": "dev"}, "users": [],
        "dataEngines": engines})


def test_a_new_space_may_use_the_whole_pool_until_allocated(client: TestClient) -> None:
    pool = client.app.state.platform.settings.workers  # type: ignore[attr-defined]
    assert _space(client, "team-a", []).status_code == 200
    got = client.get("/api/v1/space_workers/allocation", auth=ADMIN).json()
    assert (got["workers"], got["workersPerSpace"]) == (pool, pool)
    assert {"spaceIdentifier": "team-a", "workers": pool} in got["spaceWorkers"]
    r = client.post("/api/v1/space_workers/allocation", auth=ADMIN,
                    json={"spaceWorkers": [{"spaceIdentifier": "team-a", "workers": 1}]})
    assert r.status_code == 201
    assert {"spaceIdentifier": "team-a", "workers": 1} in r.json()["spaceWorkers"]
    assert {"spaceIdentifier": "default", "workers": pool} in r.json()["spaceWorkers"]
    slots = client.get("/api/v1/space_workers", auth=ADMIN).json()
    assert {"spaceIdentifier": "team-a", "workerIdentifiers": [1]} in slots["spaceWorkers"]
    trail = client.get("/api/v1/audit_trail", auth=ADMIN,
                       params={"filter": '{"where": {"action": "space.workers"}}'}).json()
    assert trail["metadata"]["totalCount"] == 1


def test_space_creation_takes_its_data_engines(client: TestClient) -> None:
    assert _space(client, "team-b", [{"workers": 1}]).status_code == 200
    got = client.get("/api/v1/space_workers/allocation", auth=ADMIN).json()
    assert {"spaceIdentifier": "team-b", "workers": 1} in got["spaceWorkers"]
    r = _space(client, "team-c", [{"workers": 999}])
    assert r.status_code == 400
    assert r.json()["violations"][0]["propertyPath"] == "dataEngines.0.workers"
    assert client.get("/api/v1/spaces/team-c", auth=ADMIN).status_code == 404


def test_pinned_slots_are_the_pools_and_set_the_allocation(client: TestClient) -> None:
    pool = client.app.state.platform.settings.workers  # type: ignore[attr-defined]
    r = client.post("/api/v1/space_workers", auth=ADMIN, json={"spaceWorkers": [
        {"spaceIdentifier": "default", "workerIdentifiers": [pool]}]})
    assert {"spaceIdentifier": "default", "workerIdentifiers": [pool]} in r.json()[
        "spaceWorkers"]
    got = client.get("/api/v1/space_workers/allocation", auth=ADMIN).json()
    assert {"spaceIdentifier": "default", "workers": 1} in got["spaceWorkers"]
    for body, field in (
            ({"spaceIdentifier": "default", "workerIdentifiers": [pool + 1]},
             "spaceWorkers.0.workerIdentifiers"),
            ({"spaceIdentifier": "default", "workerIdentifiers": [1, 1]},
             "spaceWorkers.0.workerIdentifiers")):
        r = client.post("/api/v1/space_workers", auth=ADMIN, json={"spaceWorkers": [body]})
        assert r.status_code == 400
        assert r.json()["violations"][0]["propertyPath"] == field
    r = client.post("/api/v1/space_workers", auth=ADMIN, json={"spaceWorkers": [
        {"spaceIdentifier": "nowhere", "workerIdentifiers": [1]}]})
    assert r.status_code == 404


def test_only_system_administrators_see_or_set_allocations(client: TestClient) -> None:
    p: Platform = client.app.state.platform  # type: ignore[attr-defined]
    space_users.add_member(p, auth.caller_for(p, "admin"), "default", "boss@team.example",
                           ["ROLE_ADMINISTRATOR"])
    token, _ = tokens.create(p, auth.caller_for(p, "boss@team.example"), "tests")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/space_workers/allocation", headers=headers).status_code == 403
    r = client.post("/api/v1/space_workers/allocation", headers=headers,
                    json={"spaceWorkers": [{"spaceIdentifier": "default", "workers": 2}]})
    assert r.status_code == 403

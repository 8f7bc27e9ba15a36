"""Platform info (#84-86, #91, #92, #146) and statistics per space (#14): this server's true
values, and honest answers for what only a hosted service has."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from sluiceway import __version__
from sluiceway.services import auth, space_users, tokens
from sluiceway.services.platform import Platform
from tests.api.conftest import ADMIN


def _platform(client: TestClient) -> Platform:
    p: Platform = client.app.state.platform  # type: ignore[attr-defined]
    return p


def _viewer(client: TestClient) -> dict[str, str]:
    p = _platform(client)
    admin = auth.caller_for(p, "admin")
    space_users.add_member(p, admin, "default", "viewer@team.example", ["ROLE_USER"])
    token, _ = tokens.create(p, auth.caller_for(p, "viewer@team.example"), "tests")
    return {"Authorization": f"Bearer {token}"}


def test_server_and_subscription_name_this_server(client: TestClient) -> None:
    server = client.get("/api/v1/application/server", auth=ADMIN).json()
    assert server == {"ipAddress": "127.0.0.1",
                      "oauth2RedirectUrl": "http://testserver/api/v1/oauth/callback",
                      "apiUrl": "http://testserver/api/v1"}
    sub = client.get("/api/v1/application/subscription", auth=ADMIN).json()
    assert (sub["edition"], sub["version"], sub["queueEnabled"]) == (
        "self-hosted", __version__, True)
    assert sub["openApiSchema"] == "http://testserver/openapi.json"
    assert client.get(sub["openApiSchema"]).status_code == 200
    assert sub["subscriptionId"] is None
    assert sub["oauth1CallbackUrl"] == "http://testserver/api/v1/oauth1/callback"
    assert sub["webHookUrl"] == "http://testserver/api/v1/webhook"
    assert sub["environments"] == []
    envs = client.get("/api/v1/environments", headers=_viewer(client)).json()
    assert envs["metadata"] == {"totalCount": 1}
    assert envs["results"][0]["environment"]["code"] == "self-hosted"


def test_environment_reports_the_settings_and_real_sizes(client: TestClient) -> None:
    p = _platform(client)
    (p.settings.data_dir / "files").mkdir(parents=True, exist_ok=True)
    (p.settings.data_dir / "files" / "blob.bin").write_bytes(b"x" * 123_456)
    body = client.get("/api/v1/application/environment", auth=ADMIN).json()
    engines, usage = body["dataEngines"], body["usage"]
    assert engines["numberOfWorkers"] == p.settings.workers
    assert engines["memoryLimitMegaBytes"] > 0
    on_disk = sum(f.stat().st_size for f in Path(p.settings.data_dir).rglob("*")
                  if f.is_file() and os.access(f, os.R_OK))
    assert 123_456 <= usage["filesystemSizeBytes"] <= on_disk + 10**6
    assert usage["databaseSizeBytes"] > 0


def test_update_cycle_is_not_pretended_and_bad_values_are_named(client: TestClient) -> None:
    r = client.put("/api/v1/application/update_cycle", auth=ADMIN,
                   json={"updateCycle": "nightly"})
    assert r.status_code == 400
    assert r.json()["violations"][0]["propertyPath"].endswith("updateCycle")
    r = client.put("/api/v1/application/update_cycle", auth=ADMIN, json={"updateCycle": "lts"})
    assert r.status_code == 501
    assert "self-hosted" in r.json()["detail"]
    r = client.put("/api/v1/application/update_cycle", headers=_viewer(client),
                   json={"updateCycle": "lts"})
    assert r.status_code == 403


def test_maintenance_windows_are_an_empty_list_with_a_checked_filter(
        client: TestClient) -> None:
    r = client.get("/api/v1/maintenance_windows", auth=ADMIN)
    assert r.json() == {"metadata": {"totalCount": 0}, "results": []}
    r = client.get("/api/v1/maintenance_windows", auth=ADMIN,
                   params={"filter": '{"where": {"colour": "red"}}'})
    assert r.status_code == 400
    assert "colour" in r.json()["violations"][0]["propertyPath"]


def test_statistics_per_space_for_system_administrators(client: TestClient) -> None:
    client.put("/api/v1/spaces", auth=ADMIN, json={"identifier": "team-b", "name": "B",
                                                   "purpose": "test"})
    r = client.get("/api/v1/statistics/spaces", auth=ADMIN,
                   params={"dateFrom": "2026-01-01", "dateTo": "2026-12-31"})
    rows: list[dict[str, Any]] = r.json()["results"]
    assert [row["spaceIdentifier"] for row in rows] == ["default", "team-b"]
    assert rows[1] == {"spaceIdentifier": "team-b", "spaceName": "B", "new": 0,
                       "processing": 0, "finished": 0, "failed": 0, "skipped": 0}
    assert client.get("/api/v1/statistics/spaces", headers=_viewer(client)).status_code == 403
    for params, field in (({"dateFrom": "yesterday"}, "dateFrom"),
                          ({"dateFrom": "2026-02-01", "dateTo": "2026-01-01"}, "dateTo")):
        r = client.get("/api/v1/statistics/spaces", auth=ADMIN, params=params)
        assert r.status_code == 400
        assert r.json()["violations"][0]["propertyPath"] == field

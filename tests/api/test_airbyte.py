"""The Airbyte Configuration API v1 face: every endpoint, every response checked against the
reference spec, on SQLite and on PostgreSQL metadata."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sluiceway.core.settings import Settings
from tests.api.conftest import Api, definition_id
from tests.api.openapi_contract import Contract

ZERO = "00000000-0000-0000-0000-000000000000"


def _sample_source(api: Api, ws: str, rows: int = 50) -> dict[str, Any]:
    return api("/sources/create", {  # type: ignore[no-any-return]
        "workspaceId": ws, "sourceDefinitionId": definition_id(api, "source", "sample"),
        "connectionConfiguration": {"rows": rows}, "name": "events"})


def _duckdb_destination(api: Api, ws: str, name: str = "lake.duckdb") -> dict[str, Any]:
    return api("/destinations/create", {  # type: ignore[no-any-return]
        "workspaceId": ws,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": name}, "name": "lake"})


def test_health_answers_without_credentials(api: Api) -> None:
    assert api("/health", method="GET", auth=None) == {"db": True, "available": True}


def test_every_other_endpoint_needs_credentials(api: Api, workspace_id: str) -> None:
    api("/workspaces/get", {"workspaceId": workspace_id}, 401, auth=None)
    api("/workspaces/get", {"workspaceId": workspace_id}, 401, auth=("admin", "wrong"))
    api("/debug", method="GET", status=401, auth=None)
    r = api.client.post("/api/v1/sources/list", json={"workspaceId": workspace_id},
                        headers={"Authorization": "Bearer swt_not-a-token"})
    assert r.status_code == 401
    assert "Basic" in r.headers["www-authenticate"]


def test_the_default_workspace_exists_and_updates(api: Api, workspace_id: str) -> None:
    ws = api("/workspaces/get", {"workspaceId": workspace_id})
    assert ws["slug"] == "default"
    assert ws["initialSetupComplete"] is False
    updated = api("/workspaces/update", {
        "workspaceId": workspace_id, "email": "team@example.com", "initialSetupComplete": True,
        "onboardingComplete": True, "anonymousDataCollection": False, "news": False,
        "securityUpdates": True})
    assert updated["initialSetupComplete"] is True
    assert updated["onboardingComplete"] is True
    api("/workspaces/get", {"workspaceId": ZERO}, 404)
    api("/workspaces/get_by_slug", {"slug": "nope"}, 404)
    bad = api("/workspaces/update", {"workspaceId": workspace_id}, 422)
    assert {e["propertyPath"] for e in bad["validationErrors"]} >= {
        "initialSetupComplete", "onboardingComplete", "news"}


@pytest.mark.parametrize("kind", ["source", "destination"])
def test_every_builtin_connector_is_a_definition_with_its_spec(api: Api, kind: str) -> None:
    from sluiceway import __version__

    listed = api(f"/{kind}_definitions/list")[f"{kind}Definitions"]
    repos = {d["dockerRepository"] for d in listed}
    expected = {"postgres", "mysql", "sqlite", "duckdb", "file"} | (
        {"sample"} if kind == "source" else set())
    assert repos == expected
    assert {d["dockerImageTag"] for d in listed} == {__version__}
    for d in listed:
        one = api(f"/{kind}_definitions/get", {f"{kind}DefinitionId": d[f"{kind}DefinitionId"]})
        assert one == d
        spec = api(f"/{kind}_definition_specifications/get",
                   {f"{kind}DefinitionId": d[f"{kind}DefinitionId"]})
        assert spec["connectionSpecification"]["type"] == "object"
    api(f"/{kind}_definitions/get", {f"{kind}DefinitionId": ZERO}, 404)
    api(f"/{kind}_definition_specifications/get", {f"{kind}DefinitionId": ZERO}, 404)


@pytest.mark.parametrize("kind", ["source", "destination"])
def test_definitions_can_be_created_and_updated(api: Api, kind: str) -> None:
    made = api(f"/{kind}_definitions/create", {
        "name": f"Team {kind} postgres", "dockerRepository": "postgres",
        "dockerImageTag": "1.2.3", "documentationUrl": "https://example.com/pg"})
    key = f"{kind}DefinitionId"
    assert made["dockerImageTag"] == "1.2.3"
    updated = api(f"/{kind}_definitions/update", {key: made[key], "dockerImageTag": "1.2.4"})
    assert updated["dockerImageTag"] == "1.2.4"
    assert api(f"/{kind}_definitions/get", {key: made[key]})["dockerImageTag"] == "1.2.4"
    bad = api(f"/{kind}_definitions/create", {
        "name": "x", "dockerRepository": "airbyte/source-nothing", "dockerImageTag": "1",
        "documentationUrl": "https://example.com"}, 422)
    assert bad["validationErrors"][0]["propertyPath"] == "dockerRepository"
    api(f"/{kind}_definitions/update", {key: ZERO, "dockerImageTag": "1"}, 404)


def test_sources_crud_check_and_discover(api: Api, workspace_id: str) -> None:
    src = _sample_source(api, workspace_id)
    sid = src["sourceId"]
    assert src["sourceName"] == "Sample data generator"
    assert src["name"] == "events"
    assert api("/sources/get", {"sourceId": sid}) == src
    assert api("/sources/list", {"workspaceId": workspace_id})["sources"] == [src]
    renamed = api("/sources/update", {"sourceId": sid, "name": "more events",
                                      "connectionConfiguration": {"rows": 70}})
    assert renamed["connectionConfiguration"]["rows"] == 70
    assert api("/sources/check_connection", {"sourceId": sid})["status"] == "succeeded"
    schema = api("/sources/discover_schema", {"sourceId": sid})["schema"]
    assert [s["name"] for s in schema["streams"]] == ["events"]
    fields = {f["name"]: f["dataType"] for f in schema["streams"][0]["fields"]}
    assert fields["id"] == "number"
    assert fields["event_type"] == "string"
    api("/sources/delete", {"sourceId": sid}, 204)
    api("/sources/get", {"sourceId": sid}, 404)
    assert api("/sources/list", {"workspaceId": workspace_id})["sources"] == []
    api("/sources/delete", {"sourceId": sid}, 404)
    api("/sources/check_connection", {"sourceId": ZERO}, 404)
    api("/sources/discover_schema", {"sourceId": ZERO}, 404)
    api("/sources/list", {"workspaceId": ZERO}, 404)


@pytest.mark.parametrize(("config", "paths"), [
    ({"rows": "many"}, {"connectionConfiguration.rows"}),
    ({"rows": -1, "seed": "x"}, {"connectionConfiguration.rows", "connectionConfiguration.seed"}),
    ({"rows": 5, "colour": "red"}, {"connectionConfiguration"}),
    ("not an object", {"connectionConfiguration"}),
])
def test_a_bad_source_config_names_each_field(api: Api, workspace_id: str, config: Any,
                                              paths: set[str]) -> None:
    bad = api("/sources/create", {
        "workspaceId": workspace_id, "sourceDefinitionId": definition_id(api, "source", "sample"),
        "connectionConfiguration": config, "name": "x"}, 422)
    assert {e["propertyPath"] for e in bad["validationErrors"]} == paths
    assert api("/sources/list", {"workspaceId": workspace_id})["sources"] == []


def test_destinations_crud_and_check(api: Api, workspace_id: str) -> None:
    dst = _duckdb_destination(api, workspace_id)
    did = dst["destinationId"]
    assert dst["connectionConfiguration"]["path"].endswith("lake.duckdb")
    assert api("/destinations/get", {"destinationId": did}) == dst
    assert api("/destinations/list", {"workspaceId": workspace_id})["destinations"] == [dst]
    assert api("/destinations/check_connection", {"destinationId": did})["status"] == \
        "succeeded"
    api("/destinations/update", {"destinationId": did, "name": "lake 2",
                                 "connectionConfiguration": {"path": "lake2.duckdb"}})
    api("/destinations/delete", {"destinationId": did}, 204)
    api("/destinations/get", {"destinationId": did}, 404)
    api("/destinations/check_connection", {"destinationId": did}, 404)


@pytest.mark.parametrize("path", ["/etc/passwd.duckdb", "../../outside.duckdb"])
def test_a_file_path_outside_the_allowed_folders_is_refused(api: Api, workspace_id: str,
                                                            path: str) -> None:
    bad = api("/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": path}}, 422)
    assert bad["validationErrors"][0]["propertyPath"] == "connectionConfiguration.path"


def _connection(api: Api, ws: str, **over: Any) -> dict[str, Any]:
    src = _sample_source(api, ws)
    dst = _duckdb_destination(api, ws)
    body = {"sourceId": src["sourceId"], "destinationId": dst["destinationId"],
            "syncMode": "full_refresh", "status": "active", **over}
    return api("/connections/create", body)  # type: ignore[no-any-return]


def test_connections_crud(api: Api, workspace_id: str) -> None:
    conn = _connection(api, workspace_id, name="events to lake")
    cid = conn["connectionId"]
    assert conn["name"] == "events to lake"
    assert "schedule" not in conn
    stream = conn["syncSchema"]["streams"][0]
    assert stream["name"] == "events"
    assert stream["selected"] is True
    assert api("/connections/get", {"connectionId": cid}) == conn
    assert api("/connections/list", {"workspaceId": workspace_id})["connections"] == [conn]
    stream.update(syncMode="incremental", cursorField=["id"],
                  destinationSyncMode="append_dedup", primaryKey=[["id"]])
    for f in stream["fields"]:
        f["selected"] = f["name"] in ("id", "event_type")
    updated = api("/connections/update", {
        "connectionId": cid, "syncSchema": conn["syncSchema"], "status": "inactive",
        "schedule": {"units": 2, "timeUnit": "hours"}})
    got = updated["syncSchema"]["streams"][0]
    assert got["syncMode"] == "incremental"
    assert got["cursorField"] == ["id"]
    assert {f["name"] for f in got["fields"] if f["selected"]} == {"id", "event_type"}
    assert updated["schedule"] == {"units": 2, "timeUnit": "hours"}
    assert updated["status"] == "inactive"
    api("/connections/delete", {"connectionId": cid}, 204)
    assert api("/connections/get", {"connectionId": cid})["status"] == "deprecated"
    assert api("/connections/list", {"workspaceId": workspace_id})["connections"] == []
    again = api("/connections/update", {"connectionId": cid, "syncSchema": conn["syncSchema"],
                                        "status": "active"}, 422)
    assert again["validationErrors"][0]["propertyPath"] == "status"
    api("/connections/get", {"connectionId": ZERO}, 404)
    api("/connections/delete", {"connectionId": ZERO}, 404)


@pytest.mark.parametrize(("change", "path"), [
    ({"syncMode": "incremental", "cursorField": []}, "syncSchema.streams[0].cursorField"),
    ({"syncMode": "incremental", "cursorField": ["nope"]}, "syncSchema.streams[0].cursorField"),
    ({"destinationSyncMode": "append_dedup", "primaryKey": [["nope"]]},
     "syncSchema.streams[0].primaryKey"),
    ({"name": "no_such_stream"}, "syncSchema.streams[0].name"),
    ({"syncMode": "sometimes"}, "syncSchema.streams.0.syncMode"),
])
def test_a_bad_stream_selection_names_the_field(api: Api, workspace_id: str,
                                                change: dict[str, Any], path: str) -> None:
    conn = _connection(api, workspace_id)
    schema = conn["syncSchema"]
    schema["streams"][0].update(change)
    bad = api("/connections/update", {"connectionId": conn["connectionId"],
                                      "syncSchema": schema, "status": "active"}, 422)
    assert path in {e["propertyPath"] for e in bad["validationErrors"]}, bad
    # nothing changed
    kept = api("/connections/get", {"connectionId": conn["connectionId"]})
    assert kept["syncSchema"]["streams"][0]["syncMode"] == "full_refresh"


@pytest.mark.parametrize(("schedule", "path"), [
    ({"units": 0, "timeUnit": "hours"}, "schedule.units"),
    ({"units": 1, "timeUnit": "fortnights"}, "schedule.timeUnit"),
])
def test_a_bad_schedule_is_refused(api: Api, workspace_id: str, schedule: dict[str, Any],
                                   path: str) -> None:
    src = _sample_source(api, workspace_id)
    dst = _duckdb_destination(api, workspace_id)
    bad = api("/connections/create", {
        "sourceId": src["sourceId"], "destinationId": dst["destinationId"],
        "syncMode": "full_refresh", "status": "active", "schedule": schedule}, 422)
    assert path in {e["propertyPath"] for e in bad["validationErrors"]}


def test_sync_and_reset_return_a_job_and_a_second_sync_returns_the_same(
    api: Api, workspace_id: str,
) -> None:
    conn = _connection(api, workspace_id)
    cid = conn["connectionId"]
    first = api("/connections/sync", {"connectionId": cid})
    assert first["job"]["status"] == "pending"
    assert first["job"]["configType"] == "sync"
    assert first["job"]["configId"] == cid
    # the first attempt is listed from the start (clients read attempts[-1] at once)
    [queued] = first["attempts"]
    assert queued["attempt"]["id"] == 0
    assert queued["attempt"]["status"] == "running"
    assert "endedAt" not in queued["attempt"]
    second = api("/connections/sync", {"connectionId": cid})
    assert second["job"]["id"] == first["job"]["id"]
    reset = api("/connections/reset", {"connectionId": cid})
    assert reset["job"]["configType"] == "reset_connection"
    got = api("/jobs/get", {"id": first["job"]["id"]})
    assert got["job"] == first["job"] | {"updatedAt": got["job"]["updatedAt"]}
    listed = api("/jobs/list", {"configType": "sync", "configId": cid})["jobs"]
    assert [j["job"]["id"] for j in listed] == [first["job"]["id"]]
    cancelled = api("/jobs/cancel", {"id": first["job"]["id"]})
    assert cancelled["job"]["status"] == "cancelled"
    [ended] = cancelled["attempts"]
    assert ended["attempt"]["status"] == "failed"
    assert ended["attempt"]["endedAt"] >= ended["attempt"]["createdAt"]
    third = api("/connections/sync", {"connectionId": cid})
    assert third["job"]["id"] > first["job"]["id"]
    listed = api("/jobs/list", {"configType": "sync", "configId": cid})["jobs"]
    assert [j["job"]["id"] for j in listed] == [third["job"]["id"], first["job"]["id"]]
    api("/jobs/get", {"id": 987654321}, 404)
    api("/jobs/list", {"configType": "sync", "configId": ZERO}, 404)
    api("/connections/sync", {"connectionId": ZERO}, 404)
    api("/connections/reset", {"connectionId": ZERO}, 404)


def test_web_backend_embeds_source_destination_and_sync_state(api: Api,
                                                              workspace_id: str) -> None:
    conn = _connection(api, workspace_id)
    listed = api("/web_backend/connections/list", {"workspaceId": workspace_id})["connections"]
    assert len(listed) == 1
    wb = listed[0]
    assert wb["source"]["sourceId"] == conn["sourceId"]
    assert wb["destination"]["destinationId"] == conn["destinationId"]
    assert wb["isSyncing"] is False
    assert "lastSync" not in wb
    assert api("/web_backend/connections/get", {"connectionId": conn["connectionId"]}) == wb
    api("/web_backend/connections/get", {"connectionId": ZERO}, 404)


def test_web_backend_creates_and_recreates(api: Api, workspace_id: str) -> None:
    src = api("/web_backend/sources/create", {
        "workspaceId": workspace_id, "sourceDefinitionId": definition_id(api, "source", "sample"),
        "connectionConfiguration": {"rows": 3}, "name": "a"})
    again = api("/web_backend/sources/recreate", {
        "workspaceId": workspace_id, "sourceId": src["sourceId"],
        "sourceDefinitionId": src["sourceDefinitionId"],
        "connectionConfiguration": {"rows": 4}, "name": "b"})
    assert again["name"] == "b"
    assert again["connectionConfiguration"]["rows"] == 4
    api("/sources/get", {"sourceId": src["sourceId"]}, 404)
    dst = api("/web_backend/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": "a.duckdb"}, "name": "a"})
    redone = api("/web_backend/destinations/recreate", {
        "workspaceId": workspace_id, "destinationId": dst["destinationId"],
        "destinationDefinitionId": dst["destinationDefinitionId"],
        "connectionConfiguration": {"path": "b.duckdb"}, "name": "b"})
    assert redone["connectionConfiguration"]["path"].endswith("b.duckdb")


def test_debug_lists_versions_and_no_secret(api: Api, settings: Settings) -> None:
    info = api("/debug", method="GET")["info"]
    assert info["versions"]["sluiceway"]
    text = repr(info)
    assert "admin-password-for-tests" not in text
    assert "secret_key" not in text


def test_the_seed_paths_answer_under_v1_too(api: Api, workspace_id: str) -> None:
    r = api.client.post("/v1/workspaces/get", json={"workspaceId": workspace_id},
                        auth=api.auth)
    assert r.status_code == 200
    assert r.json()["workspaceId"] == workspace_id
    assert api.client.get("/v1/health").json() == {"db": True, "available": True}


@pytest.mark.parametrize("prefix", ["/api/v1", "/v1"])
def test_paths_with_a_trailing_slash_answer_directly(api: Api, workspace_id: str,
                                                     prefix: str) -> None:
    """Clients that add a slash and follow no redirect (Prefect's) get the answer itself."""
    def post(path: str, body: dict[str, Any]) -> Any:
        return api.client.post(f"{prefix}{path}", json=body, auth=api.auth,
                               follow_redirects=False)

    health = api.client.get(f"{prefix}/health/", follow_redirects=False)
    assert health.status_code == 200
    assert health.json()["db"] is True
    conn = _connection(api, workspace_id)
    got = post("/connections/get/", {"connectionId": conn["connectionId"]})
    assert got.status_code == 200
    assert got.json()["connectionId"] == conn["connectionId"]
    synced = post("/connections/sync/", {"connectionId": conn["connectionId"]})
    assert synced.status_code == 200, synced.text
    info = post("/jobs/get/", {"id": synced.json()["job"]["id"]})
    assert info.status_code == 200
    assert info.json()["attempts"][-1]["attempt"].get("recordsSynced", 0) == 0
    assert post("/connections/get/", {"connectionId": ZERO}).status_code == 404


def test_the_server_serves_its_own_openapi_and_docs(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert "/api/v1/connections/sync" in doc["paths"]
    assert api.client.get("/docs").status_code == 200


def test_unknown_uuid_and_wrong_types_are_422_with_the_field(api: Api) -> None:
    bad = api("/sources/get", {"sourceId": "not-a-uuid"}, 422)
    assert bad["validationErrors"][0]["propertyPath"] == "sourceId"
    bad = api("/jobs/get", {"id": "seven"}, 422)
    assert bad["validationErrors"][0]["propertyPath"] == "id"
    r = api.client.post("/api/v1/jobs/get", content=b"{not json", auth=api.auth,
                        headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_every_operation_of_the_spec_is_served(api: Api, workspace_id: str,
                                               contract: Contract) -> None:
    """Each path answers something other than 404/405 for a well-formed request."""
    ids = {"workspaceId": workspace_id, "sourceId": str(uuid.uuid4()),
           "destinationId": str(uuid.uuid4()), "connectionId": str(uuid.uuid4()),
           "sourceDefinitionId": str(uuid.uuid4()), "destinationDefinitionId": str(uuid.uuid4()),
           "id": 1, "slug": "default", "configType": "sync", "configId": "x"}
    for method, path in contract.operations():
        r = api.client.request(method, "/api" + path, json=ids, auth=api.auth)
        assert r.status_code not in (405,), (method, path, r.status_code)
        contract.validate_response(method, path, r.status_code,
                                       r.json() if r.content else None)
        if r.status_code == 404:
            assert "message" in r.json(), (path, r.text)  # our 404 body, not "no such route"
            assert r.json().get("exceptionClassName") == "NotFound", (path, r.text)

"""The requests released Airbyte clients send (Prefect's, Dagster's, Airflow's provider), in
the later v1 shapes they use beside the seed's: each answer is also checked against the
reference spec where the seed has the operation."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from tests.api.conftest import Api, definition_id
from tests.api.test_airbyte import ZERO, _connection, _duckdb_destination, _sample_source


def _raw(api: Api, path: str, body: Any, status: int = 200) -> Any:
    """POST a path the seed does not have (no contract to check it against)."""
    r = api.client.post(f"/api/v1{path}", json=body, auth=api.auth, follow_redirects=False)
    assert r.status_code == status, (path, r.status_code, r.text)
    return r.json() if r.content else None


def test_health_answers_available_beside_db(api: Api) -> None:
    assert api("/health", method="GET", auth=None) == {"db": True, "available": True}


def test_jobs_list_takes_config_types_and_pagination(api: Api, workspace_id: str) -> None:
    cid = _connection(api, workspace_id)["connectionId"]
    ids = []
    for _ in range(3):  # a sync, then its cancel, three times over: three jobs
        job = api("/connections/sync", {"connectionId": cid})["job"]
        ids.append(job["id"])
        api("/jobs/cancel", {"id": job["id"]})
    newest_first = ids[::-1]
    # exactly what Dagster's resource sends when it does not forward logs
    got = api("/jobs/list", {"configTypes": ["sync"], "configId": cid,
                             "pagination": {"pageSize": 5}})
    assert [j["job"]["id"] for j in got["jobs"]] == newest_first
    assert got["totalJobCount"] == 3
    assert all(len(j["attempts"]) == 1 for j in got["jobs"])
    page = api("/jobs/list", {"configTypes": ["sync", "reset_connection"], "configId": cid,
                              "pagination": {"pageSize": 2, "rowOffset": 1}})
    assert [j["job"]["id"] for j in page["jobs"]] == newest_first[1:3]
    assert page["totalJobCount"] == 3
    assert api("/jobs/list", {"configTypes": ["reset_connection"], "configId": cid})[
        "jobs"] == []
    seed = api("/jobs/list", {"configType": "sync", "configId": cid})
    assert [j["job"]["id"] for j in seed["jobs"]] == newest_first


@pytest.mark.parametrize(("body", "path"), [
    ({"configTypes": []}, "configTypes"),
    ({}, "configTypes"),
    ({"configTypes": ["sync"], "pagination": {"pageSize": 0}}, "pagination.pageSize"),
    ({"configTypes": ["sync"], "pagination": {"rowOffset": -1}}, "pagination.rowOffset"),
    ({"configTypes": ["sometimes"]}, "configTypes.0"),
])
def test_a_bad_jobs_list_request_names_the_field(api: Api, workspace_id: str,
                                                 body: dict[str, Any], path: str) -> None:
    cid = _connection(api, workspace_id)["connectionId"]
    bad = api("/jobs/list", {"configId": cid, **body}, 422)
    assert path in {e["propertyPath"] for e in bad["validationErrors"]}, bad


def test_a_sync_lists_its_first_attempt_at_once(api: Api, workspace_id: str) -> None:
    """Prefect reads attempts[-1] of the job it has just started."""
    cid = _connection(api, workspace_id)["connectionId"]
    job = _raw(api, "/connections/sync/", {"connectionId": cid})
    assert len(job["attempts"]) == 1
    info = _raw(api, "/jobs/get/", {"id": job["job"]["id"]})
    assert info["attempts"][-1]["attempt"].get("recordsSynced", 0) == 0
    assert info["attempts"][-1]["attempt"]["status"] == "running"


def test_connection_reads_carry_the_later_catalog(api: Api, workspace_id: str) -> None:
    conn = _connection(api, workspace_id)
    assert conn["prefix"] == ""
    assert conn["namespaceDefinition"] == "destination"
    assert conn["operationIds"] == []
    [item] = conn["syncCatalog"]["streams"]
    stream, config = item["stream"], item["config"]
    assert stream["name"] == "events"
    assert set(stream["jsonSchema"]["properties"]) == {
        f["name"] for f in conn["syncSchema"]["streams"][0]["fields"]}
    assert stream["supportedSyncModes"] == ["full_refresh", "incremental"]
    assert stream["sourceDefinedCursor"] is True
    assert stream["defaultCursorField"] == ["id"]
    assert stream["sourceDefinedPrimaryKey"] == [["id"]]
    assert config == {"syncMode": "full_refresh", "cursorField": ["id"],
                      "destinationSyncMode": "overwrite", "primaryKey": [["id"]],
                      "aliasName": "events", "selected": True}
    # the seed's fields are as they were
    assert conn["syncSchema"]["streams"][0]["name"] == "events"
    assert conn["syncMode"] == "full_refresh"
    assert api("/connections/get", {"connectionId": conn["connectionId"]}) == conn
    assert api("/connections/list", {"workspaceId": workspace_id})["connections"] == [conn]


def test_discover_answers_a_catalog_and_a_stable_catalog_id(api: Api,
                                                            workspace_id: str) -> None:
    src = _sample_source(api, workspace_id)
    first = api("/sources/discover_schema", {"sourceId": src["sourceId"]})
    again = api("/sources/discover_schema", {"sourceId": src["sourceId"]})
    assert first["catalogId"] == again["catalogId"]
    assert first["schema"]["streams"][0]["name"] == "events"
    [item] = first["catalog"]["streams"]
    assert item["stream"]["name"] == "events"
    assert item["config"]["selected"] is True
    other = _sample_source(api, workspace_id)
    assert api("/sources/discover_schema", {"sourceId": other["sourceId"]})[
        "catalogId"] != first["catalogId"]


def _dagster_managed_body(api: Api, source_id: str, **over: Any) -> dict[str, Any]:
    """What Dagster's managed connections send: discover's catalog with its own configs."""
    found = api("/sources/discover_schema", {"sourceId": source_id})
    streams = [{**s, "config": {**s["config"], "syncMode": "incremental",
                                "destinationSyncMode": "append_dedup", "cursorField": ["id"],
                                "primaryKey": [["id"]]}}
               for s in found["catalog"]["streams"]]
    return {"name": "managed", "namespaceDefinition": "source",
            "namespaceFormat": "${SOURCE_NAMESPACE}", "prefix": "", "operationIds": [],
            "syncCatalog": {"streams": streams}, "scheduleType": "manual", "status": "active",
            "sourceCatalogId": found["catalogId"], **over}


def test_create_and_update_take_a_sync_catalog(api: Api, workspace_id: str) -> None:
    src = _sample_source(api, workspace_id)
    dst = _duckdb_destination(api, workspace_id)
    made = api("/connections/create", _dagster_managed_body(
        api, src["sourceId"], sourceId=src["sourceId"], destinationId=dst["destinationId"]))
    assert made["syncMode"] == "incremental"  # from the streams: no syncMode was sent
    seed = made["syncSchema"]["streams"][0]
    assert (seed["syncMode"], seed["destinationSyncMode"], seed["cursorField"]) == (
        "incremental", "append_dedup", ["id"])
    config = made["syncCatalog"]["streams"][0]["config"]
    assert (config["syncMode"], config["destinationSyncMode"]) == ("incremental",
                                                                   "append_dedup")
    # choose two fields, the later way
    catalog = made["syncCatalog"]
    catalog["streams"][0]["config"].update(
        fieldSelectionEnabled=True, selectedFields=[{"fieldPath": ["id"]},
                                                    {"fieldPath": ["event_type"]}])
    updated = api("/connections/update", {"connectionId": made["connectionId"],
                                          "syncCatalog": catalog, "status": "inactive"})
    assert {f["name"] for f in updated["syncSchema"]["streams"][0]["fields"]
            if f["selected"]} == {"id", "event_type"}
    config = updated["syncCatalog"]["streams"][0]["config"]
    assert config["fieldSelectionEnabled"] is True
    assert config["selectedFields"] == [{"fieldPath": ["id"]}, {"fieldPath": ["event_type"]}]
    assert updated["status"] == "inactive"
    # an update naming neither syncSchema nor syncCatalog keeps the streams
    kept = api("/connections/update", {"connectionId": made["connectionId"],
                                       "status": "active"})
    assert kept["syncCatalog"] == updated["syncCatalog"]
    assert kept["status"] == "active"


@pytest.mark.parametrize(("change", "path"), [
    ({"prefix": "raw_"}, "prefix"),
    ({"namespaceDefinition": "customformat"}, "namespaceDefinition"),
    ({"stream": {"name": "no_such_stream"}, "config": {"aliasName": None}},
     "syncCatalog.streams[0].stream.name"),
    ({"config": {"aliasName": "renamed"}}, "syncCatalog.streams[0].config.aliasName"),
    ({"config": {"cursorField": ["nope"]}}, "syncCatalog.streams[0].config.cursorField"),
    ({"config": {"syncMode": "sometimes"}}, "syncCatalog.streams.0.config.syncMode"),
    ({"config": {"fieldSelectionEnabled": True, "selectedFields": [{"fieldPath": ["nope"]}]}},
     "syncCatalog.streams[0].config.selectedFields"),
    ({"syncSchema": {"streams": []}}, "syncCatalog"),
])
def test_a_bad_sync_catalog_names_the_field(api: Api, workspace_id: str,
                                            change: dict[str, Any], path: str) -> None:
    src = _sample_source(api, workspace_id)
    dst = _duckdb_destination(api, workspace_id)
    body = _dagster_managed_body(api, src["sourceId"], sourceId=src["sourceId"],
                                 destinationId=dst["destinationId"])
    item = body["syncCatalog"]["streams"][0]
    top = dict(change)  # the table's rows are shared by both metadata databases
    for part in ("stream", "config"):
        item[part].update(top.pop(part, {}))
    bad = api("/connections/create", body | top, 422)
    assert path in {e["propertyPath"] for e in bad["validationErrors"]}, bad
    assert api("/connections/list", {"workspaceId": workspace_id})["connections"] == []


def test_a_create_without_sync_mode_or_catalog_names_sync_mode(api: Api,
                                                               workspace_id: str) -> None:
    src = _sample_source(api, workspace_id)
    dst = _duckdb_destination(api, workspace_id)
    bad = api("/connections/create", {"sourceId": src["sourceId"],
                                      "destinationId": dst["destinationId"],
                                      "status": "active"}, 422)
    assert bad["validationErrors"][0]["propertyPath"] == "syncMode"


def test_workspaces_and_operations_list(api: Api, workspace_id: str) -> None:
    """Dagster's asset loader: workspaces/list, connections/list, then per connection
    operations/list and destinations/get."""
    listed = _raw(api, "/workspaces/list", {})["workspaces"]
    assert [w["workspaceId"] for w in listed] == [workspace_id]
    assert listed[0] == api("/workspaces/get", {"workspaceId": workspace_id})
    conn = _connection(api, workspace_id)
    assert _raw(api, "/operations/list", {"connectionId": conn["connectionId"]}) == {
        "operations": []}
    missing = _raw(api, "/operations/list", {"connectionId": ZERO}, 404)
    assert missing["exceptionClassName"] == "NotFound"
    dest = api("/destinations/get", {"destinationId": conn["destinationId"]})
    assert dest["destinationId"] == conn["destinationId"]


@pytest.mark.parametrize("path", ["/connections/list_paginated",
                                  "/web_backend/connections/list_paginated"])
def test_list_paginated_pages_the_connections(api: Api, workspace_id: str, path: str) -> None:
    made = [_connection(api, workspace_id, name=f"c{i}")["connectionId"] for i in range(3)]
    full = "/web_backend/connections/list" if "web_backend" in path else "/connections/list"
    every = api(full, {"workspaceId": workspace_id})["connections"]
    assert [c["connectionId"] for c in every] == made

    def page(body: dict[str, Any]) -> list[str]:
        return [c["connectionId"] for c in api(path, body)["connections"]]

    assert page({"workspaceIds": [workspace_id], "pageSize": 2}) == made[:2]
    assert page({"workspaceIds": [workspace_id], "pageSize": 2, "rowOffset": 2}) == made[2:]
    assert page({"workspaceId": workspace_id, "pagination": {"pageSize": 1,
                                                             "rowOffset": 1}}) == made[1:2]
    assert api(path, {"workspaceIds": [workspace_id]})["connections"] == every
    api("/connections/delete", {"connectionId": made[0]}, 204)
    assert page({"workspaceIds": [workspace_id]}) == made[1:]
    assert page({"workspaceIds": [workspace_id], "includeDeleted": True}) == made
    bad = api(path, {"pageSize": 2}, 422)
    assert bad["validationErrors"][0]["propertyPath"] == "workspaceIds"
    bad = api(path, {"workspaceIds": [workspace_id], "pageSize": 0}, 422)
    assert bad["validationErrors"][0]["propertyPath"] == "pageSize"
    api(path, {"workspaceIds": [ZERO]}, 404)


def test_web_backend_lists_mask_secrets_and_show_sync_state(api: Api,
                                                            workspace_id: str) -> None:
    src = api("/sources/create", {
        "workspaceId": workspace_id,
        "sourceDefinitionId": definition_id(api, "source", "postgres"),
        "connectionConfiguration": {"host": "127.0.0.1", "port": 1, "database": "d",
                                    "username": "u", "password": "hunter2-secret"},
        "name": "pg"})
    dst = _duckdb_destination(api, workspace_id)
    schema = _connection(api, workspace_id)["syncSchema"]  # the sample's, to copy from
    conn = api("/connections/create", {
        "sourceId": src["sourceId"], "destinationId": dst["destinationId"],
        "syncMode": "full_refresh", "status": "active", "syncSchema": schema})
    api("/connections/sync", {"connectionId": conn["connectionId"]})
    for path, body in (("/web_backend/connections/list", {"workspaceId": workspace_id}),
                       ("/web_backend/connections/list_paginated",
                        {"workspaceIds": [workspace_id], "pageSize": 10})):
        r = api.client.post(f"/api/v1{path}", json=body, auth=api.auth)
        assert "hunter2-secret" not in r.text
        listed = {c["connectionId"]: c for c in r.json()["connections"]}
        wb = listed[conn["connectionId"]]
        assert wb["source"]["connectionConfiguration"]["password"] == "**********"
        assert wb["source"]["connectionConfiguration"]["host"] == "127.0.0.1"
        assert wb["isSyncing"] is False  # queued, not yet running
        assert "lastSync" not in wb
        assert wb == api("/web_backend/connections/get", {"connectionId": conn["connectionId"]})


def test_web_backend_lists_show_running_and_last_sync(api: Api, workspace_id: str,
                                                      settings: Settings) -> None:
    conn = _connection(api, workspace_id)
    other = _connection(api, workspace_id)
    api("/connections/sync", {"connectionId": conn["connectionId"]})
    db = api.client.app.state.platform.db  # type: ignore[attr-defined]
    attempt = ledger.claim(db, "worker", None, 60)  # a worker takes the sync
    assert attempt is not None

    def listed() -> dict[str, Any]:
        return {c["connectionId"]: c for c in api("/web_backend/connections/list", {
            "workspaceId": workspace_id})["connections"]}

    now = listed()
    assert now[conn["connectionId"]]["isSyncing"] is True
    assert now[other["connectionId"]]["isSyncing"] is False
    ledger.finish(db, attempt.id, "succeeded", settings=settings)
    done = listed()[conn["connectionId"]]
    assert done["isSyncing"] is False
    assert done["lastSync"] >= int(attempt.created_at) - 1
    assert "lastSync" not in listed()[other["connectionId"]]


@pytest.mark.parametrize("path", ["/connections/list", "/web_backend/connections/list"])
def test_a_listing_shows_each_change_at_once(api: Api, workspace_id: str, path: str) -> None:
    """Listings keep rendered connections: a change must show in the very next one."""
    conn = _connection(api, workspace_id)
    cid = conn["connectionId"]
    assert api(path, {"workspaceId": workspace_id})["connections"][0]["status"] == "active"
    for status in ("inactive", "active", "inactive"):
        schema = conn["syncSchema"]
        schema["streams"][0]["fields"][-1]["selected"] = status == "active"
        api("/connections/update", {"connectionId": cid, "syncSchema": schema,
                                    "status": status, "schedule": {"units": 3,
                                                                   "timeUnit": "hours"}})
        [listed] = api(path, {"workspaceId": workspace_id})["connections"]
        got = api("/web_backend/connections/get" if "web_backend" in path
                  else "/connections/get", {"connectionId": cid})
        assert listed == got
        assert listed["status"] == status
        assert listed["syncSchema"]["streams"][0]["fields"][-1]["selected"] is (
            status == "active")


def test_the_web_backend_listing_shows_a_changed_source_at_once(api: Api,
                                                                 workspace_id: str) -> None:
    conn = _connection(api, workspace_id)
    body = {"workspaceId": workspace_id}
    assert api("/web_backend/connections/list", body)["connections"][0]["source"][
        "name"] == "events"
    for name in ("renamed", "events"):
        api("/sources/update", {"sourceId": conn["sourceId"], "name": name,
                                "connectionConfiguration": {"rows": 7}})
        [wb] = api("/web_backend/connections/list", body)["connections"]
        assert wb["source"]["name"] == name
        assert wb["source"]["connectionConfiguration"]["rows"] == 7


@pytest.mark.parametrize(("sent", "kind", "data", "seed"), [
    ({"scheduleType": "cron", "scheduleData": {"cron": {
        "cronExpression": "0 6 * * 1-5", "cronTimeZone": "Europe/Amsterdam"}}},
     "cron", {"cron": {"cronExpression": "0 6 * * 1-5", "cronTimeZone": "Europe/Amsterdam"}},
     None),
    ({"scheduleType": "basic", "scheduleData": {"basicSchedule": {
        "units": 2, "timeUnit": "hours"}}},
     "basic", {"basicSchedule": {"units": 2, "timeUnit": "hours"}},
     {"units": 2, "timeUnit": "hours"}),
    ({"schedule": {"units": 1, "timeUnit": "days"}},
     "basic", {"basicSchedule": {"units": 1, "timeUnit": "days"}},
     {"units": 1, "timeUnit": "days"}),
    ({"scheduleType": "manual"}, "manual", None, None),
], ids=["cron", "basic", "seed-schedule", "manual"])
def test_connections_take_schedule_type_and_data_as_later_versions(
        api: Api, workspace_id: str, sent: dict[str, Any], kind: str,
        data: dict[str, Any] | None, seed: dict[str, Any] | None) -> None:
    src = _sample_source(api, workspace_id)
    dst = _duckdb_destination(api, workspace_id)
    made = api("/connections/create", _dagster_managed_body(
        api, src["sourceId"], sourceId=src["sourceId"], destinationId=dst["destinationId"],
        **{"scheduleType": None, **sent}))
    assert made["scheduleType"] == kind
    assert made.get("scheduleData") == data
    assert made.get("schedule") == seed
    again = api("/connections/get", {"connectionId": made["connectionId"]})
    assert (again["scheduleType"], again.get("scheduleData")) == (kind, data)


@pytest.mark.parametrize(("sent", "path"), [
    ({"scheduleType": "cron", "scheduleData": {"cron": {"cronExpression": "every day"}}},
     "scheduleData.cron.cronExpression"),
    ({"scheduleType": "cron", "scheduleData": {"cron": {
        "cronExpression": "0 6 * * *", "cronTimeZone": "Mars/Olympus"}}},
     "scheduleData.cron.cronTimeZone"),
    ({"scheduleType": "cron"}, "scheduleData.cron"),
    ({"scheduleType": "basic"}, "scheduleData.basicSchedule"),
], ids=["bad-expression", "bad-zone", "cron-without-data", "basic-without-data"])
def test_a_bad_cron_schedule_names_the_field(api: Api, workspace_id: str,
                                             sent: dict[str, Any], path: str) -> None:
    src = _sample_source(api, workspace_id)
    dst = _duckdb_destination(api, workspace_id)
    body = _dagster_managed_body(api, src["sourceId"], sourceId=src["sourceId"],
                                 destinationId=dst["destinationId"],
                                 **{"scheduleType": None, **sent})
    r = _raw(api, "/connections/create", {k: v for k, v in body.items() if v is not None}, 422)
    assert path in [e["propertyPath"] for e in r["validationErrors"]]

"""Bad values are refused on the way in (a 4xx naming the field, nothing stored) on every API
family, and a listing never fails because of one row it cannot render."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sluiceway.jobs import ledger
from sluiceway.store.models import Workspace
from tests.api.conftest import ADMIN, Api, definition_id

BIG = 2**64  # past every 64-bit integer column


def _source(api: Api, ws: str, name: str = "events") -> dict[str, Any]:
    return api("/sources/create", {  # type: ignore[no-any-return]
        "workspaceId": ws, "sourceDefinitionId": definition_id(api, "source", "sample"),
        "connectionConfiguration": {"rows": 5}, "name": name})


def _destination(api: Api, ws: str) -> dict[str, Any]:
    return api("/destinations/create", {  # type: ignore[no-any-return]
        "workspaceId": ws,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": "lake.duckdb"}, "name": "lake"})


def _raw(client: TestClient, path: str, text: str) -> Any:
    """POST a JSON text as it is (a lone surrogate cannot be written by json.dumps)."""
    return client.post(path, content=text.encode(), auth=ADMIN,
                       headers={"Content-Type": "application/json"})


def _export(client: TestClient, ws: str, source_id: str, **kw: Any) -> Any:
    body = {"project_id": ws, "source_id": source_id, "stream": "events", "format": "csv", **kw}
    return client.post("/exports/export", json=body, auth=ADMIN)


def _count(client: TestClient, model: Any) -> int:
    p = client.app.state.platform  # type: ignore[attr-defined]
    with p.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _pointers(r: Any) -> set[str]:
    return {e.get("source", {}).get("pointer") or e.get("source", {}).get("parameter")
            for e in r.json()["errors"]}


# --- one bad value ---------------------------------------------------------------------------

@pytest.mark.parametrize("when", ["1e18", "-1e18", "inf", "nan", "99999999999999",
                                  "9999-12-31T23:59:59-05:00"])
def test_an_export_scheduled_out_of_range_is_refused_and_jobs_still_list(
        client: TestClient, api: Api, workspace_id: str, when: str) -> None:
    src = _source(api, workspace_id)
    r = _export(client, workspace_id, src["sourceId"], scheduled_at=when)
    assert r.status_code == 422, r.text
    assert "/scheduled_at" in _pointers(r)
    listed = client.get("/jobs", auth=ADMIN)
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"] == []
    assert client.get("/exports", auth=ADMIN).json()["data"] == []


def test_a_listing_skips_a_row_it_cannot_render(client: TestClient, api: Api,
                                                workspace_id: str) -> None:
    """A row stored before the checks existed (a time past year 9999) does not break /jobs."""
    src = _source(api, workspace_id)
    good = _export(client, workspace_id, src["sourceId"]).json()["included"][0]["id"]
    p = client.app.state.platform  # type: ignore[attr-defined]
    with p.db.claim() as s:
        bad = ledger.enqueue(s, workspace_id=workspace_id, config_type="export",
                             scope="legacy", max_attempts=1, input={})
        bad.scheduled_at = 1e18
        bad_id = bad.id
    listed = client.get("/jobs", auth=ADMIN)
    assert listed.status_code == 200, listed.text
    ids = [d["id"] for d in listed.json()["data"]]
    assert good in ids
    assert str(bad_id) not in ids or listed.json()["data"][ids.index(str(bad_id))][
        "attributes"]["scheduled_at"] is None
    shown = client.get(f"/jobs/{bad_id}", auth=ADMIN)
    assert shown.status_code == 200, shown.text
    assert shown.json()["data"]["attributes"]["scheduled_at"] is None


@pytest.mark.parametrize("body", [{"id": BIG}, {"id": -BIG}, {"id": 2**63}])
@pytest.mark.parametrize("path", ["/jobs/get", "/jobs/cancel"])
def test_an_airbyte_job_id_past_64_bits_is_422_naming_id(api: Api, path: str,
                                                         body: dict[str, Any]) -> None:
    bad = api(path, body, 422)
    assert [e["propertyPath"] for e in bad["validationErrors"]] == ["id"]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("job_id", [str(BIG), str(2**63), str(-BIG)])
def test_a_dataset_job_id_past_64_bits_is_not_found(client: TestClient, method: str,
                                                    job_id: str) -> None:
    r = client.request(method, f"/jobs/{job_id}", auth=ADMIN)
    assert r.status_code == 404, r.text
    assert r.json()["errors"][0]["status"] == "404"


@pytest.mark.parametrize(("path", "param", "value"), [
    ("/jobs", "filter[id]", str(BIG)),
    ("/jobs", "filter[id__in]", f"1,{BIG}"),
    ("/jobs", "filter[priority__gte]", str(BIG)),
    ("/jobs", "filter[retry_count]", str(-BIG)),
    ("/jobs", "filter[created_at__gte]", "1e400"),
    ("/jobs", "filter[scheduled_at__lte]", "nan"),
    ("/jobs", "filter[progress]", "inf"),
    ("/exports", "filter[size__gte]", str(BIG)),
    ("/exports", "filter[job_id]", str(BIG)),
])
def test_a_filter_value_out_of_range_is_400_naming_the_parameter(
        client: TestClient, path: str, param: str, value: str) -> None:
    r = client.get(path, params={param: value}, auth=ADMIN)
    assert r.status_code == 400, r.text
    assert _pointers(r) == {param}


@pytest.mark.parametrize(("path", "make"), [
    ("/api/v1/sources/create", lambda ws, d: {
        "workspaceId": ws, "sourceDefinitionId": d, "connectionConfiguration": {"rows": 1},
        "name": "\\ud800"}),
    ("/api/v1/workspaces/create", lambda ws, d: {"name": "a\\udfffb"}),
])
def test_a_lone_surrogate_in_a_name_is_422_naming_it(client: TestClient, api: Api,
                                                    workspace_id: str, path: str,
                                                    make: Any) -> None:
    text = json.dumps(make(workspace_id, definition_id(api, "source", "sample")))
    r = _raw(client, path, text.replace("\\\\u", "\\u"))
    assert r.status_code == 422, r.text
    assert [e["propertyPath"] for e in r.json()["validationErrors"]] == ["name"]
    assert api("/sources/list", {"workspaceId": workspace_id})["sources"] == []
    assert _count(client, Workspace) == 1


def test_a_lone_surrogate_in_a_connector_config_is_422(client: TestClient, api: Api,
                                                      workspace_id: str) -> None:
    text = json.dumps({"workspaceId": workspace_id,
                       "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
                       "connectionConfiguration": {"path": "X"}, "name": "a"})
    r = _raw(client, "/api/v1/destinations/create", text.replace('"X"', '"a\\ud800.duckdb"'))
    assert r.status_code == 422, r.text
    bad = r.json()["validationErrors"]
    assert [e["propertyPath"] for e in bad] == ["connectionConfiguration"]
    assert "connectionConfiguration: must be valid Unicode (no lone surrogate) (at path)" in (
        r.json()["message"])
    assert api("/destinations/list", {"workspaceId": workspace_id})["destinations"] == []


@pytest.mark.parametrize("schedule", [{"units": 10**30, "timeUnit": "hours"},
                                      {"units": 2**63, "timeUnit": "minutes"},
                                      {"units": 10**6, "timeUnit": "months"}])
def test_a_schedule_too_far_apart_is_422_and_nothing_is_stored(
        api: Api, workspace_id: str, schedule: dict[str, Any]) -> None:
    src = _source(api, workspace_id)
    dst = _destination(api, workspace_id)
    bad = api("/connections/create", {
        "sourceId": src["sourceId"], "destinationId": dst["destinationId"],
        "syncMode": "full_refresh", "status": "active", "schedule": schedule}, 422)
    assert "schedule.units" in {e["propertyPath"] for e in bad["validationErrors"]}
    assert api("/connections/list", {"workspaceId": workspace_id})["connections"] == []


@pytest.mark.parametrize("path", ["/jobs/get", "/jobs/cancel"])
def test_airbyte_jobs_of_another_kind_are_not_found(client: TestClient, api: Api,
                                                   workspace_id: str, path: str) -> None:
    src = _source(api, workspace_id)
    r = _export(client, workspace_id, src["sourceId"])
    assert r.status_code == 202, r.text
    job_id = int(r.json()["included"][0]["id"])
    api(path, {"id": job_id}, 404)
    # and the export job was not cancelled by the refused call
    shown = client.get(f"/jobs/{job_id}", auth=ADMIN).json()["data"]["attributes"]
    assert shown["status"] == "pending"

"""Bad values are refused on the way in (a 4xx naming the field, nothing stored) on every API
family, and a listing never fails because of one row it cannot render."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sluiceway.bootstrap import create_app
from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.store.models import Artifact, Workspace
from tests.api.conftest import ADMIN, Api, definition_id, make_settings

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


# --- limits ----------------------------------------------------------------------------------

SMALL = 4096  # the body limit of the small_client fixture


@pytest.fixture
def small_client(tmp_path: Path, metadata_url: str) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, metadata_url, max_body_bytes=SMALL,
                             max_upload_bytes=8192)
    app = create_app(settings, run_jobs=False)
    with TestClient(app) as c:
        yield c
    app.state.platform.close()


def test_the_body_limit_is_10_mb_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_body_bytes == 10 * 1024 * 1024
    monkeypatch.setenv("SLUICEWAY_MAX_BODY_BYTES", "65536")
    assert Settings().max_body_bytes == 65536
    monkeypatch.setenv("SLUICEWAY_MAX_BODY_BYTES", "10")
    with pytest.raises(ValueError, match="max_body_bytes"):
        Settings()


def _family_413(path: str, r: Any) -> None:
    """Each family's own error body, saying which setting raises the limit."""
    assert r.status_code == 413, r.text
    body = r.json()
    if path.startswith("/api/v1"):
        assert body["exceptionClassName"] == "TooLarge"
        text = body["message"]
    elif path.startswith(("/exports", "/jobs")):
        assert body["errors"][0]["status"] == "413"
        text = body["errors"][0]["title"]
    elif path.startswith("/apis"):
        assert body["status"] == 413
        assert body["location"] == "body"
        text = body["message"]
    else:
        assert body["type"] == "PayloadTooLargeError"
        text = body["message"]
    assert "SLUICEWAY_MAX_BODY_BYTES" in text


@pytest.mark.parametrize("path", [
    "/api/v1/sources/create", "/api/v1/workspaces/create", "/exports/export",
    "/apis/{ws}/dumps", "/v2/projects/{ws}/backups"])
def test_a_body_past_the_limit_is_413_in_the_family_body(small_client: TestClient,
                                                         path: str) -> None:
    ws = small_client.post("/api/v1/workspaces/get_by_slug", json={"slug": "default"},
                           auth=ADMIN).json()["workspaceId"]
    url = path.format(ws=ws)
    r = small_client.post(url, json={"name": "x" * SMALL}, auth=ADMIN)
    _family_413(url, r)
    # just under the limit is read (and judged on its content)
    r = small_client.post(url, json={"name": "x" * (SMALL - 100)}, auth=ADMIN)
    assert r.status_code in (201, 202, 400, 404, 422), r.text


def _asgi_call(app: Any, path: str, chunks: int, chunk: bytes,
               headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """Send a body of ``chunks`` pieces straight to the app; (status, pieces the app read)."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         *headers]}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], read


def test_the_limit_is_enforced_while_reading_and_by_content_length(
        small_client: TestClient) -> None:
    app = small_client.app
    # no Content-Length (chunked): reading stops at the first piece past the limit
    status, read = _asgi_call(app, "/api/v1/sources/create", 1000, b" " * 1024, [])
    assert status == 413
    assert read == SMALL // 1024 + 1
    # a declared Content-Length past the limit: refused before any byte is read
    status, read = _asgi_call(app, "/api/v1/sources/create", 1000, b" " * 1024,
                              [(b"content-length", str(1000 * 1024).encode())])
    assert (status, read) == (413, 0)


def test_an_import_is_not_held_to_the_body_limit_but_to_its_own(
        small_client: TestClient) -> None:
    client = small_client
    ws = client.post("/api/v1/workspaces/get_by_slug", json={"slug": "default"},
                     auth=ADMIN).json()["workspaceId"]
    dst = client.post("/api/v1/destination_definitions/list", auth=ADMIN).json()
    duckdb = next(d["destinationDefinitionId"] for d in dst["destinationDefinitions"]
                  if d["dockerRepository"] == "duckdb")
    dest = client.post("/api/v1/destinations/create", auth=ADMIN, json={
        "workspaceId": ws, "destinationDefinitionId": duckdb,
        "connectionConfiguration": {"path": "i.duckdb"}}).json()["destinationId"]
    params = {"project_id": ws, "destination_id": dest, "table": "t", "format": "csv"}
    fits = b"id\n" + b"".join(b"%05d\n" % i for i in range(1300))  # 7.8 kB: > body limit
    assert SMALL < len(fits) <= 8192
    r = client.post("/imports", params=params, content=fits, auth=ADMIN)
    assert r.status_code == 202, r.text
    too_big = fits + b"99999\n" * 100
    r = client.post("/imports", params=params, content=too_big, auth=ADMIN)
    assert r.status_code == 413, r.text
    assert "SLUICEWAY_MAX_UPLOAD_BYTES" in r.json()["errors"][0]["title"]
    r = client.post("/imports", params=params, content=iter([too_big]), auth=ADMIN)
    assert r.status_code == 413, r.text  # no Content-Length: counted as it streams
    assert _count(client, Artifact) == 1  # only the import that fit


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/workspaces/create", {"name": "n" * 256}, "name"),
    ("/sources/create", {"name": "n" * 256}, "name"),
    ("/destinations/create", {"name": "n" * 256}, "name"),
    ("/workspaces/get_by_slug", {"slug": "s" * 256}, "slug"),
    ("/source_definitions/create", {"name": "d", "dockerRepository": "r" * 201,
                                    "dockerImageTag": "1", "documentationUrl": "u"},
     "dockerRepository"),
])
def test_a_name_past_255_characters_is_422_naming_it(api: Api, workspace_id: str, path: str,
                                                    body: dict[str, Any], field: str) -> None:
    full = {"workspaceId": workspace_id, "connectionConfiguration": {"rows": 1},
            "sourceDefinitionId": definition_id(api, "source", "sample"),
            "destinationDefinitionId": definition_id(api, "destination", "duckdb"), **body}
    bad = api(path, full, 422)
    assert field in {e["propertyPath"] for e in bad["validationErrors"]}
    assert api("/sources/list", {"workspaceId": workspace_id})["sources"] == []


def test_a_name_of_255_characters_is_kept_whole(api: Api, workspace_id: str) -> None:
    """255 is what the name columns hold, on PostgreSQL too."""
    name = "é" * 255
    made = _source(api, workspace_id, name=name)
    assert api("/sources/get", {"sourceId": made["sourceId"]})["name"] == name
    conn = api("/connections/create", {
        "name": name, "sourceId": made["sourceId"],
        "destinationId": _destination(api, workspace_id)["destinationId"],
        "syncMode": "full_refresh", "status": "active"})
    assert conn["name"] == name
    bad = api("/connections/create", {
        "name": name + "x", "sourceId": made["sourceId"],
        "destinationId": conn["destinationId"], "syncMode": "full_refresh",
        "status": "active"}, 422)
    assert [e["propertyPath"] for e in bad["validationErrors"]] == ["name"]


def test_a_50_mb_name_is_refused_before_it_is_read_whole(client: TestClient, api: Api,
                                                         workspace_id: str) -> None:
    body = {"workspaceId": workspace_id, "name": "n" * 50_000_000,
            "sourceDefinitionId": definition_id(api, "source", "sample"),
            "connectionConfiguration": {"rows": 1}}
    r = client.post("/api/v1/sources/create", json=body, auth=ADMIN)
    assert r.status_code == 413, r.text[:500]
    listed = client.post("/api/v1/sources/list", json={"workspaceId": workspace_id},
                         auth=ADMIN)
    assert listed.json() == {"sources": []}


def test_export_and_backup_texts_are_limited(client: TestClient, api: Api,
                                             workspace_id: str) -> None:
    src = _source(api, workspace_id)
    r = _export(client, workspace_id, src["sourceId"], filename="f" * 256)
    assert r.status_code == 422, r.text
    assert _pointers(r) == {"/filename"}
    r = client.post(f"/v2/projects/{workspace_id}/backups", auth=ADMIN,
                    json={"description": "d" * 64_001})
    assert r.status_code == 400, r.text
    assert [e["path"] for e in r.json()["validationErrors"]] == [".description"]
    assert client.get(f"/v2/projects/{workspace_id}/backups", auth=ADMIN).json() == []


NUL = "a\u0000b"


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/workspaces/create", {"name": NUL}, "name"),
    ("/sources/create", {"name": NUL}, "name"),
    ("/sources/create", {"name": "ok", "connectionConfiguration": {"rows": 1, "x": [NUL]}},
     "connectionConfiguration"),
    ("/workspaces/update", {"email": NUL, "initialSetupComplete": True,
                            "onboardingComplete": True, "anonymousDataCollection": False,
                            "news": False, "securityUpdates": False}, "email"),
    ("/jobs/list", {"configType": "sync", "configId": NUL}, "configId"),
])
def test_a_nul_character_is_422_naming_the_field_on_the_airbyte_face(
        api: Api, workspace_id: str, path: str, body: dict[str, Any], field: str) -> None:
    full = {"workspaceId": workspace_id, "connectionConfiguration": {"rows": 1},
            "sourceDefinitionId": definition_id(api, "source", "sample"), **body}
    bad = api(path, full, 422)
    assert [e["propertyPath"] for e in bad["validationErrors"]] == [field]
    assert "NUL" in bad["validationErrors"][0]["message"]
    assert api("/sources/list", {"workspaceId": workspace_id})["sources"] == []
    assert api("/workspaces/get", {"workspaceId": workspace_id}).get("email") is None


def test_a_nul_character_is_refused_on_every_other_family(client: TestClient, api: Api,
                                                         workspace_id: str) -> None:
    src = _source(api, workspace_id)
    r = _export(client, workspace_id, src["sourceId"], stream=NUL)
    assert r.status_code == 422, r.text
    assert _pointers(r) == {"/stream"}
    r = _export(client, workspace_id, src["sourceId"], filter={"eq": ["id", NUL]})
    assert r.status_code == 422, r.text
    assert _pointers(r) == {"/filter"}
    r = client.post(f"/apis/{src['sourceId']}/dumps", auth=ADMIN, json={
        "steps": [{"id": "a", "stream": NUL}]})
    assert r.status_code == 400, r.text
    assert r.json()["location"] == "body"
    assert "NUL" in r.json()["message"]
    r = client.post(f"/v2/projects/{workspace_id}/backups", auth=ADMIN,
                    json={"description": NUL})
    assert r.status_code == 400, r.text
    assert [e["path"] for e in r.json()["validationErrors"]] == [".description"]
    assert client.get("/jobs", auth=ADMIN).json()["data"] == []


@pytest.mark.parametrize(("url", "status", "field"), [
    ("/exports/formats?modalities=tab%00ular", 422, "query.modalities"),
    ("/jobs?filter%5Bunicity%5D=a%00b", 422, "query.filter[unicity]"),
    ("/exports/ab%00cd", 422, "path"),
    ("/apis/ab%00cd/dumps", 400, "path"),
    ("/v2/projects/ab%00cd/backups", 400, "path"),
])
def test_a_nul_character_in_the_path_or_query_is_refused(client: TestClient, url: str,
                                                         status: int, field: str) -> None:
    r = client.get(url, auth=ADMIN)
    assert r.status_code == status, r.text
    assert field in r.text

"""Project backups (seed 003, the mittwald API v2 backup family): list with paging headers,
create/get/update/delete, exports (tar, ZIP, AES ZIP) downloaded by signed link, restores of
tables and files, the family's error bodies, workspace isolation, and a round trip that puts
a deleted workspace configuration and its destination data back."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
import pyzipper
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.artifacts import verify_password
from sluiceway.secrets import unseal
from sluiceway.services import auth
from sluiceway.store.models import Actor, Artifact, Job, StreamState
from tests.api.conftest import ADMIN, Api, definition_id
from tests.api.test_datasets import run_jobs
from tests.conftest import PG_HOST, PG_PORT, PG_USER

ZIP_PASSWORD = "correct horse battery"  # noqa: S105 - a test value
PG_PASSWORD = "pg-s3cret-for-backups"  # noqa: S105 - a test value


class V2:
    """Calls a /v2 path and asserts the status."""

    def __init__(self, client: TestClient, auth: Any = ADMIN) -> None:
        self.client = client
        self.auth = auth

    def __call__(self, method: str, path: str, status: int = 200, body: Any = None,
                 **params: Any) -> Any:
        kw: dict[str, Any] = {"params": params}
        if self.auth is not None:
            kw["auth"] = self.auth
        if body is not None:
            kw["json"] = body
        r = self.client.request(method, f"/v2{path}", **kw)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        self.last = r
        return r.json() if r.content else None


@pytest.fixture
def v2(client: TestClient) -> V2:
    return V2(client)


def _platform(client: TestClient) -> Any:
    return client.app.state.platform  # type: ignore[attr-defined]


@pytest.fixture
def project(api: Api, workspace_id: str) -> dict[str, str]:
    """A sample source synced into a DuckDB destination (``files/w.duckdb``)."""
    src = api("/sources/create", {
        "workspaceId": workspace_id, "sourceDefinitionId": definition_id(api, "source", "sample"),
        "connectionConfiguration": {"rows": 300}, "name": "events"})
    dst = api("/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": "w.duckdb"}, "name": "warehouse"})
    conn = api("/connections/create", {
        "sourceId": src["sourceId"], "destinationId": dst["destinationId"],
        "syncMode": "full_refresh", "status": "active",
        "schedule": {"units": 24, "timeUnit": "hours"}})
    api("/connections/sync", {"connectionId": conn["connectionId"]})
    run_jobs(api.client)
    return {"workspace": workspace_id, "source": src["sourceId"],
            "destination": dst["destinationId"], "connection": conn["connectionId"]}


def _later(days: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return when.isoformat().replace("+00:00", "Z")


def _backup(v2: V2, ws: str, run: bool = True, **body: Any) -> dict[str, Any]:
    made = v2("POST", f"/projects/{ws}/backups", 201, body)
    assert made["status"] == "Creating"
    assert made["deletable"] is False
    if not run:
        return made  # type: ignore[no-any-return]
    run_jobs(v2.client)
    got = v2("GET", f"/project-backups/{made['id']}")
    assert got["status"] == "Completed", got
    return got  # type: ignore[no-any-return]


def _checksum(path: Path, table: str = "events") -> tuple[int, str]:
    with duckdb.connect(str(path), read_only=True) as con:
        n, digest = con.execute(
            f'SELECT count(*), md5(string_agg(t::VARCHAR, chr(10) ORDER BY t.id)) '
            f'FROM "{table}" t').fetchone()  # type: ignore[misc]
    return int(n), str(digest)


# --- create, get, update, delete ----------------------------------------------------------------

def test_a_backup_is_created_shown_described_and_deleted(v2: V2, project: dict[str, str],
                                                         settings: Any) -> None:
    ws = project["workspace"]
    expires = _later(30)
    made = _backup(v2, ws, run=False, description="before the upgrade", expirationTime=expires)
    assert made["projectId"] == ws
    assert made["description"] == "before the upgrade"
    assert made["expiresAt"][:16] == expires[:16]
    assert "requestedAt" in made
    refused = v2("DELETE", f"/project-backups/{made['id']}", 409)
    assert refused["type"] == "ConflictError"
    assert "deletable" in refused["message"]
    run_jobs(v2.client)
    got = v2("GET", f"/project-backups/{made['id']}")
    assert got["status"] == "Completed"
    assert got["deletable"] is True
    assert "createdAt" in got
    dumps = v2("GET", f"/project-backups/{made['id']}/database-dumps")
    assert dumps == {"databases": [f"{project['destination']}/events"]}
    v2("PATCH", f"/project-backups/{made['id']}/description", 204, {"description": "kept"})
    assert v2("GET", f"/project-backups/{made['id']}")["description"] == "kept"
    v2("PATCH", f"/project-backups/{made['id']}", 204, {"expirationTime": _later(60)})
    again = v2("GET", f"/project-backups/{made['id']}")
    assert again["description"] == "kept"
    assert again["expiresAt"][:10] == _later(60)[:10]
    v2("DELETE", f"/project-backups/{made['id']}", 204)
    gone = v2("GET", f"/project-backups/{made['id']}", 404)
    assert gone == {"type": "NotFoundError", "message": f"backup {made['id']} not found"}
    assert not (settings.artifacts_dir / made["id"][:2] / made["id"]).exists()


def test_the_default_expiry_is_the_artifact_lifetime(v2: V2, workspace_id: str,
                                                     settings: Any) -> None:
    made = _backup(v2, workspace_id)  # no destination: the configuration alone
    expires = dt.datetime.fromisoformat(made["expiresAt"].replace("Z", "+00:00")).timestamp()
    assert abs(expires - (time.time() + settings.artifact_ttl_seconds)) < 60
    assert v2("GET", f"/project-backups/{made['id']}/database-dumps") == {"databases": []}


# --- listing ------------------------------------------------------------------------------------

def test_listing_searches_filters_sorts_and_pages(v2: V2, project: dict[str, str]) -> None:
    ws = project["workspace"]
    a = _backup(v2, ws, description="alpha nightly")
    b = _backup(v2, ws, description="beta")
    c = _backup(v2, ws, description="Alpha manual")

    def ids(**params: Any) -> list[str]:
        return [x["id"] for x in v2("GET", f"/projects/{ws}/backups", **params)]

    def headers() -> dict[str, str]:
        h = v2.last.headers
        return {k: h[f"x-pagination-{k}"] for k in ("limit", "skip", "page", "totalcount")}

    assert ids() == [a["id"], b["id"], c["id"]]
    assert headers() == {"limit": "1000", "skip": "0", "page": "1", "totalcount": "3"}
    assert ids(sortOrder="newestFirst") == [c["id"], b["id"], a["id"]]
    assert ids(sortOrder="oldestFirst") == [a["id"], b["id"], c["id"]]
    assert ids(searchTerm="alpha") == [a["id"], c["id"]]
    assert headers()["totalcount"] == "2"
    assert ids(searchTerm=b["id"][:13]) == [b["id"]]
    assert ids(limit=2) == [a["id"], b["id"]]
    assert headers() == {"limit": "2", "skip": "0", "page": "1", "totalcount": "3"}
    assert ids(limit=2, page=2) == [c["id"]]
    assert headers() == {"limit": "2", "skip": "2", "page": "2", "totalcount": "3"}
    assert ids(limit=1, skip=1, page=3) == [b["id"]]  # skip wins over page
    assert headers()["page"] == "2"
    assert ids(withExportsOnly="true") == []
    assert ids(runningRestoresOnly="true") == []
    assert ids(runningBackupsOnly="true") == []
    v2("POST", f"/project-backups/{b['id']}/export", 204, {"format": "tar"})
    assert ids(withExportsOnly="true") == [b["id"]]
    run_jobs(v2.client)
    v2("POST", f"/project-backups/{c['id']}/restore", 204, {"pathRestore": {
        "sourcePaths": ["config.json"], "targetRestorePath": "restored"}})
    assert ids(runningRestoresOnly="true") == [c["id"]]
    assert v2("GET", f"/project-backups/{c['id']}")["deletable"] is False
    run_jobs(v2.client)
    assert ids(runningRestoresOnly="true") == []
    _backup(v2, ws, run=False)
    assert len(ids(runningBackupsOnly="true")) == 1


@pytest.mark.parametrize(("params", "path"), [
    ({"limit": "0"}, ".limit"),
    ({"limit": str(10**9)}, ".limit"),
    ({"limit": "ten"}, ".limit"),
    ({"skip": "-1"}, ".skip"),
    ({"page": "x"}, ".page"),
    ({"sortOrder": "sideways"}, ".sortOrder"),
    ({"withExportsOnly": "maybe"}, ".withExportsOnly"),
])
def test_a_bad_listing_parameter_is_a_validation_error(v2: V2, workspace_id: str,
                                                       params: dict[str, str],
                                                       path: str) -> None:
    bad = v2("GET", f"/projects/{workspace_id}/backups", 400, **params)
    assert bad["type"] == "ValidationError"
    assert [e["path"] for e in bad["validationErrors"]] == [path]
    assert bad["validationErrors"][0]["message"]


@pytest.mark.parametrize(("body", "path"), [
    ({"expirationTime": "next tuesday"}, ".expirationTime"),
    ({"expirationTime": "2001-01-01T00:00:00Z"}, ".expirationTime"),
    ({"expirationTime": _later(400)}, ".expirationTime"),
    ({"destinationIds": ["00000000-0000-4000-8000-000000000000"]}, ".destinationIds[0]"),
    ({"colour": "red"}, ".colour"),
])
def test_a_bad_backup_request_is_a_validation_error(v2: V2, workspace_id: str,
                                                    body: dict[str, Any], path: str) -> None:
    bad = v2("POST", f"/projects/{workspace_id}/backups", 400, body)
    assert bad["type"] == "ValidationError"
    assert path in [e["path"] for e in bad["validationErrors"]], bad


# --- exports ------------------------------------------------------------------------------------

def test_a_zip_export_with_a_password_downloads_by_signed_link(
    v2: V2, project: dict[str, str], tmp_path: Path,
) -> None:
    made = _backup(v2, project["workspace"])
    assert v2("POST", f"/project-backups/{made['id']}/export", 204,
              {"format": "zip", "password": ZIP_PASSWORD}) is None
    pending = v2("GET", f"/project-backups/{made['id']}")
    assert pending["export"] == {"format": "zip", "withPassword": True, "phase": "Pending",
                                 "expiresAt": pending["export"]["expiresAt"]}
    assert pending["deletable"] is False
    again = v2("POST", f"/project-backups/{made['id']}/export", 409, {"format": "zip"})
    assert again["type"] == "ConflictError"
    p = _platform(v2.client)
    with p.db.session() as s:
        export_row = s.scalars(select(Artifact).where(Artifact.kind == "backup_export")).one()
        job = s.get(Job, export_row.job_id)
        assert ZIP_PASSWORD not in json.dumps(job.input)
        assert verify_password(ZIP_PASSWORD, export_row.password_hash or "")
        assert ZIP_PASSWORD not in (export_row.password_hash or "")
    run_jobs(v2.client)
    with p.db.session() as s:
        assert s.get(Job, export_row.job_id).input["password"] is None  # wiped once used
    done = v2("GET", f"/project-backups/{made['id']}")["export"]
    assert done["phase"] == "Completed"
    assert done["withPassword"] is True
    r = v2.client.get(done["downloadURL"])  # no credentials: the signature is enough
    assert r.status_code == 200, r.text
    assert hashlib.sha256(r.content).hexdigest() == done["sha256Checksum"]
    (tmp_path / "b.zip").write_bytes(r.content)
    with pyzipper.AESZipFile(tmp_path / "b.zip") as zf:
        names = zf.namelist()
        assert "config.json" in names
        assert f"data/{project['destination']}/events.parquet" in names
        with pytest.raises(RuntimeError):
            zf.read("config.json", pwd=b"wrong password")
        zf.setpassword(ZIP_PASSWORD.encode())
        config = json.loads(zf.read("config.json"))
    assert config["workspace"]["id"] == project["workspace"]
    assert {a["id"] for a in config["actors"]} == {project["source"], project["destination"]}
    tampered = done["downloadURL"].replace("signature=", "signature=0")
    assert v2.client.get(tampered).status_code == 404
    assert v2.client.get(f"/v2/project-backups/{made['id']}/export/download").status_code == 401


def test_a_tar_export_without_password_and_its_expiry_and_deletion(
    v2: V2, project: dict[str, str],
) -> None:
    from sluiceway.jobs.runtime import enqueue_prune

    made = _backup(v2, project["workspace"])
    v2("POST", f"/project-backups/{made['id']}/export", 204, {"format": "tar"})
    run_jobs(v2.client)
    export = v2("GET", f"/project-backups/{made['id']}")["export"]
    assert export["withPassword"] is False
    r = v2.client.get(f"/v2/project-backups/{made['id']}/export/download", auth=ADMIN)
    assert r.status_code == 200
    assert r.headers["x-checksum-sha256"] == export["sha256Checksum"]
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        assert sorted(tar.getnames()) == [
            "config.json", f"data/{project['destination']}/events.parquet"]
    part = v2.client.get(export["downloadURL"], headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.content == r.content[:10]
    p = _platform(v2.client)
    with p.db.session() as s:
        row = s.scalars(select(Artifact).where(Artifact.kind == "backup_export")).one()
        row.expires_at = time.time() - 1
    enqueue_prune(p.settings, p.db)
    run_jobs(v2.client)
    expired = v2("GET", f"/project-backups/{made['id']}")["export"]
    assert expired["phase"] == "Expired"
    assert "downloadURL" not in expired
    v2("DELETE", f"/project-backups/{made['id']}/export", 204)
    assert "export" not in v2("GET", f"/project-backups/{made['id']}")
    missing = v2("DELETE", f"/project-backups/{made['id']}/export", 404)
    assert missing["type"] == "NotFoundError"


@pytest.mark.parametrize(("body", "path"), [
    ({"format": "rar"}, ".format"),
    ({}, ".format"),
    ({"format": "tar", "password": "x"}, ".password"),
    ({"format": "zip", "password": ""}, ".password"),
])
def test_a_bad_export_request_is_a_validation_error(v2: V2, workspace_id: str,
                                                    body: dict[str, Any], path: str) -> None:
    made = _backup(v2, workspace_id)
    bad = v2("POST", f"/project-backups/{made['id']}/export", 400, body)
    assert bad["type"] == "ValidationError"
    assert [e["path"] for e in bad["validationErrors"]] == [path], bad


# --- access ------------------------------------------------------------------------------------

def test_another_workspace_sees_no_backup(v2: V2, project: dict[str, str]) -> None:
    ws = project["workspace"]
    made = _backup(v2, ws)
    v2("POST", f"/project-backups/{made['id']}/export", 204, {"format": "tar"})
    run_jobs(v2.client)
    p = _platform(v2.client)
    auth.create_user(p, "eve", "eve-password", "eve-team")
    eve = V2(v2.client, auth=("eve", "eve-password"))
    backup = f"/project-backups/{made['id']}"
    assert eve("GET", f"/projects/{ws}/backups", 404)["type"] == "NotFoundError"
    eve("POST", f"/projects/{ws}/backups", 404, {})
    eve("GET", backup, 404)
    eve("PATCH", f"{backup}/description", 404, {"description": "mine"})
    eve("POST", f"{backup}/export", 404, {"format": "zip"})
    eve("DELETE", f"{backup}/export", 404)
    eve("GET", f"{backup}/export/download", 404)
    eve("POST", f"{backup}/restore", 404, {"restoreConfiguration": True})
    eve("DELETE", backup, 404)
    token = auth.create_token(p, "eve", "ci")
    theirs = V2(v2.client, auth=None)
    r = theirs.client.get(f"/v2{backup}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404
    assert "description" not in v2("GET", backup)  # still there, unchanged
    anon = V2(v2.client, auth=None)
    unauth = anon("GET", backup, 401)
    assert unauth["type"] == "UnauthorizedError"
    mine = auth.create_token(p, "admin", "ci")
    for headers in ({"Authorization": f"Bearer {mine}"}, {"X-Access-Token": mine}):
        assert v2.client.get(f"/v2{backup}", headers=headers).status_code == 200
    assert v2.client.get(f"/v2{backup}", headers={"X-Access-Token": "nope"}).status_code == 401


# --- restore ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "path"), [
    ({}, ".databaseRestores"),
    ({"pathRestore": {"sourcePaths": ["config.json"], "targetRestorePath": "../escape"}},
     ".pathRestore.targetRestorePath"),
    ({"pathRestore": {"sourcePaths": ["config.json"], "targetRestorePath": "a/../../b"}},
     ".pathRestore.targetRestorePath"),
    ({"pathRestore": {"sourcePaths": ["config.json"], "targetRestorePath": "/etc"}},
     ".pathRestore.targetRestorePath"),
    ({"pathRestore": {"sourcePaths": ["config.json"], "targetRestorePath": ".",
                      "clearTargetPath": True}}, ".pathRestore.targetRestorePath"),
    ({"pathRestore": {"sourcePaths": ["../config.json"]}}, ".pathRestore.sourcePaths[0]"),
    ({"pathRestore": {"sourcePaths": ["nothing-here"]}}, ".pathRestore.sourcePaths[0]"),
    ({"databaseRestores": [{"databaseBackupDump": "nope/events",
                            "targetDatabaseId": "00000000-0000-4000-8000-000000000000"}]},
     ".databaseRestores[0].databaseBackupDump"),
])
def test_a_bad_restore_request_is_a_validation_error(v2: V2, workspace_id: str,
                                                     body: dict[str, Any], path: str) -> None:
    made = _backup(v2, workspace_id)
    bad = v2("POST", f"/project-backups/{made['id']}/restore", 400, body)
    assert bad["type"] == "ValidationError"
    assert path in [e["path"] for e in bad["validationErrors"]], bad
    assert "restore" not in v2("GET", f"/project-backups/{made['id']}")


def test_files_and_a_table_are_restored(v2: V2, api: Api, project: dict[str, str],
                                        settings: Any) -> None:
    made = _backup(v2, project["workspace"])
    files = settings.data_dir / "files"
    (files / "restored").mkdir(parents=True)
    (files / "restored" / "stale.txt").write_text("old")
    v2("POST", f"/project-backups/{made['id']}/restore", 204, {"pathRestore": {
        "sourcePaths": ["/data/"], "targetRestorePath": "restored", "clearTargetPath": True}})
    running = v2("GET", f"/project-backups/{made['id']}")["restore"]
    assert running["phase"] == "running"
    assert running["pathRestore"] == {"sourcePaths": ["/data/"], "targetRestorePath": "restored",
                                      "determinedTargetPath": "restored",
                                      "clearTargetPath": True}
    busy = v2("POST", f"/project-backups/{made['id']}/restore", 409,
              {"pathRestore": {"sourcePaths": ["config.json"]}})
    assert busy["type"] == "ConflictError"
    run_jobs(v2.client)
    assert v2("GET", f"/project-backups/{made['id']}")["restore"]["phase"] == "completed"
    restored = files / "restored" / "data" / project["destination"] / "events.parquet"
    assert restored.is_file()
    assert not (files / "restored" / "stale.txt").exists()
    other = api("/destinations/create", {
        "workspaceId": project["workspace"],
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": "copy.duckdb"}, "name": "copy"})
    v2("POST", f"/project-backups/{made['id']}/restore", 204, {"databaseRestores": [{
        "databaseBackupDump": f"{project['destination']}/events",
        "targetDatabaseId": other["destinationId"]}]})
    run_jobs(v2.client)
    shown = v2("GET", f"/project-backups/{made['id']}")["restore"]
    assert shown["phase"] == "completed", shown
    assert shown["databaseRestores"] == [{
        "databaseBackupDump": f"{project['destination']}/events",
        "targetDatabaseId": other["destinationId"]}]
    assert _checksum(files / "copy.duckdb") == _checksum(files / "w.duckdb")


# --- the round trip -------------------------------------------------------------------------

def _configuration(api: Api, ws: str) -> dict[str, Any]:
    return {"sources": api("/sources/list", {"workspaceId": ws})["sources"],
            "destinations": api("/destinations/list", {"workspaceId": ws})["destinations"],
            "connections": api("/connections/list", {"workspaceId": ws})["connections"]}


def _states(client: TestClient) -> list[tuple[str, str, Any]]:
    with _platform(client).db.session() as s:
        return [(st.connection_id, st.stream, st.record) for st in s.scalars(
            select(StreamState).order_by(StreamState.connection_id, StreamState.stream))]


def test_a_deleted_workspace_configuration_and_its_data_come_back(
    v2: V2, api: Api, project: dict[str, str], settings: Any,
) -> None:
    """"Deleting the workspace" here is deleting its sources, destinations and connections
    (through the API) and its destination table: the workspace row stays, as its backups
    would go with it (artifacts cascade with their workspace)."""
    ws = project["workspace"]
    pg = api("/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": definition_id(api, "source", "postgres"),
        "connectionConfiguration": {"host": PG_HOST, "port": PG_PORT, "database": "postgres",
                                    "username": PG_USER, "password": PG_PASSWORD,
                                    "ssl_mode": "disable"}, "name": "pg"})
    checked = api("/sources/check_connection", {"sourceId": pg["sourceId"]})["status"]
    before = _configuration(api, ws)
    states = _states(v2.client)
    assert states, "the sync left stream state"
    duck = settings.data_dir / "files" / "w.duckdb"
    rows_before = _checksum(duck)
    assert rows_before[0] == 300
    made = _backup(v2, ws, description="everything")

    for conn in before["connections"]:
        api("/connections/delete", {"connectionId": conn["connectionId"]}, 204)
    for src in before["sources"]:
        api("/sources/delete", {"sourceId": src["sourceId"]}, 204)
    for dst in before["destinations"]:
        api("/destinations/delete", {"destinationId": dst["destinationId"]}, 204)
    with _platform(v2.client).db.session() as s:
        for st in s.scalars(select(StreamState)):
            s.delete(st)
    with duckdb.connect(str(duck)) as con:
        con.execute('DROP TABLE "events"')
    assert _configuration(api, ws) == {"sources": [], "destinations": [], "connections": []}
    assert _states(v2.client) == []

    v2("POST", f"/project-backups/{made['id']}/restore", 204, {"restoreConfiguration": True})
    assert _configuration(api, ws) == before  # the configuration is back at once
    assert _states(v2.client) == states
    assert v2("GET", f"/project-backups/{made['id']}")["restore"]["phase"] == "running"
    run_jobs(v2.client)
    restore = v2("GET", f"/project-backups/{made['id']}")["restore"]
    assert restore["phase"] == "completed", restore
    assert restore["restoreConfiguration"] is True
    assert restore["databaseRestores"] == [{"databaseBackupDump": f"{project['destination']}"
                                            "/events",
                                            "targetDatabaseId": project["destination"]}]
    assert _checksum(duck) == rows_before

    # secrets: still masked on the way out, sealed at rest, and the same secret
    shown = api("/sources/get", {"sourceId": pg["sourceId"]})
    assert shown["connectionConfiguration"]["password"] == "**********"
    p = _platform(v2.client)
    with p.db.session() as s:
        stored = dict(s.get(Actor, pg["sourceId"]).config)
    assert PG_PASSWORD not in json.dumps(stored)
    assert unseal(stored, p.cipher)["password"] == PG_PASSWORD
    assert api("/sources/check_connection", {"sourceId": pg["sourceId"]})["status"] == checked
    # and the restored connection syncs again
    api("/connections/sync", {"connectionId": project["connection"]})
    run_jobs(v2.client)
    assert _checksum(duck) == rows_before


def test_a_failed_restore_shows_completed_with_the_reason(v2: V2, api: Api,
                                                          project: dict[str, str]) -> None:
    made = _backup(v2, project["workspace"])
    v2("POST", f"/project-backups/{made['id']}/restore", 204, {"databaseRestores": [{
        "databaseBackupDump": f"{project['destination']}/events",
        "targetDatabaseId": project["destination"]}]})
    api("/destinations/delete", {"destinationId": project["destination"]}, 204)
    run_jobs(v2.client)
    shown = v2("GET", f"/project-backups/{made['id']}")
    assert shown["restore"]["phase"] == "completed"
    assert "deleted" in shown["restore"]["error"]
    assert shown["deletable"] is True


def test_the_backup_paths_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v2/projects/{projectId}/backups", "/v2/project-backups/{projectBackupId}",
                 "/v2/project-backups/{projectBackupId}/export",
                 "/v2/project-backups/{projectBackupId}/restore"):
        assert path in paths
    body = client.get("/openapi.json").json()["components"]["schemas"]["RestoreRequest"]
    assert "Sluiceway extension" in body["properties"]["restoreConfiguration"]["description"]

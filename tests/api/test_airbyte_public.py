"""Airbyte's public API at ``/api/public/v1``, as the Airbyte SDK (Airflow's provider) and
Dagster's ``AirbyteWorkspace`` call it: the token exchange, authentication, every operation
in the public shapes, roles, foreign spaces and bad input."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from fastapi.testclient import TestClient

from sluiceway.api.airbyte_public.routes import duration
from sluiceway.services import auth, tokens
from tests.api.conftest import ADMIN, A, Api, E, V, definition_id
from tests.api.test_airbyte import _connection
from tests.helpers import wait_until

P = "/api/public/v1"
NONE = "00000000-0000-4000-8000-000000000000"  # a well-formed id of nothing
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _token(client: TestClient, client_id: str = ADMIN[0], secret: str = ADMIN[1],
           **kw: Any) -> dict[str, str]:
    r = client.post(f"{P}/applications/token",
                    json={"client_id": client_id, "client_secret": secret}, **kw)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _get(client: TestClient, path: str, headers: dict[str, str], status: int = 200,
         **kw: Any) -> Any:
    r = client.get(f"{P}{path}", headers=headers, **kw)
    assert r.status_code == status, (path, r.status_code, r.text)
    return r.json()


# --- the token exchange and authentication --------------------------------------------------

def test_client_credentials_as_dagster_sends_them_give_a_short_lived_bearer_token(
        client: TestClient, workspace_id: str) -> None:
    before = time.time()
    r = client.post(f"{P}/applications/token",
                    json={"client_id": ADMIN[0], "client_secret": ADMIN[1]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == tokens.ACCESS_SECONDS == 180
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert before + 170 <= claims["exp"] <= time.time() + 181
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert _get(client, f"/workspaces/{workspace_id}", headers)["workspaceId"] == workspace_id


def test_the_sdks_form_body_is_taken_also_where_its_default_token_url_lands(
        client: TestClient) -> None:
    """The SDK posts a form with grant_type; its default ``v1/applications/token`` joined to
    ``http://host/api/public`` is ``/api/v1/applications/token``."""
    form = {"grant_type": "client_credentials", "client_id": ADMIN[0],
            "client_secret": ADMIN[1]}
    for path in (f"{P}/applications/token", "/api/v1/applications/token"):
        r = client.post(path, data=form)
        assert r.status_code == 200, (path, r.text)
        token = r.json()["access_token"]
        assert client.get(f"{P}/workspaces", headers={
            "Authorization": f"Bearer {token}"}).status_code == 200


def test_an_api_token_is_a_client_secret_for_its_own_user(client: TestClient) -> None:
    p = client.app.state.platform  # type: ignore[attr-defined]
    swt = auth.create_token(p, ADMIN[0], "tool")
    jwt_token, _ = tokens.create(p, auth.caller_for(p, ADMIN[0]), "tool")
    for secret in (swt, jwt_token):
        assert client.get(f"{P}/workspaces", headers=_token(client, ADMIN[0], secret)
                          ).status_code == 200
    other = client.post(f"{P}/applications/token",
                        json={"client_id": "someone-else", "client_secret": swt})
    assert other.status_code == 401, other.text
    # an access token is not a client secret: renewing it endlessly would outlive the
    # revocation of the API token it was exchanged for
    access = _token(client, ADMIN[0], swt)["Authorization"].split()[1]
    renewed = client.post(f"{P}/applications/token",
                          json={"client_id": ADMIN[0], "client_secret": access})
    assert renewed.status_code == 401, renewed.text


def test_the_access_token_expires_and_dies_with_its_user(client: TestClient) -> None:
    p = client.app.state.platform  # type: ignore[attr-defined]
    admin = auth.caller_for(p, ADMIN[0])
    for seconds, answer in ((60, 200), (-1, 401)):  # expired a second ago: refused
        token = tokens.access_token(p, admin, seconds=seconds)
        assert client.get(f"{P}/workspaces", headers={
            "Authorization": f"Bearer {token}"}).status_code == answer, seconds
    forged = jwt.encode({"jti": "x", "sub": auth.caller_for(p, ADMIN[0]).user_id,
                         "iss": "sluiceway", "iat": int(time.time()),
                         "exp": int(time.time()) + 60, "typ": "access"},
                        "a guessed key of thirty-two bytes!", algorithm="HS256")
    assert client.get(f"{P}/workspaces", headers={
        "Authorization": f"Bearer {forged}"}).status_code == 401
    never = jwt.decode(_token(client)["Authorization"].split()[1],
                       options={"verify_signature": False})
    assert never["typ"] == "access"
    r = client.post("/api/v1/spaces", auth=ADMIN, json={
        "object": {"identifier": "gone", "name": "Gone", "purpose": "dev",
                   "termsAgreed": True},
        "users": [{"email": "leaving@team.example", "roles": ["ROLE_USER"]}],
        "dataEngines": []})
    assert r.status_code == 200, r.text
    leaving = tokens.access_token(p, auth.caller_for(p, "leaving@team.example"))
    assert client.get(f"{P}/workspaces", headers={
        "Authorization": f"Bearer {leaving}"}).status_code == 200
    from sqlalchemy import delete

    from sluiceway.store.models import Membership, User

    with p.db.claim() as s:
        uid = s.query(User).filter(User.username == "leaving@team.example").one().id
        s.execute(delete(Membership).where(Membership.user_id == uid))
        s.execute(delete(User).where(User.id == uid))
    assert client.get(f"{P}/workspaces", headers={
        "Authorization": f"Bearer {leaving}"}).status_code == 401


@pytest.mark.parametrize("secret", ["wrong-password", "swt_not-a-token",
                                    "eyJhbGciOiJIUzI1NiJ9.e30.bad"])
def test_wrong_credentials_answer_401(client: TestClient, secret: str) -> None:
    r = client.post(f"{P}/applications/token",
                    json={"client_id": ADMIN[0], "client_secret": secret})
    assert r.status_code == 401, r.text
    assert "client_secret" in r.json()["detail"]


def test_the_login_throttle_applies_to_the_token_exchange(client: TestClient) -> None:
    codes = [client.post(f"{P}/applications/token", json={
        "client_id": ADMIN[0], "client_secret": f"guess-{i}"}).status_code for i in range(8)]
    assert codes[0] == 401, codes
    assert codes[-1] == 429, codes
    right = client.post(f"{P}/applications/token",
                        json={"client_id": ADMIN[0], "client_secret": ADMIN[1]})
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 0


@pytest.mark.parametrize(("body", "field"), [
    ({"client_id": ADMIN[0]}, "client_secret"),
    ({"client_secret": ADMIN[1]}, "client_id"),
    ({"client_id": ADMIN[0], "client_secret": ADMIN[1], "grant-type": "password"},
     "grant-type"),
    ({"client_id": 7, "client_secret": ADMIN[1]}, "client_id"),
])
def test_a_bad_token_request_names_the_field(client: TestClient, body: dict[str, Any],
                                             field: str) -> None:
    r = client.post(f"{P}/applications/token", json=body)
    assert r.status_code == 422, r.text
    assert field in {e["propertyPath"] for e in r.json()["validationErrors"]}, r.json()


def test_a_body_that_is_no_object_is_refused(client: TestClient) -> None:
    r = client.post(f"{P}/applications/token", content=b"[1]",
                    headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["validationErrors"][0]["propertyPath"] == "body"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/1"), ("DELETE", "/jobs/1"),
    ("GET", "/connections"), ("GET", f"/connections/{NONE}"), ("GET", "/workspaces"),
    ("GET", f"/workspaces/{NONE}"), ("GET", f"/sources/{NONE}"),
    ("GET", f"/destinations/{NONE}")])
def test_no_credentials_no_answer(client: TestClient, method: str, path: str) -> None:
    """Airflow's hook calls without credentials when none are configured: refused."""
    r = client.request(method, f"{P}{path}", json={"connectionId": NONE, "jobType": "sync"})
    assert r.status_code == 401, r.text
    assert "authentication required" in r.json()["detail"]
    bad = client.request(method, f"{P}{path}", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401


def test_health_needs_no_credentials(client: TestClient) -> None:
    r = client.get(f"{P}/health")
    assert r.status_code == 200
    assert r.text == "Successful operation"


def test_basic_authentication_works_too(client: TestClient) -> None:
    assert client.get(f"{P}/workspaces", auth=ADMIN).status_code == 200


# --- jobs -----------------------------------------------------------------------------------

def test_jobs_start_read_list_and_cancel(api: Api, client: TestClient,
                                         workspace_id: str) -> None:
    h = _token(client)
    cid = _connection(api, workspace_id)["connectionId"]
    r = client.post(f"{P}/jobs", headers=h, json={"connectionId": cid, "jobType": "sync"})
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["jobType"] == "sync"
    assert job["status"] == "pending"
    assert job["connectionId"] == cid
    assert isinstance(job["jobId"], int)
    assert ISO.match(job["startTime"])
    assert ISO.match(job["lastUpdatedAt"])
    assert re.fullmatch(r"PT(\d+H)?(\d+M)?(\d+S)?", job["duration"])
    assert (job["bytesSynced"], job["rowsSynced"]) == (0, 0)
    assert _get(client, f"/jobs/{job['jobId']}", h) == job | {
        "duration": _get(client, f"/jobs/{job['jobId']}", h)["duration"]}
    # config API view of the same job
    assert api("/jobs/get", {"id": job["jobId"]})["job"]["configId"] == cid
    cancelled = client.delete(f"{P}/jobs/{job['jobId']}", headers=h)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    reset = client.post(f"{P}/jobs", headers=h, json={"connectionId": cid, "jobType": "reset"})
    assert reset.status_code == 200, reset.text
    assert reset.json()["jobType"] == "reset", reset.text
    listed = _get(client, "/jobs", h, params={"connectionId": cid})
    assert [j["jobId"] for j in listed["data"]] == [reset.json()["jobId"], job["jobId"]]
    assert "next" not in listed
    assert "previous" not in listed
    only_sync = _get(client, "/jobs", h, params={"connectionId": cid, "jobType": "sync"})
    assert [j["jobId"] for j in only_sync["data"]] == [job["jobId"]]
    assert [j["jobId"] for j in _get(client, "/jobs", h, params={
        "connectionId": cid, "status": "cancelled"})["data"]] == [job["jobId"]]
    oldest = _get(client, "/jobs", h, params={"connectionId": cid, "orderBy": "createdAt|ASC"})
    assert [j["jobId"] for j in oldest["data"]] == [job["jobId"], reset.json()["jobId"]]
    assert _get(client, "/jobs", h, params={"connectionId": cid,
                                            "createdAtStart": "2999-01-01T00:00:00Z"}
                )["data"] == []
    everywhere = _get(client, "/jobs", h, params={"workspaceIds": workspace_id})
    assert {j["jobId"] for j in everywhere["data"]} == {job["jobId"], reset.json()["jobId"]}


def test_the_job_list_pages_with_next_and_previous_links(api: Api, client: TestClient,
                                                         workspace_id: str) -> None:
    """Dagster follows ``next`` by its query until there is none."""
    h = _token(client)
    cid = _connection(api, workspace_id)["connectionId"]
    made = []
    for _ in range(3):
        made.append(client.post(f"{P}/jobs", headers=h, json={
            "connectionId": cid, "jobType": "sync"}).json()["jobId"])
        assert client.delete(f"{P}/jobs/{made[-1]}", headers=h).status_code == 200
    seen: list[int] = []
    params: dict[str, Any] = {"connectionId": cid, "limit": 2}
    pages = 0
    while True:
        page = _get(client, "/jobs", h, params=params)
        pages += 1
        seen += [j["jobId"] for j in page["data"]]
        if "next" not in page:
            break
        params.update({k: v[0] for k, v in parse_qs(urlparse(page["next"]).query).items()})
    assert (seen, pages) == (made[::-1], 2)
    second = _get(client, "/jobs", h, params={"connectionId": cid, "limit": 2, "offset": 2})
    assert parse_qs(urlparse(second["previous"]).query)["offset"] == ["0"]


@pytest.mark.parametrize(("body", "field"), [
    ({"jobType": "sync"}, "connectionId"),
    ({"connectionId": "CID"}, "jobType"),
    ({"connectionId": "CID", "jobType": "sometimes"}, "jobType"),
    ({"connectionId": "CID", "jobType": "refresh"}, "jobType"),
    ({"connectionId": "not-an-id", "jobType": "sync"}, "connectionId"),
])
def test_a_bad_job_request_names_the_field(api: Api, client: TestClient, workspace_id: str,
                                           body: dict[str, Any], field: str) -> None:
    cid = _connection(api, workspace_id)["connectionId"]
    sent = {k: (cid if v == "CID" else v) for k, v in body.items()}
    r = client.post(f"{P}/jobs", headers=_token(client), json=sent)
    assert r.status_code == 422, r.text
    assert field in {e["propertyPath"] for e in r.json()["validationErrors"]}, r.json()


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"offset": -1}, "offset"),
    ({"jobType": "weekly"}, "jobType"), ({"status": "asleep"}, "status"),
    ({"orderBy": "name|DESC"}, "orderBy"), ({"createdAtStart": "yesterday"}, "createdAtStart"),
])
def test_a_bad_job_list_names_the_parameter(client: TestClient, params: dict[str, Any],
                                            field: str) -> None:
    r = client.get(f"{P}/jobs", headers=_token(client), params=params)
    assert r.status_code == 422, r.text
    paths = {e["propertyPath"] for e in r.json()["validationErrors"]}
    assert any(p.endswith(field) for p in paths), paths


def test_missing_ids_are_not_found(client: TestClient) -> None:
    h = _token(client)
    for path in ("/jobs/987654", f"/connections/{NONE}", f"/workspaces/{NONE}",
                 f"/sources/{NONE}", f"/destinations/{NONE}"):
        body = _get(client, path, h, 404)
        assert body["status"] == 404, body
        assert body["detail"], body
    assert client.delete(f"{P}/jobs/987654", headers=h).status_code == 404
    assert client.post(f"{P}/jobs", headers=h, json={
        "connectionId": NONE, "jobType": "sync"}).status_code == 404
    assert _get(client, "/jobs", h, 404, params={"connectionId": NONE})["status"] == 404


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/jobs/abc", {}, "jobId"), (f"/jobs/{2**64}", {}, "jobId"),
    ("/connections/nope", {}, "connectionId"), ("/workspaces/nope", {}, "workspaceId"),
    ("/sources/nope", {}, "sourceId"), ("/destinations/nope", {}, "destinationId"),
    ("/jobs", {"connectionId": "nope"}, "connectionId"),
    ("/connections", {"workspaceIds": "nope"}, "workspaceIds"),
    ("/workspaces", {"workspaceIds": "nope"}, "workspaceIds"),
])
def test_a_malformed_id_names_the_field(client: TestClient, path: str,
                                        params: dict[str, Any], field: str) -> None:
    bad = _get(client, path, _token(client), 422, params=params)
    paths = [e["propertyPath"] for e in bad["validationErrors"]]
    assert any(field in p for p in paths), paths


# --- connections, workspaces, sources and destinations --------------------------------------

def test_connections_list_and_get_in_the_public_shape(api: Api, client: TestClient,
                                                      workspace_id: str) -> None:
    h = _token(client)
    first = _connection(api, workspace_id, name="first")
    second = _connection(api, workspace_id, name="second",
                         scheduleType="cron", scheduleData={"cron": {
                             "cronExpression": "0 6 * * *", "cronTimeZone": "UTC"}})
    one = _get(client, f"/connections/{first['connectionId']}", h)
    assert one["name"] == "first"
    assert one["workspaceId"] == workspace_id
    assert (one["sourceId"], one["destinationId"]) == (first["sourceId"],
                                                       first["destinationId"])
    assert one["status"] == "active"
    assert one["schedule"] == {"scheduleType": "manual"}
    assert one["tags"] == []
    assert isinstance(one["createdAt"], int)
    streams = one["configurations"]["streams"]
    assert streams
    assert all(s["syncMode"] == "full_refresh_overwrite" for s in streams)
    assert {s["name"] for s in streams} == {
        s["stream"]["name"] for s in first["syncCatalog"]["streams"]}
    assert _get(client, f"/connections/{second['connectionId']}", h)["schedule"] == {
        "scheduleType": "cron", "cronExpression": "0 6 * * *"}
    page = _get(client, "/connections", h, params={"workspaceIds": workspace_id, "limit": 1})
    assert [c["name"] for c in page["data"]] == ["first"]
    rest = _get(client, "/connections", h, params=dict(parse_qs(urlparse(
        page["next"]).query)))
    assert [c["name"] for c in rest["data"]] == ["second"]
    assert "next" not in rest
    assert [c["name"] for c in _get(client, "/connections", h)["data"]] == ["first", "second"]


def test_workspaces_get_and_list(client: TestClient, workspace_id: str) -> None:
    h = _token(client)
    ws = _get(client, f"/workspaces/{workspace_id}", h)
    assert ws == {"workspaceId": workspace_id, "name": "Default Workspace", "dataResidency": "auto",
                  "notifications": {}}
    assert _get(client, "/workspaces", h)["data"] == [ws]
    assert _get(client, "/workspaces", h, params={"workspaceIds": workspace_id})["data"] == [ws]


def test_sources_and_destinations_mask_secrets_as_the_config_api_does(
        api: Api, client: TestClient, workspace_id: str) -> None:
    h = _token(client)
    made = api("/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", "postgres"),
        "connectionConfiguration": {"host": "127.0.0.1", "port": 5432, "database": "db",
                                    "username": "u", "password": "very-secret-pw",
                                    "schema": "public"}, "name": "warehouse"})
    got = _get(client, f"/destinations/{made['destinationId']}", h)
    assert "very-secret-pw" not in str(got)
    assert got["configuration"] == api("/destinations/get", {
        "destinationId": made["destinationId"]})["connectionConfiguration"]
    assert got["configuration"]["database"] == "db"  # what Dagster reads
    assert (got["name"], got["destinationType"], got["workspaceId"]) == (
        "warehouse", "postgres", workspace_id)
    assert isinstance(got["createdAt"], int)
    assert got["definitionId"]
    conn = _connection(api, workspace_id)
    src = _get(client, f"/sources/{conn['sourceId']}", h)
    assert (src["sourceId"], src["sourceType"]) == (conn["sourceId"], "sample")
    assert src["configuration"]["rows"] == 50


# --- roles and spaces -----------------------------------------------------------------------

def test_roles_and_foreign_spaces(api: Api, client: TestClient, workspace_id: str,
                                  team: dict[str, dict[str, str]]) -> None:
    """A viewer reads and may not start or cancel; an editor may; the default space's
    objects do not exist for the team's members."""
    ws = client.post("/api/v1/workspaces/get_by_slug", auth=ADMIN,
                     json={"slug": "team-a"}).json()["workspaceId"]
    cid = _connection(api, ws)["connectionId"]
    foreign = _connection(api, workspace_id)
    r = client.post(f"{P}/jobs", headers=team[V], json={"connectionId": cid,
                                                       "jobType": "sync"})
    assert r.status_code == 403, r.text
    assert r.json()["title"] == "Forbidden", r.text
    job = client.post(f"{P}/jobs", headers=team[E], json={"connectionId": cid,
                                                         "jobType": "sync"}).json()
    assert _get(client, f"/jobs/{job['jobId']}", team[V])["status"] == "pending"
    assert client.delete(f"{P}/jobs/{job['jobId']}", headers=team[V]).status_code == 403
    assert _get(client, f"/jobs/{job['jobId']}", team[V])["status"] == "pending"
    assert client.delete(f"{P}/jobs/{job['jobId']}", headers=team[E]).status_code == 200
    assert [w["workspaceId"] for w in _get(client, "/workspaces", team[A])["data"]] == [ws]
    theirs = client.post(f"{P}/jobs", auth=ADMIN, json={
        "connectionId": foreign["connectionId"], "jobType": "sync"}).json()
    for path in (f"/connections/{foreign['connectionId']}", f"/workspaces/{workspace_id}",
                 f"/destinations/{foreign['destinationId']}",
                 f"/sources/{foreign['sourceId']}", f"/jobs/{theirs['jobId']}"):
        assert _get(client, path, team[A], 404)["status"] == 404
    assert client.post(f"{P}/jobs", headers=team[A], json={
        "connectionId": foreign["connectionId"], "jobType": "sync"}).status_code == 404
    assert client.delete(f"{P}/jobs/{theirs['jobId']}", headers=team[A]).status_code == 404
    assert _get(client, "/connections", team[A], 404, params={"workspaceIds": workspace_id})
    assert _get(client, "/jobs", team[A], 404, params={"workspaceIds": workspace_id})
    assert [j["jobId"] for j in _get(client, "/jobs", team[A])["data"]] == [job["jobId"]]
    assert [c["connectionId"] for c in _get(client, "/connections", team[V])["data"]] == [cid]


def test_the_sync_is_audited_and_the_exchange_stores_no_token(
        client: TestClient, api: Api, workspace_id: str) -> None:
    from sqlalchemy import select

    from sluiceway.store.models import AuditEntry

    h = _token(client)
    cid = _connection(api, workspace_id)["connectionId"]
    assert client.post(f"{P}/jobs", headers=h, json={
        "connectionId": cid, "jobType": "sync"}).status_code == 200
    p = client.app.state.platform  # type: ignore[attr-defined]
    with p.db.session() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry))]
    assert "connection.sync" in actions, actions
    assert "token.create" not in actions, actions
    assert tokens.list_own(p, auth.caller_for(p, ADMIN[0])) == []


def test_durations_are_iso_8601() -> None:
    assert duration(0) == "PT0S"
    assert duration(59.9) == "PT59S"
    assert duration(3600) == "PT1H"
    assert duration(8 * 3600 + 6 * 60 + 12) == "PT8H6M12S"
    assert duration(-3) == "PT0S"


# --- the released SDK against a live server -------------------------------------------------

@pytest.fixture
def live(tmp_path: Path, metadata_url: str) -> Iterator[Any]:
    from tests.e2e.server import Server

    srv = Server(tmp_path, metadata_url)
    try:
        yield srv
    finally:
        srv.stop()


def test_the_airbyte_sdk_runs_and_cancels_syncs_with_client_credentials(live: Any) -> None:
    """What Airflow's AirbyteHook does: AirbyteAPI(server_url=http://host/api/public/v1
    (the SDK's paths are ``/jobs``...), client credentials with the default token URL
    ``v1/applications/token``, which the SDK joins to that URL), create_job, get_job until
    it ends, cancel_job."""
    import airbyte_api
    from airbyte_api import api as sdk_api
    from airbyte_api import models

    from tests.e2e.server import AUTH

    c = live.client
    ws = c.post("/workspaces/get_by_slug", json={"slug": "default"}).json()["workspaceId"]
    defs = {(k, d["dockerRepository"]): d[f"{k}DefinitionId"] for k in ("source", "destination")
            for d in c.post(f"/{k}_definitions/list").json()[f"{k}Definitions"]}
    src = c.post("/sources/create", json={
        "workspaceId": ws, "sourceDefinitionId": defs["source", "sample"],
        "connectionConfiguration": {"rows": 25}, "name": "events"}).json()["sourceId"]
    dst = c.post("/destinations/create", json={
        "workspaceId": ws, "destinationDefinitionId": defs["destination", "duckdb"],
        "connectionConfiguration": {"path": "lake.duckdb"}, "name": "lake"}).json()
    cid = c.post("/connections/create", json={
        "sourceId": src, "destinationId": dst["destinationId"], "syncMode": "full_refresh",
        "status": "active"}).json()["connectionId"]
    # the client secret: an API token of the user (the SDK keeps access tokens per process
    # by client id and secret, so the password, the same for every server here, would reuse
    # the token of an earlier test's server)
    made_token = c.post("/tokens", json={"name": "airflow"})
    assert made_token.status_code == 200, made_token.text
    sdk = airbyte_api.AirbyteAPI(
        server_url=f"http://127.0.0.1:{live.port}/api/public/v1",
        security=models.Security(client_credentials=models.SchemeClientCredentials(
            client_id=AUTH[0], client_secret=made_token.json()["access_token"],
            token_url="v1/applications/token")))
    made = sdk.jobs.create_job(request=models.JobCreateRequest(
        connection_id=cid, job_type=models.JobTypeEnum.SYNC)).job_response
    assert made is not None
    assert made.connection_id == cid

    def finished() -> bool:
        got = sdk.jobs.get_job(request=sdk_api.GetJobRequest(job_id=made.job_id))
        return got.job_response is not None and got.job_response.status in (
            models.JobStatusEnum.SUCCEEDED, models.JobStatusEnum.FAILED)

    wait_until(finished, 120, "the sync")
    done = sdk.jobs.get_job(request=sdk_api.GetJobRequest(job_id=made.job_id)).job_response
    assert done is not None
    assert done.status == models.JobStatusEnum.SUCCEEDED, done
    assert done.rows_synced == 25
    assert (done.bytes_synced or 0) > 0
    assert done.duration is not None
    assert done.duration.startswith("PT")
    again = sdk.jobs.create_job(request=models.JobCreateRequest(
        connection_id=cid, job_type=models.JobTypeEnum.SYNC)).job_response
    assert again is not None
    gone = sdk.jobs.cancel_job(request=sdk_api.CancelJobRequest(job_id=again.job_id))
    assert gone.job_response is not None
    # a job still queued ends at once; one a worker claimed first (it is idle here, so it
    # may) is answered as running with its cancel requested, and ends when the worker next
    # looks, unless its 25 rows were all written before that
    final = {models.JobStatusEnum.CANCELLED, models.JobStatusEnum.SUCCEEDED,
             models.JobStatusEnum.FAILED}

    def status() -> models.JobStatusEnum | None:
        got = sdk.jobs.get_job(request=sdk_api.GetJobRequest(job_id=again.job_id))
        return got.job_response.status if got.job_response is not None else None

    if gone.job_response.status == models.JobStatusEnum.CANCELLED:
        assert status() == models.JobStatusEnum.CANCELLED
    else:
        assert gone.job_response.status == models.JobStatusEnum.RUNNING
        wait_until(lambda: status() in final, 120, "the cancelled sync's end")
        assert status() in (models.JobStatusEnum.CANCELLED, models.JobStatusEnum.SUCCEEDED)
    listed = sdk.jobs.list_jobs(request=sdk_api.ListJobsRequest(connection_id=cid))
    assert listed.jobs_response is not None
    assert [j.job_id for j in listed.jobs_response.data] == [again.job_id, made.job_id]
    # without credentials (Airflow's hook when none are configured): refused
    bare = airbyte_api.AirbyteAPI(server_url=f"http://127.0.0.1:{live.port}/api/public/v1")
    with pytest.raises(airbyte_api.errors.SDKError) as refused:
        bare.jobs.get_job(request=sdk_api.GetJobRequest(job_id=made.job_id))
    assert refused.value.status_code == 401

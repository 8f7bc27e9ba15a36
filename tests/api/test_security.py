"""Authentication, workspace isolation and secrets over the API."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.secrets import Cipher, unseal
from sluiceway.services import auth
from sluiceway.store.models import Actor
from tests.api.conftest import Api, definition_id

PASSWORD = "s3cr3t-Pa55word!"  # noqa: S105 - a test value


def _pg_source(api: Api, ws: str, port: int = 5432, password: str = PASSWORD) -> Any:
    return api("/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": definition_id(api, "source", "postgres"),
        "connectionConfiguration": {"host": "127.0.0.1", "port": port, "database": "postgres",
                                    "username": "postgres", "password": password,
                                    "ssl_mode": "disable"},
        "name": "pg"})


def _stored_config(client: TestClient, actor_id: str) -> dict[str, Any]:
    platform = client.app.state.platform  # type: ignore[attr-defined]
    with platform.db.session() as s:
        return dict(s.scalars(select(Actor).where(Actor.id == actor_id)).one().config)


def test_a_secret_is_masked_in_responses_and_encrypted_at_rest(api: Api,
                                                               workspace_id: str) -> None:
    src = _pg_source(api, workspace_id)
    assert src["connectionConfiguration"]["password"] == "**********"
    for path, body in [("/sources/get", {"sourceId": src["sourceId"]}),
                       ("/sources/list", {"workspaceId": workspace_id})]:
        assert PASSWORD not in json.dumps(api(path, body))
    stored = _stored_config(api.client, src["sourceId"])
    assert PASSWORD not in json.dumps(stored)
    assert "$sealed" in stored["password"]
    platform = api.client.app.state.platform  # type: ignore[attr-defined]
    assert unseal(stored, platform.cipher)["password"] == PASSWORD


def test_an_update_that_sends_the_mask_back_keeps_the_stored_secret(api: Api,
                                                                    workspace_id: str) -> None:
    src = _pg_source(api, workspace_id)
    config = dict(src["connectionConfiguration"], schemas=["public"])
    api("/sources/update", {"sourceId": src["sourceId"], "name": "pg2",
                            "connectionConfiguration": config})
    platform = api.client.app.state.platform  # type: ignore[attr-defined]
    plain = unseal(_stored_config(api.client, src["sourceId"]), platform.cipher)
    assert plain["password"] == PASSWORD
    assert plain["schemas"] == ["public"]
    config["password"] = "a-new-one"  # noqa: S105
    api("/sources/update", {"sourceId": src["sourceId"], "name": "pg2",
                            "connectionConfiguration": config})
    plain = unseal(_stored_config(api.client, src["sourceId"]), Cipher.from_settings(
        platform.settings))
    assert plain["password"] == "a-new-one"


def test_a_stored_secret_is_never_sent_to_a_new_host_on_the_mask(
    api: Api, workspace_id: str,
) -> None:
    """Changing where the source connects (host, port, database, user) needs the secret typed
    again: the mask alone is refused with 422 naming the secret, and nothing is stored."""
    src = _pg_source(api, workspace_id)
    for change in ({"host": "localhost"}, {"port": 6543}, {"database": "other"},
                   {"username": "eve"}, {"ssl_mode": "allow"}):
        config = dict(src["connectionConfiguration"], **change)
        bad = api("/sources/update", {"sourceId": src["sourceId"], "name": "pg2",
                                      "connectionConfiguration": config}, 422)
        assert [e["propertyPath"] for e in bad["validationErrors"]] == ["password"], bad
        assert next(iter(change)) in bad["validationErrors"][0]["message"]
    platform = api.client.app.state.platform  # type: ignore[attr-defined]
    plain = unseal(_stored_config(api.client, src["sourceId"]), platform.cipher)
    assert plain["host"] == "127.0.0.1"
    assert plain["password"] == PASSWORD
    got = api("/sources/get", {"sourceId": src["sourceId"]})
    assert got["name"] == "pg"


def test_a_mask_with_no_stored_secret_is_refused(api: Api, workspace_id: str) -> None:
    bad = api("/sources/create", {
        "workspaceId": workspace_id,
        "sourceDefinitionId": definition_id(api, "source", "postgres"),
        "connectionConfiguration": {"host": "h", "port": 5432, "database": "d",
                                    "username": "u", "password": "**********"},
        "name": "pg"}, 422)
    assert bad["validationErrors"][0]["propertyPath"].endswith("password")


def test_a_failed_check_reports_why_without_the_secret(api: Api, workspace_id: str) -> None:
    src = _pg_source(api, workspace_id, port=1, password="hunter2-secret")
    got = api("/sources/check_connection", {"sourceId": src["sourceId"]})
    assert got["status"] == "failed"
    assert "127.0.0.1:1" in got["message"]
    assert "hunter2-secret" not in got["message"]


def test_an_invalid_secret_value_is_not_echoed(api: Api, workspace_id: str) -> None:
    bad = api("/sources/create", {
        "workspaceId": workspace_id,
        "sourceDefinitionId": definition_id(api, "source", "postgres"),
        "connectionConfiguration": {"host": "h", "port": 5432, "database": "d",
                                    "username": "u", "password": 123456789},
        "name": "pg"}, 422)
    assert "123456789" not in json.dumps(bad)


def test_a_bearer_token_authenticates(api: Api, workspace_id: str) -> None:
    platform = api.client.app.state.platform  # type: ignore[attr-defined]
    token = auth.create_token(platform, "admin", "ci")
    r = api.client.post("/api/v1/workspaces/get", json={"workspaceId": workspace_id},
                        headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    from sluiceway.store.models import ApiToken

    with platform.db.session() as s:
        stored = [t.token_hash for t in s.scalars(select(ApiToken))]
    assert token not in stored
    assert len(stored) == 1


def test_an_object_of_another_workspace_answers_404(api: Api, workspace_id: str) -> None:
    src = _pg_source(api, workspace_id)
    platform = api.client.app.state.platform  # type: ignore[attr-defined]
    auth.create_user(platform, "mallory", "mallory-password", "other-team")
    other = Api(api.client, api.contract, auth=("mallory", "mallory-password"))
    theirs = other("/workspaces/get_by_slug", {"slug": "other-team"})["workspaceId"]
    assert theirs != workspace_id
    other("/sources/get", {"sourceId": src["sourceId"]}, 404)
    other("/sources/update", {"sourceId": src["sourceId"], "name": "x",
                              "connectionConfiguration": {}}, 404)
    other("/sources/delete", {"sourceId": src["sourceId"]}, 404)
    other("/sources/list", {"workspaceId": workspace_id}, 404)
    other("/workspaces/get", {"workspaceId": workspace_id}, 404)
    other("/workspaces/get_by_slug", {"slug": "default"}, 404)
    # a source in their own workspace cannot be wired to our destination
    dst = api("/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": "x.duckdb"}})
    other("/destinations/get", {"destinationId": dst["destinationId"]}, 404)
    conn = api("/connections/create", {
        "sourceId": src["sourceId"], "destinationId": dst["destinationId"],
        "syncMode": "full_refresh", "status": "inactive", "syncSchema": {"streams": []}})
    job = api("/connections/sync", {"connectionId": conn["connectionId"]})["job"]
    other("/connections/get", {"connectionId": conn["connectionId"]}, 404)
    other("/connections/sync", {"connectionId": conn["connectionId"]}, 404)
    other("/jobs/get", {"id": job["id"]}, 404)
    other("/jobs/cancel", {"id": job["id"]}, 404)
    other("/jobs/list", {"configType": "sync", "configId": conn["connectionId"]}, 404)
    other("/web_backend/connections/get", {"connectionId": conn["connectionId"]}, 404)
    assert api("/jobs/get", {"id": job["id"]})["job"]["status"] == "pending"
    # and ours is untouched
    assert api("/sources/get", {"sourceId": src["sourceId"]})["name"] == "pg"


def _archive(client: TestClient, auth_: tuple[str, str]) -> dict[str, Any]:
    """The files of ``/deployment/export`` (asked with the trailing slash Prefect sends)."""
    r = client.post("/api/v1/deployment/export/", auth=auth_, follow_redirects=False)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-gzip"
    with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as archive:
        return {m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
                for m in archive.getmembers()}


def test_the_deployment_export_holds_the_callers_configuration_masked(
        api: Api, workspace_id: str) -> None:
    src = _pg_source(api, workspace_id)
    dst = api("/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": "x.duckdb"}, "name": "lake"})
    conn = api("/connections/create", {
        "sourceId": src["sourceId"], "destinationId": dst["destinationId"],
        "syncMode": "full_refresh", "status": "inactive", "syncSchema": {"streams": []}})
    platform = api.client.app.state.platform  # type: ignore[attr-defined]
    auth.create_user(platform, "mallory", "mallory-password", "other-team")
    files = _archive(api.client, api.auth)
    assert set(files) == {"VERSION", "airbyte_config/WORKSPACES.json",
                          "airbyte_config/SOURCES.json", "airbyte_config/DESTINATIONS.json",
                          "airbyte_config/CONNECTIONS.json"}
    sources = json.loads(files["airbyte_config/SOURCES.json"])
    assert [s["sourceId"] for s in sources] == [src["sourceId"]]
    assert sources[0]["connectionConfiguration"]["password"] == src[
        "connectionConfiguration"]["password"] != PASSWORD  # masked as sources/get shows it
    assert [d["destinationId"] for d in json.loads(files["airbyte_config/DESTINATIONS.json"])
            ] == [dst["destinationId"]]
    assert [c["connectionId"] for c in json.loads(files["airbyte_config/CONNECTIONS.json"])
            ] == [conn["connectionId"]]
    assert workspace_id in {w["workspaceId"]
                            for w in json.loads(files["airbyte_config/WORKSPACES.json"])}
    assert not any(PASSWORD.encode() in body for body in files.values())
    # another workspace's user finds none of it in theirs
    theirs = _archive(api.client, ("mallory", "mallory-password"))
    for body in theirs.values():
        for marker in (workspace_id, src["sourceId"], dst["destinationId"],
                       conn["connectionId"]):
            assert marker.encode() not in body
    assert json.loads(theirs["airbyte_config/SOURCES.json"]) == []
    assert api.client.post("/api/v1/deployment/export").status_code == 401

"""Export (#45-46) and import (#47) of configurations: NDJSON, JSON and multipart; dry runs;
variables checked on request; all or nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN
from tests.api.test_alumio_face import _bearer, _error

DI = "/api/v1/di"
NDJSON = {"Content-Type": "application/x-ndjson"}
RENAME = {"type": "transformer", "identifier": "rename-fields", "name": "Rename",
          "object": {"prototype": "rename", "parameters": {"mapping": {"nm": "name"}}}}
ROUTE = {"type": "route-configuration", "identifier": "orders", "name": "Orders",
         "object": {"prototype": "route", "parameters": {
             "incoming": "orders-in", "outgoing": "orders-out",
             "transformers": ["rename-fields"]}}}
INCOMING = {"type": "incoming-configuration", "identifier": "orders-in", "name": "Orders in",
            "object": {"prototype": "postgres", "parameters": {
                "stream": "orders", "configuration": {
                    "host": "db.example", "port": "${PG_PORT}", "database": "shop",
                    "username": "sync", "password": "pg-secret-value"}}}}


@pytest.fixture
def other(client: TestClient) -> str:
    r = client.put("/api/v1/spaces", auth=ADMIN,
                   json={"identifier": "other", "name": "Other", "purpose": "test"})
    assert r.status_code == 200, r.text
    return "other"


def _lines(*items: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(i).encode() + b"\n" for i in items)


def _import(client: TestClient, body: bytes, space: str, status: int = 201,
            **params: str) -> Any:
    r = client.post(f"{DI}/import", auth=ADMIN, content=body, headers=NDJSON,
                    params={"space": space, **params})
    assert r.status_code == status, r.text
    return r.json()


def _count(client: TestClient, space: str) -> int:
    r = client.get(f"{DI}/configurations", auth=ADMIN, params={"space": space})
    return int(r.json()["metadata"]["totalCount"])


def test_an_export_imports_into_another_space_then_is_unchanged(
        client: TestClient, other: str) -> None:
    for body in (RENAME, ROUTE):
        assert client.post(f"{DI}/configurations", auth=ADMIN, json=body).status_code == 200
    r = client.post(f"{DI}/export", auth=ADMIN, json={
        "objects": [{"type": "route-configuration", "identifier": "orders"},
                    {"type": "transformer", "identifier": "rename-fields"}],
        "clientTime": "1733500000"})
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert "configurations-1733500000.ndjson" in r.headers["content-disposition"]
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [x["identifier"] for x in lines] == ["orders", "rename-fields"]
    assert lines[0]["$schema"] == "https://di.schema.alumio.com/register.configuration.json"
    assert (lines[0]["object"], lines[0]["owner"], lines[0]["disabled"]) == (
        ROUTE["object"], None, False)

    result = _import(client, r.content, other)
    assert result["valid"] is True
    assert [(x["decision"], x["action"]) for x in result["results"]] == [
        ("create", "created"), ("create", "created")]
    route = result["results"][0]
    assert {(x["node"]["type"], x["node"]["identifier"]) for x in route["relationships"]} == {
        ("incoming-configuration", "orders-in"), ("outgoing-configuration", "orders-out"),
        ("transformer", "rename-fields")}
    assert _count(client, other) == 2
    again = _import(client, r.content, other)
    assert [(x["decision"], x["action"]) for x in again["results"]] == [
        ("unchanged", "skipped"), ("unchanged", "skipped")]
    changed = dict(lines[1], name="Renamer")
    assert _import(client, _lines(changed), other)["results"][0]["action"] == "updated"
    history = client.get(f"{DI}/configurations/transformer/rename-fields/history",
                         auth=ADMIN, params={"space": other}).json()
    assert history["metadata"]["totalCount"] == 2
    by_type = client.post(f"{DI}/export/transformer", auth=ADMIN, params={"space": other},
                          json={"identifiers": ["rename-fields"]})
    assert json.loads(by_type.text)["name"] == "Renamer"
    _error(client.post(f"{DI}/export", auth=ADMIN, json={
        "objects": [{"type": "transformer", "identifier": "gone"}]}), 404)


def test_one_bad_line_imports_nothing_and_a_dry_run_writes_nothing(
        client: TestClient, other: str) -> None:
    bad = dict(RENAME, identifier="broken", object={"prototype": "rename", "parameters": {}})
    body = _lines(RENAME) + b"{not json\n" + _lines(bad)
    err = _import(client, body, other, 400)
    assert err["status"] == "400"
    results = err["context"]["results"]
    assert [x["decision"] for x in results] == ["create", "invalid", "invalid"]
    assert results[1]["violations"][0]["title"].startswith("line 2 is not JSON")
    assert results[2]["violations"][0]["propertyPath"] == "object.parameters.mapping"
    assert "results.2.object.parameters.mapping" in [
        v["propertyPath"] for v in err["violations"]]
    assert _count(client, other) == 0  # all or nothing

    dry = _import(client, _lines(RENAME, ROUTE), other, **{"dry-run": "true"})
    assert dry["valid"] is True
    assert [(x["decision"], x["action"]) for x in dry["results"]] == [
        ("create", "none"), ("create", "none")]
    assert _count(client, other) == 0
    dry_bad = _import(client, body, other, **{"dry-run": "true"})
    assert dry_bad["valid"] is False


def test_validate_variables_checks_every_reference(client: TestClient, other: str) -> None:
    result = _import(client, _lines(INCOMING), other, 400, **{"validate-variables": "true"})
    (violation,) = result["context"]["results"][0]["violations"]
    assert violation["propertyPath"] == "object.parameters.configuration.port"
    assert "PG_PORT" in violation["title"]
    r = client.post("/api/v1/environment/variables", auth=ADMIN, params={"space": other},
                    json={"name": "PG_PORT", "value": "5432"})
    assert r.status_code == 200, r.text
    ok = _import(client, _lines(INCOMING), other, **{"validate-variables": "true"})
    assert ok["results"][0]["action"] == "created"


def test_secrets_export_masked_and_the_mask_keeps_only_a_stored_secret(
        client: TestClient, other: str) -> None:
    assert client.post(f"{DI}/configurations", auth=ADMIN, json=INCOMING).status_code == 200
    exported = client.post(f"{DI}/export/incoming-configuration", auth=ADMIN).text
    assert "pg-secret-value" not in exported
    line = json.loads(exported)
    assert line["object"]["parameters"]["configuration"]["password"] == "**********"
    assert line["object"]["parameters"]["configuration"]["port"] == "${PG_PORT}"
    # back into its own space: the stored secret stays, nothing changed
    same = _import(client, exported.encode(), "default")
    assert same["results"][0]["decision"] == "unchanged"
    # into a space that stores no secret: refused at the secret's path
    err = _import(client, exported.encode(), other, 400)
    assert err["context"]["results"][0]["violations"][0]["propertyPath"] == (
        "object.parameters.configuration.password")


def test_json_and_multipart_bodies(client: TestClient, other: str) -> None:
    r = client.post(f"{DI}/import", auth=ADMIN, params={"space": other}, json=[RENAME])
    assert r.status_code == 201, r.text
    files = [("filename[]", ("a.ndjson", _lines(ROUTE), "application/x-ndjson")),
             ("filename[]", ("b.ndjson", _lines(dict(RENAME, identifier="second")),
                             "application/x-ndjson"))]
    r = client.post(f"{DI}/import", auth=ADMIN, params={"space": other}, files=files)
    assert r.status_code == 201, r.text
    assert [x["identifier"] for x in r.json()["results"]] == ["orders", "second"]
    assert _count(client, other) == 3
    _error(client.post(f"{DI}/import", auth=ADMIN, params={"space": other},
                       content=b"<xml/>", headers={"Content-Type": "application/xml"}), 400)


def test_viewers_neither_import_nor_export(client: TestClient) -> None:
    r = client.post("/api/v1/spaces", auth=ADMIN, json={
        "object": {"identifier": "team-a", "name": "Team A", "purpose": "dev"},
        "users": [{"email": "viewer@team.example", "roles": ["ROLE_USER"]}],
        "dataEngines": []})
    assert r.status_code == 200, r.text
    viewer = _bearer(client, "viewer@team.example")
    _error(client.post(f"{DI}/import", headers=viewer | NDJSON, content=_lines(RENAME)), 403)
    _error(client.post(f"{DI}/export/transformer", headers=viewer), 403)
    _error(client.post(f"{DI}/import", headers=viewer | NDJSON, content=_lines(RENAME),
                       params={"space": "default"}), 404)


def _alumio_schema(name: str) -> Any:
    """A validator of one schema of the Alumio reference extract; skips when it is absent."""
    import yaml
    from jsonschema import Draft202012Validator

    from tests.api.openapi_contract import reference_dir

    folder = reference_dir()
    if folder is None or not (folder / "alumio-api.yaml").is_file():
        pytest.skip("alumio-api.yaml not found (the reference lives outside the repository; "
                    "set SLUICEWAY_REFERENCE_DIR to its folder)")
    doc = yaml.safe_load((folder / "alumio-api.yaml").read_text(encoding="utf-8"))
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                 "components": doc["components"]})


def test_the_confirmed_operations_answer_the_reference_shapes(client: TestClient) -> None:
    made = client.post(f"{DI}/configurations", auth=ADMIN, json=RENAME)
    put = client.put(f"{DI}/configurations", auth=ADMIN, json=RENAME | {"name": "Renamed"})
    patch = client.patch(f"{DI}/configurations", auth=ADMIN,
                         json={"type": "transformer", "identifier": "rename-fields",
                               "disabled": True})
    for r in (made, put, patch):
        assert r.status_code == 200, r.text
        _alumio_schema("DiObjectConfigurationResult").validate(r.json())
    history = client.get(f"{DI}/configurations/transformer/rename-fields/history", auth=ADMIN)
    _alumio_schema("DiConfigurationHistoryListResult").validate(history.json())
    result = _import(client, _lines(ROUTE), "default")
    _alumio_schema("DiImportResult").validate(result)
    bad = client.put(f"{DI}/configurations", auth=ADMIN, json=RENAME | {"object": {}})
    assert bad.status_code == 400
    _alumio_schema("Error").validate(bad.json())


def test_an_import_of_a_schedule_from_an_encrypted_variable_writes_nothing(
        client: TestClient, other: str) -> None:
    r = client.post("/api/v1/environment/variables", auth=ADMIN, params={"space": other},
                    json={"name": "SECRET_CRON", "value": "0 3 * * *", "encrypted": True,
                          "allowedTargets": ["api.example"]})
    assert r.status_code == 200, r.text
    entry = {"type": "scheduler-entry", "identifier": "nightly", "name": "Nightly",
             "object": {"prototype": "cron", "parameters": {
                 "expression": "${SECRET_CRON}",
                 "commands": [{"command": "route:run", "arguments": {"route": "orders"}}]}}}
    err = _import(client, _lines(RENAME, entry), other, 400)
    assert "encrypted variable ${SECRET_CRON}" in json.dumps(err)
    assert _count(client, other) == 0

"""Types and prototypes on the platform API (#67-72) and the prototypes' tests (#41)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from jsonschema import Draft7Validator

from tests.api.conftest import ADMIN
from tests.api.test_alumio_face import _error

DI = "/api/v1/di"


def test_a_type_lists_its_prototypes_with_schemas_and_its_configurations(
        client: TestClient) -> None:
    r = client.post(f"{DI}/configurations", auth=ADMIN, json={
        "type": "transformer", "identifier": "upper", "name": "Upper",
        "object": {"prototype": "jsonata", "parameters": {"expression": "$uppercase(name)"}}})
    assert r.status_code == 200, r.text
    body = client.get(f"{DI}/types/transformer", auth=ADMIN).json()
    assert set(body) == {"type", "configurations", "prototypes", "defaultPrototype"}
    assert body["type"] == "transformer"
    assert [c["identifier"] for c in body["configurations"]] == ["upper"]
    jsonata = next(p for p in body["prototypes"] if p["identifier"] == "jsonata")
    Draft7Validator.check_schema(jsonata["schema"])
    for case in jsonata["test"]:
        assert list(Draft7Validator(jsonata["schema"]).iter_errors(case["parameters"])) == []
    assert body["defaultPrototype"]["schema"]["properties"]["prototype"]["enum"][0] == "set"

    only = client.get(f"{DI}/types/transformer/configurations", auth=ADMIN).json()
    assert (len(only["configurations"]), only["prototypes"]) == (1, [])
    filt = json.dumps({"where": {"identifier": {"inq": ["set", "mask"]}},
                       "order": "identifier asc"})
    protos = client.get(f"{DI}/types/transformer/prototypes", auth=ADMIN,
                        params={"filter": filt}).json()
    assert [p["identifier"] for p in protos["prototypes"]] == ["mask", "set"]
    incoming = client.get(f"{DI}/types/incoming-configuration/prototypes", auth=ADMIN).json()
    assert {"postgres", "mysql", "sqlite", "duckdb", "file", "sample"} <= {
        p["identifier"] for p in incoming["prototypes"]}
    _error(client.get(f"{DI}/types/listener", auth=ADMIN), 404)
    err = _error(client.get(f"{DI}/types/transformer/prototypes", auth=ADMIN,
                            params={"filter": json.dumps({"where": {"colour": "red"}})}), 400)
    assert err["violations"][0]["propertyPath"] == "filter.where.colour"


def test_documentation_of_a_prototype_and_of_a_type(client: TestClient) -> None:
    doc = client.get(f"{DI}/prototypes/outgoing-configuration/postgres/documentation",
                     auth=ADMIN).json()["documentation"]
    assert doc.startswith("# PostgreSQL (`postgres`, outgoing-configuration)")
    assert "| `key` |" in doc
    route = client.get(f"{DI}/prototypes/route-configuration/documentation",
                       auth=ADMIN).json()["documentation"]
    assert "`incoming`" in route
    _error(client.get(f"{DI}/prototypes/transformer/teleport/documentation", auth=ADMIN), 404)


def test_the_prototype_tests_pass_and_can_be_chosen_by_glob(client: TestClient) -> None:
    r = client.get(f"{DI}/prototypes/tests", auth=ADMIN,
                   params={"type": "transformer", "identifier": "j*", "show-succeeded": "true",
                           "max-tests": "-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["totalSucceeded"], body["totalFailed"], body["failed"]) == (2, 0, [])
    assert body["succeeded"][0]["object"] == {"id": 7, "label": "ADA"}
    every = client.get(f"{DI}/prototypes/tests", auth=ADMIN).json()
    assert every["totalFailed"] == 0
    assert every["totalSucceeded"] > 30


def test_platforms_are_the_connectors(client: TestClient) -> None:
    body = client.get("/api/v1/platforms", auth=ADMIN).json()
    by_id = {p["identifier"]: p for p in body["results"]}
    assert by_id["postgres"]["apis"] == {"incoming": True, "outgoing": True}
    assert by_id["sample"]["apis"] == {"incoming": True, "outgoing": False}
    assert by_id["http"]["apis"] == {"incoming": True, "outgoing": True}
    assert body["metadata"]["totalCount"] == len(body["results"])
    assert client.get("/api/v1/platforms").status_code == 401

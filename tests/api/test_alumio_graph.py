"""The dependency graph of configurations (#37-40) and the validation reports (#54-55)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.store.models import Configuration
from tests.api.conftest import ADMIN
from tests.api.test_alumio_face import _error, _platform

DI = "/api/v1/di"
ITEMS = [
    {"type": "transformer", "identifier": "rename-fields", "name": "Rename",
     "object": {"prototype": "rename", "parameters": {"mapping": {"nm": "name"}}}},
    {"type": "transformer", "identifier": "all-steps", "name": "All",
     "object": {"prototype": "chain", "parameters": {"transformers": ["rename-fields"]}}},
    {"type": "route-configuration", "identifier": "orders", "name": "Orders",
     "object": {"prototype": "route", "parameters": {
         "incoming": "orders-in", "outgoing": "orders-out", "transformers": ["all-steps"]}}},
    {"type": "incoming-configuration", "identifier": "orders-in", "name": "Orders in",
     "object": {"prototype": "sample", "parameters": {
         "stream": "events", "configuration": {"rows": "${ROWS}"}}}},
]


def _edges(node: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["relation"], e["node"]["type"], e["node"]["identifier"])
            for e in node["relationships"]}


def test_the_graph_follows_references_and_variables(client: TestClient) -> None:
    for item in ITEMS:
        r = client.post(f"{DI}/configurations", auth=ADMIN, json=item)
        assert r.status_code == 200, r.text
    down = client.get(f"{DI}/resolve/route-configuration/orders", auth=ADMIN,
                      params={"direction": "down"}).json()["nodes"]
    assert len(down) == 1
    assert _edges(down[0]) == {("uses", "incoming-configuration", "orders-in"),
                               ("uses", "outgoing-configuration", "orders-out"),
                               ("uses", "transformer", "all-steps")}
    up = client.post(f"{DI}/resolve", auth=ADMIN, params={"direction": "up"},
                     json={"objects": [{"type": "transformer", "identifier": "all-steps"}]})
    assert _edges(up.json()["nodes"][0]) == {("used-by", "route-configuration", "orders")}
    every = client.get(f"{DI}/resolve/transformer/rename-fields", auth=ADMIN,
                       params={"direction": "recursive"}).json()["nodes"]
    assert {(n["type"], n["identifier"]) for n in every} == {
        ("transformer", "rename-fields"), ("transformer", "all-steps"),
        ("route-configuration", "orders"), ("incoming-configuration", "orders-in"),
        ("outgoing-configuration", "orders-out"), ("environment-variable", "ROWS")}
    missing = next(n for n in every if n["identifier"] == "orders-out")
    assert missing["name"] is None  # named, not made yet

    usages = client.get(f"{DI}/configurations/transformer/rename-fields/usages",
                        auth=ADMIN).json()
    assert usages == {"usages": [{"propertyPath": "object.parameters.transformers.0",
                                  "type": "transformer", "specification": {
                                      "type": "transformer", "identifier": "all-steps",
                                      "name": "All"}}]}
    dependants = client.get(f"{DI}/dependants", auth=ADMIN).json()["dependants"]
    assert [(d["type"], d["identifier"]) for d in dependants] == [
        ("incoming-configuration", "orders-in"), ("transformer", "all-steps"),
        ("transformer", "rename-fields")]
    used = client.get("/api/v1/environment/variables/ROWS/usages", auth=ADMIN).json()
    assert used["results"] == [{"type": "incoming-configuration", "identifier": "orders-in",
                                "name": "Orders in", "propertyPaths": [
                                    "object.parameters.configuration.rows"]}]
    r = client.post(f"{DI}/configurations", auth=ADMIN, json={
        "type": "outgoing-configuration", "identifier": "orders-out", "name": "Orders out",
        "object": {"prototype": "postgres", "parameters": {
            "stream": "orders", "key": ["id"], "configuration": {
                "host": "db.example", "port": 5432, "database": "shop", "username": "sync",
                "password": "literal-secret-9"}}}})
    assert r.status_code == 200, r.text
    found = client.get("/api/v1/environment/candidates", auth=ADMIN).json()["results"]
    secret = next(c for c in found if c["reason"] == "secret")
    assert secret["name"] == "PASSWORD"
    assert secret["matches"] == [{"type": "outgoing-configuration", "metadata": {
        "identifier": "orders-out", "name": "Orders out"}, "payload": {
            "propertyPath": "object.parameters.configuration.password"}}]
    assert "literal-secret-9" not in json.dumps(found)
    _error(client.get(f"{DI}/resolve/transformer/nope", auth=ADMIN), 404)
    _error(client.get(f"{DI}/resolve/transformer/rename-fields", auth=ADMIN,
                      params={"direction": "sideways"}), 400)


def test_validation_reports_what_the_prototype_no_longer_accepts(client: TestClient) -> None:
    for item in ITEMS[:2]:
        assert client.post(f"{DI}/configurations", auth=ADMIN, json=item).status_code == 200
    assert client.get(f"{DI}/validate", auth=ADMIN).json() == {"results": []}
    assert client.get(f"{DI}/validate/registered", auth=ADMIN).status_code == 200
    p = _platform(client)
    with p.db.session() as s:  # a row stored before its prototype's schema changed
        row = s.scalars(select(Configuration).where(
            Configuration.identifier == "rename-fields")).one()
        row.object = {"prototype": "rename", "parameters": {"mapping": {}}}
        s.commit()
    report = client.get(f"{DI}/validate", auth=ADMIN, params={"type": "transformer"}).json()
    (found,) = report["results"]
    assert (found["type"], found["identifier"]) == ("transformer", "rename-fields")
    assert found["violations"][0]["propertyPath"] == "object.parameters.mapping"
    r = client.get(f"{DI}/validate/registered", auth=ADMIN)
    assert r.status_code == 400
    assert r.json() == report

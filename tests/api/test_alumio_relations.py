"""Relations (#49-53: a transformer's tests, owned by it) and testing configurations
(#65-66)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN
from tests.api.test_alumio_face import _error

DI = "/api/v1/di"
REL = f"{DI}/relations/transformer-test/rename-fields"


def _case(identifier: str, expected: Any) -> dict[str, Any]:
    return {"identifier": identifier, "name": identifier.title(), "object": {
        "prototype": "transformer-test",
        "parameters": {"entity": {"nm": "Ada", "id": 1}, "expected": expected}}}


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def test_a_transformer_owns_its_tests_and_runs_them(client: TestClient) -> None:
    _ok(client.post(f"{DI}/configurations", auth=ADMIN, json={
        "type": "transformer", "identifier": "rename-fields", "name": "Rename",
        "object": {"prototype": "rename", "parameters": {"mapping": {"nm": "name"}}}}))
    made = _ok(client.post(REL, auth=ADMIN, json=_case("ada", {"name": "Ada", "id": 1})))
    assert (made["object"]["owner"], made["object"]["type"]) == (
        "rename-fields", "transformer-test")
    _ok(client.post(REL, auth=ADMIN, json=_case("wrong", {"name": "Bob", "id": 1})))
    listed = _ok(client.get(REL, auth=ADMIN))
    assert [r["identifier"] for r in listed["results"]] == ["ada", "wrong"]

    run = _ok(client.post(f"{DI}/test/transformer/rename-fields", auth=ADMIN))
    assert run["tester"] == "transformer"
    assert [(t["identifier"], t["passed"]) for t in run["response"]["tests"]] == [
        ("ada", True), ("wrong", False)]
    assert run["response"]["passed"] is False
    _ok(client.put(f"{REL}/wrong", auth=ADMIN, json={
        k: v for k, v in _case("wrong", {"name": "Ada", "id": 1}).items()
        if k != "identifier"}))
    again = _ok(client.post(f"{DI}/test/transformer/rename-fields", auth=ADMIN))
    assert again["response"]["passed"] is True

    one = _ok(client.post(f"{DI}/test/transformer/rename-fields", auth=ADMIN,
                          json={"entity": {"nm": "Cy"}}))
    assert one["object"] == {"name": "Cy"}
    assert _ok(client.get(f"{REL}/ada", auth=ADMIN))["object"]["name"] == "Ada"
    _error(client.get(f"{DI}/relations/transformer-test/other/ada", auth=ADMIN), 404)
    _error(client.post(f"{DI}/relations/transformer-test/nobody", auth=ADMIN,
                       json=_case("x", {})), 404)
    _ok(client.delete(f"{REL}/wrong", auth=ADMIN))
    assert _ok(client.get(REL, auth=ADMIN))["metadata"]["totalCount"] == 1
    # the owner takes its relations with it
    _ok(client.delete(f"{DI}/configurations/transformer/rename-fields", auth=ADMIN))
    assert _ok(client.get(f"{DI}/configurations", auth=ADMIN))["metadata"]["totalCount"] == 0


def test_a_space_that_holds_configurations_is_not_deleted(client: TestClient) -> None:
    r = client.put("/api/v1/spaces", auth=ADMIN,
                   json={"identifier": "lab", "name": "Lab", "purpose": "dev"})
    assert r.status_code == 200, r.text
    _ok(client.post(f"{DI}/configurations", auth=ADMIN, params={"space": "lab"}, json={
        "type": "storage", "identifier": "seen", "name": "Seen",
        "object": {"prototype": "storage", "parameters": {"ttlSeconds": 60}}}))
    err = _error(client.delete("/api/v1/spaces/lab", auth=ADMIN), 409)
    assert "1 configurations" in err["detail"]
    _ok(client.delete(f"{DI}/configurations/storage/seen", auth=ADMIN, params={"space": "lab"}))
    _ok(client.delete("/api/v1/spaces/lab", auth=ADMIN))


def test_an_unsaved_transformer_runs_on_a_posted_entity(client: TestClient) -> None:
    run = _ok(client.post(f"{DI}/test/transformer", auth=ADMIN, json={
        "object": {"prototype": "filter", "parameters": {"conditions": [
            {"key": "total", "op": "gte", "value": 100}]}},
        "entity": {"total": 20}}))
    assert run["object"] is None
    assert run["response"] == {"skipped": "filtered out: total gte 100 does not hold"}
    mapped = _ok(client.post(f"{DI}/test/transformer", auth=ADMIN, json={
        "object": {"prototype": "jsonata", "parameters": {"expression": "total * 2"}},
        "entity": {"total": 20}}))
    assert mapped["object"] == 40
    _ok(client.post(f"{DI}/configurations", auth=ADMIN, json={
        "type": "transformer", "identifier": "loop", "name": "Loop",
        "object": {"prototype": "chain", "parameters": {"transformers": ["loop"]}}}))
    err = _error(client.post(f"{DI}/test/transformer/loop", auth=ADMIN,
                             json={"entity": {}}), 400)
    assert "reaches itself" in err["detail"]
    nope = client.post(f"{DI}/test/transformer-test", auth=ADMIN, json={
        "object": {"prototype": "transformer-test", "parameters": {"entity": {}}}})
    _error(nope, 501)
    route = _ok(client.post(f"{DI}/test/route-configuration", auth=ADMIN, json={
        "object": {"prototype": "route", "parameters": {"incoming": "a", "outgoing": "b"}}}))
    assert "the incoming 'a' does not exist" in route["response"]["error"]
    # an incoming is tested by reading its first entities
    read = _ok(client.post(f"{DI}/test/incoming-configuration", auth=ADMIN, json={
        "object": {"prototype": "sample", "parameters": {
            "stream": "events", "configuration": {"rows": 50}}}}))
    assert read["tester"] == "source"
    assert len(read["object"]) == 5
    assert "error" not in read["response"]

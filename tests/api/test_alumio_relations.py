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


def test_a_transformer_test_runs_its_owner_and_shows_the_differences(
        client: TestClient) -> None:
    _ok(client.post(f"{DI}/configurations", auth=ADMIN, json={
        "type": "transformer", "identifier": "rename-fields", "name": "Rename",
        "object": {"prototype": "rename", "parameters": {"mapping": {"nm": "name"}}}}))
    _ok(client.post(REL, auth=ADMIN, json=_case("ada", {"name": "Ada", "id": 1})))
    _ok(client.post(REL, auth=ADMIN, json=_case("wrong", {"name": "Bob", "id": 1,
                                                          "tags": ["x"]})))
    owner_run = _ok(client.post(f"{DI}/test/transformer/rename-fields", auth=ADMIN))

    # a saved test (#66): its owner runs on its entity
    passed = _ok(client.post(f"{DI}/test/transformer-test/ada", auth=ADMIN))
    assert (passed["type"], passed["tester"]) == ("transformer-test", "transformer")
    assert passed["specification"]["parameters"]["entity"] == {"nm": "Ada", "id": 1}
    assert passed["object"] == {"name": "Ada", "id": 1}
    assert passed["response"] == {"passed": True, "tests": [{
        "identifier": "ada", "name": "Ada", "passed": True,
        "result": {"name": "Ada", "id": 1}, "reason": None, "differences": []}]}
    failed = _ok(client.post(f"{DI}/test/transformer-test/wrong", auth=ADMIN))
    assert failed["object"] == {"name": "Ada", "id": 1}
    assert failed["response"]["passed"] is False
    (case,) = failed["response"]["tests"]
    assert case["differences"] == [
        {"path": "name", "change": "changed", "expected": "Bob", "actual": "Ada"},
        {"path": "tags", "change": "missing", "expected": ["x"], "actual": None}]
    # the same report as the owner's own test gives for it
    assert case == owner_run["response"]["tests"][1]

    # an unsaved one (#65) names its owner; what it expects may be a skip
    unsaved = _ok(client.post(f"{DI}/test/transformer-test", auth=ADMIN, json={
        "owner": "rename-fields", "object": {"prototype": "transformer-test", "parameters": {
            "entity": {"nm": "Cy"}, "expected": {"name": "Cy", "extra": 1}}}}))
    assert unsaved["object"] == {"name": "Cy"}
    assert unsaved["response"]["tests"][0]["differences"] == [
        {"path": "extra", "change": "missing", "expected": 1, "actual": None}]
    _ok(client.post(f"{DI}/configurations", auth=ADMIN, json={
        "type": "transformer", "identifier": "big", "name": "Big",
        "object": {"prototype": "filter", "parameters": {"conditions": [
            {"key": "total", "op": "gte", "value": 100}]}}}))
    skip = _ok(client.post(f"{DI}/test/transformer-test", auth=ADMIN, json={
        "owner": "big", "object": {"prototype": "transformer-test", "parameters": {
            "entity": {"total": 5}, "skipped": "filtered out: total gte 100 does not hold"}}}))
    assert skip["response"]["passed"] is True
    assert skip["object"] == {"skipped": "filtered out: total gte 100 does not hold"}

    # the owner missing, or not a transformer: 400 naming the field
    def owner_error(r: Any) -> str:
        err = _error(r, 400)
        assert [v["propertyPath"] for v in err["violations"]] == ["owner"]
        return str(err["violations"][0]["title"])

    case_object = {"prototype": "transformer-test", "parameters": {"entity": {}}}
    assert "required" in owner_error(client.post(f"{DI}/test/transformer-test", auth=ADMIN,
                                                 json={"object": case_object}))
    assert "no transformer 'nobody'" in owner_error(client.post(
        f"{DI}/test/transformer-test", auth=ADMIN,
        json={"object": case_object, "owner": "nobody"}))
    _ok(client.post(f"{DI}/configurations", auth=ADMIN, json={
        "type": "storage", "identifier": "seen", "name": "Seen",
        "object": {"prototype": "storage", "parameters": {}}}))
    _ok(client.post(f"{DI}/configurations", auth=ADMIN, json={
        "type": "transformer-test", "identifier": "stray", "name": "Stray",
        "owner": "seen", "object": case_object}))
    assert "'seen' is a storage, not a transformer" in owner_error(client.post(
        f"{DI}/test/transformer-test/stray", auth=ADMIN))
    _ok(client.post(f"{DI}/configurations", auth=ADMIN, json={
        "type": "transformer-test", "identifier": "orphan", "name": "Orphan",
        "object": case_object}))
    assert "required" in owner_error(client.post(f"{DI}/test/transformer-test/orphan",
                                                 auth=ADMIN))
    # a test runs on its own entity; an owner is for a transformer-test only
    err = _error(client.post(f"{DI}/test/transformer-test/ada", auth=ADMIN,
                             json={"entity": {"nm": "Eve"}}), 400)
    assert [v["propertyPath"] for v in err["violations"]] == ["entity"]
    err = _error(client.post(f"{DI}/test/transformer", auth=ADMIN, json={
        "owner": "big", "object": {"prototype": "rename", "parameters": {"mapping": {"a": "b"}}}}),
        400)
    assert [v["propertyPath"] for v in err["violations"]] == ["owner"]


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
    # a transformer-test is tested with its owner (tests/api: see the transformer-test test)
    nope = client.post(f"{DI}/test/transformer-test", auth=ADMIN, json={
        "object": {"prototype": "transformer-test", "parameters": {"entity": {}}},
        "owner": "loop"})
    assert "reaches itself" in _error(nope, 400)["detail"]
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

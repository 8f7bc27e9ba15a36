"""The dump family (seed 000, CRAFTS): ``/apis/{apiId}/dumps`` over a source, chained steps,
the output map, the JSON lines file (with credentials and by its signed link), the id that
comes from the config, failed dumps that run again, and the ``{status, message, location,
url}`` error bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sluiceway.connectors import registry
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol.messages import RecordBatch
from sluiceway.services import auth
from tests.api.conftest import ADMIN, Api, definition_id
from tests.api.test_datasets import run_jobs

SAMPLE = {"rows": 4000, "streams": ["users", "orders"]}

CONFIG: dict[str, Any] = {
    "parameters": {"kind": "purchase", "max_id": 2000},
    "steps": [
        {"id": "buyers", "type": "resources", "parameters": {
            # the filters test columns the step does not write out
            "stream": "users", "columns": "id,user_id",
            "where.event_type": "$param:kind",
            "filter": [{"column": "id", "op": "lte", "value": "$param:max_id"}]}},
        {"id": "orders", "type": "resources", "parameters": {
            "stream": "orders", "columns": ["id", "user_id"],
            "where.user_id": {"source": "steps", "id": "buyers", "key": "user_id"}}},
    ],
    "output": [
        {"source": "steps", "id": "buyers", "key": "user_id", "label": "buyers"},
        {"source": "parameters", "key": "kind", "label": "kind"},
        {"source": "steps", "id": "orders", "key": "id", "label": "orders"},
    ],
}


def _rows(stream: str) -> list[dict[str, Any]]:
    """Every row of a stream of the sample source, read directly."""
    src = registry.source("sample")
    catalog = src.discover(dict(SAMPLE))
    configured = configure(catalog, [StreamChoice(stream, columns=("id", "user_id",
                                                                   "event_type"))])
    out: list[dict[str, Any]] = []
    for msg in src.read(dict(SAMPLE), configured, None):
        if isinstance(msg, RecordBatch):
            out.extend(msg.batch.to_pylist())
    return out


def _distinct(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


class Dumps:
    def __init__(self, client: TestClient, api_id: str, auth: Any = ADMIN) -> None:
        self.client, self.api_id, self.auth = client, api_id, auth

    def call(self, method: str, path: str, status: int, body: Any = None,
             auth: Any = "default") -> Any:
        kw: dict[str, Any] = {"auth": self.auth if auth == "default" else auth}
        if body is not None:
            kw["json"] = body
        r = self.client.request(method, f"/apis/{self.api_id}/dumps{path}", **kw)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def post(self, config: Any, status: int = 202) -> Any:
        return self.call("POST", "", status, config)

    def get(self, dump_id: str, status: int = 200) -> Any:
        return self.call("GET", f"/{dump_id}", status)

    def make(self, config: Any) -> dict[str, Any]:
        accepted = self.post(config)
        dump_id = accepted["location"].rsplit("/", 1)[1]
        run_jobs(self.client)
        return self.get(dump_id)  # type: ignore[no-any-return]


@pytest.fixture
def source_id(api: Api, workspace_id: str) -> str:
    return str(api("/sources/create", {
        "workspaceId": workspace_id, "sourceDefinitionId": definition_id(api, "source", "sample"),
        "connectionConfiguration": SAMPLE, "name": "shop"})["sourceId"])


@pytest.fixture
def dumps(client: TestClient, source_id: str) -> Dumps:
    return Dumps(client, source_id)


def _error_body(body: Any, status: int, url: str) -> None:
    assert set(body) <= {"status", "message", "location", "url"}, body
    assert body["status"] == status
    assert body["message"]
    assert body["url"] == url


def _jobs(client: TestClient) -> list[Any]:
    r = client.get("/jobs", auth=ADMIN, params={"filter[job_class]": "dump"})
    assert r.status_code == 200
    return r.json()["data"]  # type: ignore[no-any-return]


def test_a_chained_dump_runs_collects_its_output_and_downloads(
    dumps: Dumps, client: TestClient, source_id: str,
) -> None:
    accepted = dumps.post(CONFIG)
    assert accepted["status"] == 202
    assert accepted["location"].startswith(f"/apis/{source_id}/dumps/")
    assert accepted["url"].endswith(accepted["location"])
    dump_id = accepted["location"].rsplit("/", 1)[1]
    before = dumps.get(dump_id)
    assert before["status"] == "scheduled"
    assert before["config"] == CONFIG
    assert "output" not in before
    assert run_jobs(client) == 1
    dump = dumps.get(dump_id)
    assert dump["status"] == "finished", dump
    assert dump["id"] == dump_id
    assert dump["path"].endswith(".jsonl")
    assert dump["started"] <= dump["ended"]
    assert dump["ended"].endswith("Z")

    users = [r for r in _rows("users") if r["event_type"] == "purchase" and r["id"] <= 2000]
    buyer_ids = _distinct([r["user_id"] for r in users])
    orders = [r for r in _rows("orders") if r["user_id"] in set(buyer_ids)]
    assert users  # the sample data makes both steps meaningful
    assert orders
    assert dump["output"] == {"user_id": buyer_ids, "kind": ["purchase"],
                              "id": _distinct([r["id"] for r in orders])}
    assert dump["outputLabels"] == {"user_id": "buyers", "kind": "kind", "id": "orders"}

    expected = ([{"step": "buyers", "record": {"id": r["id"], "user_id": r["user_id"]}}
                 for r in users]
                + [{"step": "orders", "record": {"id": r["id"], "user_id": r["user_id"]}}
                   for r in orders])
    r = client.get(f"/apis/{source_id}/dumps/{dump_id}/download", auth=ADMIN)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines == expected
    anonymous = client.get(dump["location"])
    assert anonymous.status_code == 200
    assert anonymous.content == r.content
    part = client.get(dump["location"], headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.content == r.content[:10]
    assert client.get(f"/apis/{source_id}/dumps/{dump_id}/download").status_code == 401
    tampered = dump["location"].replace("signature=", "signature=x")
    _error_body(client.get(tampered).json(), 404,
                f"/apis/{source_id}/dumps/{dump_id}/download")

    listed = dumps.call("GET", "", 200)
    assert [d["id"] for d in listed] == [dump_id]
    assert listed[0]["status"] == "finished"
    assert "output" not in listed[0]


def test_the_same_config_is_the_same_dump_without_a_new_job(dumps: Dumps,
                                                            client: TestClient) -> None:
    first = dumps.post(CONFIG)
    reordered = {"output": CONFIG["output"], "steps": CONFIG["steps"],
                 "parameters": dict(reversed(list(CONFIG["parameters"].items())))}
    again = dumps.post(reordered)
    assert again["location"] == first["location"]
    assert len(_jobs(client)) == 1
    run_jobs(client)
    third = dumps.post(CONFIG)
    assert third["location"] == first["location"]
    assert run_jobs(client) == 0
    assert len(_jobs(client)) == 1
    other = dumps.post({**CONFIG, "parameters": {"kind": "click", "max_id": 2000}})
    assert other["location"] != first["location"]
    assert len(dumps.call("GET", "", 200)) == 2


def test_a_failed_dump_says_why_and_runs_again_when_posted_again(
    dumps: Dumps, client: TestClient,
) -> None:
    config = {"parameters": {}, "steps": [
        {"id": "a", "type": "resource", "parameters": {"stream": "users", "columns": "id"}},
        {"id": "b", "type": "resource", "parameters": {"stream": "nope"}}], "output": []}
    failed = dumps.make(config)
    assert failed["status"] == "failed"
    assert "steps[1].parameters.stream" in failed["error"]
    assert "nope" in failed["error"]
    assert "output" not in failed
    again = dumps.post(config)
    assert again["location"].endswith(failed["id"])
    assert dumps.get(failed["id"])["status"] == "scheduled"
    assert "error" not in dumps.get(failed["id"])
    assert len(_jobs(client)) == 2
    run_jobs(client)
    assert dumps.get(failed["id"])["status"] == "failed"


def test_an_unknown_column_in_a_step_reference_fails_the_dump(dumps: Dumps) -> None:
    config = {"parameters": {}, "steps": [
        {"id": "a", "type": "resources", "parameters": {"stream": "users"}},
        {"id": "b", "type": "resources", "parameters": {
            "stream": "orders", "where.user_id": "$step:a.colour"}}], "output": []}
    failed = dumps.make(config)
    assert failed["status"] == "failed"
    assert "colour" in failed["error"]
    assert "steps[1].parameters.where.user_id" in failed["error"]


def _config(**changes: Any) -> dict[str, Any]:
    steps = [{"id": "a", "type": "resources", "parameters": {"stream": "users"}},
             {"id": "b", "type": "resources", "parameters": {
                 "stream": "orders", "where.user_id": "$step:a.user_id"}}]
    return {"parameters": {"kind": "purchase"}, "steps": steps, "output": [], **changes}


@pytest.mark.parametrize(("config", "location"), [
    ({"parameters": {}, "output": []}, "body.steps"),
    (_config(steps=[]), "body.steps"),
    (_config(steps=[{"id": "a", "type": "resources", "parameters": {"stream": "users"}},
                    {"id": "a", "type": "resources", "parameters": {"stream": "orders"}}]),
     "body.steps[1].id"),
    (_config(steps=[{"id": "a", "type": "sparql", "parameters": {"stream": "users"}}]),
     "body.steps[0].type"),
    (_config(steps=[{"id": "a", "type": "resources", "parameters": {
        "stream": "users", "where.user_id": "$step:b.user_id"}},
                    {"id": "b", "type": "resources", "parameters": {"stream": "orders"}}]),
     "body.steps[0].parameters.where.user_id"),
    (_config(steps=[{"id": "a", "type": "resources", "parameters": {
        "stream": "users", "where.event_type": "$param:colour"}}]),
     "body.steps[0].parameters.where.event_type"),
    (_config(steps=[{"id": "a", "type": "resources", "parameters": {"columns": "id"}}]),
     "body.steps[0].parameters.stream"),
    (_config(steps=[{"id": "a", "type": "resources", "parameters": {
        "stream": "users", "limit": 5}}]), "body.steps[0].parameters.limit"),
    (_config(output=[{"source": "steps", "id": "zzz", "key": "id", "label": "x"}]),
     "body.output[0].id"),
    (_config(output=[{"source": "parameters", "key": "kind"}]), "body.output[0].label"),
    ({"steps": _config()["steps"]}, "body.output"),
    ([1, 2], "body"),
])
def test_a_bad_config_is_400_naming_the_field(dumps: Dumps, client: TestClient,
                                              source_id: str, config: Any,
                                              location: str) -> None:
    bad = dumps.post(config, 400)
    _error_body(bad, 400, f"/apis/{source_id}/dumps")
    assert bad["location"] == location, bad
    assert location.removeprefix("body.") in bad["message"] or location == "body"
    assert _jobs(client) == []


def test_an_unknown_api_or_dump_is_404(dumps: Dumps, client: TestClient,
                                       source_id: str) -> None:
    missing = Dumps(client, "00000000-0000-4000-8000-000000000000")
    body = missing.post(CONFIG, 404)
    _error_body(body, 404, "/apis/00000000-0000-4000-8000-000000000000/dumps")
    assert body["location"] == "path.apiId"
    missing.call("GET", "", 404)
    body = dumps.get("00000000-0000-4000-8000-000000000001", 404)
    assert body["location"] == "path.dumpId"


def test_another_workspace_sees_neither_the_api_nor_its_dumps(
    dumps: Dumps, client: TestClient, source_id: str,
) -> None:
    made = dumps.make(CONFIG)
    p = client.app.state.platform  # type: ignore[attr-defined]
    auth.create_user(p, "eve", "eve-password", "eve-team")
    eve = Dumps(client, source_id, auth=("eve", "eve-password"))
    eve.call("GET", "", 404)
    eve.get(made["id"], 404)
    eve.post(CONFIG, 404)
    eve.call("DELETE", f"/{made['id']}", 404)
    r = client.get(f"/apis/{source_id}/dumps/{made['id']}/download",
                   auth=("eve", "eve-password"))
    assert r.status_code == 404
    assert dumps.get(made["id"])["status"] == "finished"


def test_a_deleted_dump_is_gone(dumps: Dumps, client: TestClient, source_id: str) -> None:
    made = dumps.make(CONFIG)
    gone = dumps.call("DELETE", f"/{made['id']}", 200)
    assert gone["status"] == 200
    assert gone["message"] == "Dump deleted"
    dumps.get(made["id"], 404)
    dumps.call("DELETE", f"/{made['id']}", 404)
    assert dumps.call("GET", "", 200) == []
    assert client.get(made["location"]).status_code == 404


def test_a_scheduled_dump_is_cancelled_and_deleted(dumps: Dumps, client: TestClient) -> None:
    accepted = dumps.post(CONFIG)
    dump_id = accepted["location"].rsplit("/", 1)[1]
    dumps.call("DELETE", f"/{dump_id}", 200)
    assert run_jobs(client) == 0
    assert _jobs(client)[0]["attributes"]["status"] == "errored"
    assert dumps.post(CONFIG)["location"] == accepted["location"]
    run_jobs(client)
    assert dumps.get(dump_id)["status"] == "finished"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_or_wrong_credentials_are_401_with_the_family_body(
    dumps: Dumps, source_id: str, method: str,
) -> None:
    for credentials in (None, ("admin", "wrong-password")):
        body = dumps.call(method, "", 401, CONFIG if method == "POST" else None,
                          auth=credentials)
        _error_body(body, 401, f"/apis/{source_id}/dumps")
    r = dumps.client.get(f"/apis/{source_id}/dumps/x",
                         headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"]
    _error_body(r.json(), 401, f"/apis/{source_id}/dumps/x")

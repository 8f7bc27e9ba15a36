"""Tests (#65, #66) of routes, storages, scheduler entries and http-clients: a route runs its
transformers on its incoming's first entities (an HTTP API the test starts on 127.0.0.1, or
posted entities) and reports each as sent, skipped, failed or unchanged without writing
anything; a storage reports its counts and first entities; a scheduler entry its next five
times in its time zone and whether its commands' targets exist; an http-client makes one GET
and reports the status and the time, never the body or its secrets."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from sluiceway.store.models import Job, StorageEntity, Task
from tests.api.conftest import A, E, V
from tests.api.test_alumio_face import _error, _platform
from tests.api.test_alumio_http import _ok, _publish, _save
from tests.api.test_datasets import run_jobs
from tests.helpers import JsonHandler, serving

TEST = "/api/v1/di/test"
SPACE = {"space": "team-a"}
TOKEN = "api-token-5e1f"
SECRET_BODY = "the-answer-holds-a-secret-93"


class Shop:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items = [{"id": i, "name": n, "price": pr} for i, n, pr in [
            (1, "lamp", 20), (2, "desk", 150), (3, "chair", "n/a"), (4, "rug", 80)]]
        self.calls: list[tuple[str, str]] = []


def _handler(shop: Shop) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def _record(self) -> bool:
            with shop.lock:
                shop.calls.append((self.command, self.path))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.send_json(401, {"error": "who are you", "hint": SECRET_BODY})
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802
            if not self._record():
                return
            if self.path.startswith("/ping"):
                self.send_json(200, {"pong": True, "secret": SECRET_BODY})
                return
            with shop.lock:
                items = list(shop.items)
            self.send_json(200, {"items": items})

        def do_PUT(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self._record():
                self.send_json(200, {})

    return Handler


@pytest.fixture
def shop() -> Iterator[tuple[str, Shop]]:
    s = Shop()
    with serving(_handler(s)) as base:
        yield base, s


def _counts(client: TestClient) -> tuple[int, int, int]:
    with _platform(client).db.session() as s:
        return (int(s.scalar(select(func.count()).select_from(Task)) or 0),
                int(s.scalar(select(func.count()).select_from(Job)) or 0),
                int(s.scalar(select(func.count()).select_from(StorageEntity)) or 0))


def _make_route(client: TestClient, auth: dict[str, str], base: str) -> None:
    _save(client, auth, "http-client", "shop-api", "http-client", {
        "baseUrl": base, "auth": {"type": "bearer", "token": TOKEN},
        "retries": {"maxAttempts": 0}})
    _save(client, auth, "incoming-configuration", "items-in", "http", {
        "client": "shop-api", "path": "/items", "recordsPath": "items",
        "identifierField": "id"})
    _save(client, auth, "outgoing-configuration", "items-out", "http", {
        "client": "shop-api", "path": "/sink/{id}", "method": "PUT"})
    _save(client, auth, "transformer", "priced", "jsonata", {
        "expression": '{"id": id, "label": $uppercase(name), "cents": $number(price) * 100}'})
    _save(client, auth, "transformer", "cheap", "filter", {
        "conditions": [{"key": "cents", "op": "lt", "value": 10000}]})
    _save(client, auth, "storage", "seen", "storage", {"ttlSeconds": 86400})
    _save(client, auth, "route-configuration", "items", "route", {
        "incoming": "items-in", "outgoing": "items-out",
        "transformers": ["priced", "cheap"], "changeDetection": {"storage": "seen"}})


def test_a_route_is_tested_on_its_first_entities_without_writing(
        client: TestClient, team: dict[str, dict[str, str]],
        shop: tuple[str, Shop]) -> None:
    base, api = shop
    editor = team[E]
    _make_route(client, editor, base)
    before = _counts(client)
    got = _ok(client.post(f"{TEST}/route-configuration/items", params=SPACE, headers=editor))
    assert (got["type"], got["tester"]) == ("route-configuration", "route")
    assert got["specification"]["parameters"]["incoming"] == "items-in"
    assert (got["object"]["incoming"], got["object"]["outgoing"]) == ("items-in", "items-out")
    seen = {e["identifier"]: e for e in got["object"]["entities"]}
    assert seen["1"]["outcome"] == "send"
    assert seen["1"]["send"] == {"id": 1, "label": "LAMP", "cents": 2000}
    assert seen["1"]["entity"] == {"id": 1, "name": "lamp", "price": 20}
    assert seen["2"]["outcome"] == "skipped"
    assert "cents lt 10000" in seen["2"]["reason"]
    assert seen["3"]["outcome"] == "failed"
    assert seen["3"]["reason"]
    assert seen["4"]["outcome"] == "send"
    assert got["response"]["counts"] == {"read": 4, "send": 2, "skipped": 1, "failed": 1,
                                         "unchanged": 0}
    assert "error" not in got["response"]
    assert [m for m, _ in api.calls] == ["GET"]  # read, nothing sent
    assert _counts(client) == before  # no task, no job, no hash

    # a real run keeps the hashes of what it sent; then the lamp changes: the test shows
    # the rug as unchanged and the lamp as to be sent
    _publish(client, editor, "items")
    assert run_jobs(client) == 1
    with api.lock:
        api.items[0]["name"] = "lava lamp"
        api.calls.clear()
    before = _counts(client)
    again = _ok(client.post(f"{TEST}/route-configuration/items", params=SPACE,
                            headers=editor))
    outcomes = {e["identifier"]: e["outcome"] for e in again["object"]["entities"]}
    assert outcomes == {"1": "send", "2": "skipped", "3": "failed", "4": "unchanged"}
    assert again["response"]["counts"]["unchanged"] == 1
    assert [m for m, _ in api.calls] == ["GET"]
    assert _counts(client) == before
    assert TOKEN not in json.dumps(again)

    # posted entities instead of a read; an unsaved route
    posted = _ok(client.post(f"{TEST}/route-configuration/items", params=SPACE,
                             headers=editor, json={"entity": [{"id": 9, "name": "vase",
                                                               "price": 5}]}))
    assert [(e["identifier"], e["outcome"], e["send"]) for e in posted["object"]["entities"]
            ] == [("9", "send", {"id": 9, "label": "VASE", "cents": 500})]
    unsaved = _ok(client.post(f"{TEST}/route-configuration", params=SPACE, headers=editor,
                              json={"object": {"prototype": "route", "parameters": {
                                  "incoming": "items-in", "outgoing": "items-out",
                                  "transformers": ["priced"]}},
                                    "entity": {"id": 2, "name": "desk", "price": 150}}))
    assert unsaved["object"]["entities"][0]["send"] == {"id": 2, "label": "DESK",
                                                        "cents": 15000}
    # a route naming what does not exist says so
    missing = _ok(client.post(f"{TEST}/route-configuration", params=SPACE, headers=editor,
                              json={"object": {"prototype": "route", "parameters": {
                                  "incoming": "nowhere", "outgoing": "items-out"}}}))
    assert missing["object"] is None
    assert "the incoming 'nowhere' does not exist" in missing["response"]["error"]
    # viewers do not test; a transformer-test names the transformer it runs
    _error(client.post(f"{TEST}/route-configuration/items", params=SPACE,
                       headers=team[V]), 403)
    err = _error(client.post(f"{TEST}/transformer-test", params=SPACE, headers=editor, json={
        "object": {"prototype": "transformer-test", "parameters": {"entity": {}}}}), 400)
    assert [v["propertyPath"] for v in err["violations"]] == ["owner"]


def test_a_storage_reports_its_counts_and_first_entities(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    editor = team[E]
    _save(client, editor, "storage", "customers", "storage", {"encrypted": True})
    for key in ("c1", "c2", "c3"):
        _ok(client.put("/api/v1/storages/customers/entity", headers=editor,
                       params={**SPACE, "entity": key}, json={"tier": key.upper()}))
    with _platform(client).db.session() as s:  # one of them has expired (not yet pruned)
        s.execute(update(StorageEntity).where(StorageEntity.key == "c3")
                  .values(expires_at=1.0))
    before = _counts(client)
    got = _ok(client.post(f"{TEST}/storage/customers", params=SPACE, headers=editor))
    assert got["tester"] == "storage"
    obj = got["object"]
    assert (obj["entities"], obj["expired"]) == (2, 1)
    assert obj["sizeInBytes"] > 0
    assert obj["first"] == [{"identifier": "c1", "value": {"tier": "C1"}},
                            {"identifier": "c2", "value": {"tier": "C2"}}]
    assert _counts(client) == before
    unsaved = _ok(client.post(f"{TEST}/storage", params=SPACE, headers=editor, json={
        "object": {"prototype": "storage", "parameters": {"ttlSeconds": 60}}}))
    assert unsaved["object"] == {"entities": 0, "expired": 0, "sizeInBytes": 0, "first": []}
    _error(client.post(f"{TEST}/storage", params=SPACE, headers=editor, json={
        "object": {"prototype": "storage", "parameters": {"ttlSeconds": -1}}}), 400)


def test_a_scheduler_entry_shows_its_next_times_and_its_targets(
        client: TestClient, team: dict[str, dict[str, str]],
        shop: tuple[str, Shop]) -> None:
    base, _ = shop
    editor = team[E]
    _make_route(client, editor, base)
    _ok(client.post("/api/v1/environment/variables", headers=editor, json={
        "name": "MORNING", "value": "30 6 * * 1-5"}))
    _save(client, editor, "scheduler-entry", "mornings", "cron", {
        "expression": "${MORNING}", "timezone": "Europe/Amsterdam",
        "commands": [{"command": "incoming:run", "arguments": {"incoming": "items-in"}},
                     {"command": "route:run", "arguments": {"route": "gone"}}]})
    before = _counts(client)
    got = _ok(client.post(f"{TEST}/scheduler-entry/mornings", params=SPACE, headers=editor))
    assert got["tester"] == "scheduler"
    obj = got["object"]
    assert (obj["expression"], obj["timezone"]) == ("30 6 * * 1-5", "Europe/Amsterdam")
    times = [dt.datetime.fromisoformat(t) for t in obj["next"]]
    assert len(times) == 5
    assert times == sorted(times)
    assert times[0] > dt.datetime.now(dt.UTC)
    for t in times:
        local = t.astimezone(ZoneInfo("Europe/Amsterdam"))
        assert (local.hour, local.minute) == (6, 30)
        assert local.weekday() < 5
        assert t.utcoffset() == local.utcoffset()  # given in the entry's time zone
    assert obj["commands"] == [
        {"command": "incoming:run", "target": "items-in", "exists": True,
         "routes": ["items"]},
        {"command": "route:run", "target": "gone", "exists": False, "routes": []}]
    assert got["response"]["error"] == "route:run 'gone': no such configuration"
    assert _counts(client) == before
    # unsaved, with a variable that does not exist
    bad = _ok(client.post(f"{TEST}/scheduler-entry", params=SPACE, headers=editor, json={
        "object": {"prototype": "cron", "parameters": {
            "expression": "${NOPE}", "commands": [
                {"command": "route:run", "arguments": {"route": "items"}}]}}}))
    assert bad["object"]["next"] == []
    assert "NOPE" in bad["response"]["error"]
    assert bad["object"]["commands"][0]["exists"] is True


def test_an_http_client_is_tested_with_one_get(
        client: TestClient, team: dict[str, dict[str, str]],
        shop: tuple[str, Shop]) -> None:
    base, api = shop
    editor = team[E]
    _save(client, editor, "http-client", "shop-api", "http-client", {
        "baseUrl": base, "testPath": "/ping", "auth": {"type": "bearer", "token": TOKEN}})
    got = _ok(client.post(f"{TEST}/http-client/shop-api", params=SPACE, headers=editor))
    assert got["tester"] == "http-client"
    obj = got["object"]
    assert (obj["ok"], obj["status"], obj["url"]) == (True, 200, f"{base}/ping")
    assert obj["milliseconds"] >= 0
    assert obj["contentType"] == "application/json"
    assert "error" not in got["response"]
    assert api.calls == [("GET", "/ping")]
    text = json.dumps(got)
    assert TOKEN not in text
    assert SECRET_BODY not in text  # the answer's body is not shown
    # unsaved, a wrong token: the status, not the body
    wrong = _ok(client.post(f"{TEST}/http-client", params=SPACE, headers=editor, json={
        "object": {"prototype": "http-client", "parameters": {
            "baseUrl": base, "auth": {"type": "bearer", "token": "wrong-token-6a"}}}}))
    assert (wrong["object"]["ok"], wrong["object"]["status"]) == (False, 401)
    assert wrong["response"]["error"] == f"GET {base} answered 401"
    assert "wrong-token-6a" not in json.dumps(wrong)
    assert SECRET_BODY not in json.dumps(wrong)
    assert api.calls[-1] == ("GET", "/")
    # an api key in the query is not shown
    keyed = _ok(client.post(f"{TEST}/http-client", params=SPACE, headers=editor, json={
        "object": {"prototype": "http-client", "parameters": {
            "baseUrl": base, "testPath": "/ping",
            "auth": {"type": "api-key", "queryParameter": "key", "key": "query-key-3b"}}}}))
    assert keyed["object"]["url"] == f"{base}/ping"
    assert "query-key-3b" not in json.dumps(keyed)
    # a denied network: nothing is sent
    calls = len(api.calls)
    denied = _ok(client.post(f"{TEST}/http-client", params=SPACE, headers=editor, json={
        "object": {"prototype": "http-client", "parameters": {
            "baseUrl": "http://169.254.169.254/latest"}}}))
    assert denied["object"] is None
    assert "may not reach" in denied["response"]["error"]
    assert len(api.calls) == calls
    # an encrypted variable without allowedTargets: administrators only
    _ok(client.post("/api/v1/environment/variables", headers=team[A], json={
        "name": "API_TOKEN", "value": TOKEN, "encrypted": True}))
    _save(client, team[A], "http-client", "guarded", "http-client", {
        "baseUrl": base, "testPath": "/ping",
        "auth": {"type": "bearer", "token": "${API_TOKEN}"}})
    _error(client.post(f"{TEST}/http-client/guarded", params=SPACE, headers=editor), 403)
    admin = _ok(client.post(f"{TEST}/http-client/guarded", params=SPACE, headers=team[A]))
    assert admin["object"]["status"] == 200
    assert TOKEN not in json.dumps(admin)

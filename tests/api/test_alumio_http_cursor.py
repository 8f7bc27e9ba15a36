"""An ``http`` incoming with a cursor (``cursorField`` and ``cursorParameter``): a route keeps
the highest value of the field that a finished run saw (in its job's output ``state``) and the
next run sends it in the query parameter, so the API (a small server on 127.0.0.1) answers with
newer records only; a failed run moves nothing."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.store.models import Job
from tests.api.conftest import E, V
from tests.api.test_alumio_face import _platform
from tests.api.test_alumio_http import _ok, _publish, _save, _tasks
from tests.api.test_datasets import run_jobs
from tests.helpers import JsonHandler, serving


class Shop:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items = [{"id": 1, "meta": {"updatedAt": "2027-01-01T10:00:00Z"}},
                      {"id": 2, "meta": {"updatedAt": "2027-01-03T08:00:00Z"}},
                      {"id": 3, "meta": {"updatedAt": "2027-01-02T09:30:00Z"}}]
        self.asked: list[str | None] = []
        self.sent: list[int] = []
        self.down = False


def _handler(shop: Shop) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802
            since = parse_qs(urlsplit(self.path).query).get("updated_since", [None])[0]
            with shop.lock:
                shop.asked.append(since)
                items = [i for i in shop.items
                         if since is None or i["meta"]["updatedAt"] > since]
            if shop.down:
                self.send_json(503, {"error": "down"})
                return
            self.send_json(200, {"items": items})

        def do_PUT(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            with shop.lock:
                shop.sent.append(int(body["id"]))
            self.send_json(200, {})

    return Handler


@pytest.fixture
def shop() -> Iterator[tuple[str, Shop]]:
    s = Shop()
    with serving(_handler(s)) as base:
        yield base, s


def _last_route_job(client: TestClient) -> Job:
    with _platform(client).db.session() as s:
        job = s.scalars(select(Job).where(Job.config_type == "route")
                        .order_by(Job.id.desc())).first()
        assert job is not None
        s.expunge(job)
        return job


def test_a_route_asks_the_api_only_for_records_newer_than_its_last_run(
        client: TestClient, team: dict[str, dict[str, str]],
        shop: tuple[str, Shop]) -> None:
    base, api = shop
    editor = team[E]
    _save(client, editor, "http-client", "shop-api", "http-client", {
        "baseUrl": base, "retries": {"maxAttempts": 0}})
    _save(client, editor, "incoming-configuration", "items-in", "http", {
        "client": "shop-api", "path": "/items", "recordsPath": "items",
        "identifierField": "id", "cursorField": "meta.updatedAt",
        "cursorParameter": "updated_since"})
    _save(client, editor, "outgoing-configuration", "items-out", "http", {
        "client": "shop-api", "path": "/sink/{id}", "method": "PUT"})
    _save(client, editor, "route-configuration", "items", "route", {
        "incoming": "items-in", "outgoing": "items-out"})

    _publish(client, editor, "items")
    assert run_jobs(client) == 1
    job = _last_route_job(client)
    assert job.status == "succeeded", job.error
    assert api.asked == [None]  # the first run reads everything
    assert sorted(api.sent) == [1, 2, 3]
    assert job.output["state"] == {"cursorField": "meta.updatedAt",
                                   "cursor": "2027-01-03T08:00:00Z"}

    # two records change after it: the next run gets those only
    with api.lock:
        api.items[0]["meta"]["updatedAt"] = "2027-01-04T00:00:00Z"
        api.items.append({"id": 4, "meta": {"updatedAt": "2027-01-05T12:00:00Z"}})
        api.sent.clear()
    _publish(client, editor, "items")
    assert run_jobs(client) == 1
    assert api.asked[-1] == "2027-01-03T08:00:00Z"
    assert sorted(api.sent) == [1, 4]
    assert _last_route_job(client).output["state"]["cursor"] == "2027-01-05T12:00:00Z"

    # a run that fails moves nothing: the ones after it ask from the same value
    api.down = True
    asked = len(api.asked)
    _publish(client, editor, "items")
    run_jobs(client)
    assert _last_route_job(client).status in ("failed", "incomplete")
    api.down = False
    with api.lock:
        api.sent.clear()
    _publish(client, editor, "items")
    run_jobs(client)
    assert _last_route_job(client).status == "succeeded"
    assert len(api.asked) - asked >= 2
    assert set(api.asked[asked:]) == {"2027-01-05T12:00:00Z"}
    assert api.sent == []  # nothing newer
    assert _last_route_job(client).output["state"]["cursor"] == "2027-01-05T12:00:00Z"
    tasks = _tasks(client, team[V])
    assert sorted((t["entityIdentifier"], t["status"]) for t in tasks) == [
        ("1", "finished"), ("1", "finished"), ("2", "finished"), ("3", "finished"),
        ("4", "finished")]


def test_a_cursor_field_needs_its_query_parameter(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    r = client.post("/api/v1/di/configurations", headers=team[E], json={
        "type": "incoming-configuration", "identifier": "half", "name": "half",
        "object": {"prototype": "http", "parameters": {
            "client": "shop-api", "cursorField": "updatedAt"}}})
    assert r.status_code == 400, r.text
    assert "cursorParameter" in r.text
    _ok(client.get("/api/v1/di/types/incoming-configuration", headers=team[V]))

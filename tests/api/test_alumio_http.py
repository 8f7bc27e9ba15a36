"""HTTP incoming and outgoing on the platform API (issue 12): a route reads a paginated JSON
API (a small server on 127.0.0.1: an OAuth2 token refreshed, a 429 with Retry-After on one
page) through rename + JSONata + filter into PostgreSQL, is run, its failed tasks retried
after the cause is fixed, and every task and row is checked; an HTTP outgoing fails exactly
the entities its endpoint answers 500 for; an http-client aimed at a denied network sends
nothing."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.store.models import AuditEntry, Job
from tests.api.conftest import A, E, V
from tests.api.test_alumio_face import _platform
from tests.api.test_datasets import run_jobs
from tests.helpers import JsonHandler, serving

URL = "/api/v1/di/configurations"
#: the API's orders: two a page; 3 and 5 have a negative total (the table refuses them)
ORDERS = [{"orderId": i, "customer": {"name": n}, "total": t, "state": s}
          for i, n, t, s in [(1, "ada", "10.50", "paid"), (2, "bob", "3", "cancelled"),
                             (3, "cy", "-4.5", "paid"), (4, "di", "7.25", "paid"),
                             (5, "ed", "-1.5", "paid")]]


class Api:
    """What the server saw and how it answers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []
        self.refused_once = False
        self.token = "fresh-token-9d2"
        self.failing: set[str] = set()
        self.received: dict[str, int] = {}
        self.page2_at: list[float] = []
        self.batches: list[list[str]] = []


def _handler(api: Api) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            with api.lock:
                api.calls.append(("GET", self.path))
            if self.headers.get("Authorization") != f"Bearer {api.token}":
                self.send_json(401, {"error": "invalid_token"})
                return
            page = int(parse_qs(url.query).get("page", ["1"])[0])
            if page == 2:
                api.page2_at.append(time.monotonic())
            if page == 2 and not api.refused_once:
                api.refused_once = True
                self.send_json(429, {"error": "slow down"}, {"Retry-After": "1"})
                return
            self.send_json(200, {"data": {"orders": ORDERS[(page - 1) * 2:page * 2]}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with api.lock:
                api.calls.append(("POST", self.path))
            if self.path == "/batch":
                items = json.loads(raw)["items"]
                ids = [str(i["id"]) for i in items]
                with api.lock:
                    api.batches.append(ids)
                if api.failing & set(ids):
                    self.send_json(422, {"error": f"refused batch {ids}"})
                    return
                self.send_json(200, {"stored": len(items)})
                return
            if self.path.startswith("/echo"):
                ok = self.headers.get("Authorization") == f"Bearer {api.token}"
                self.send_json(200 if ok else 401, {"echo": json.loads(raw or b"null")})
                return
            form = parse_qs(raw.decode())
            if self.path == "/token" and form.get("grant_type") == ["refresh_token"] and \
                    form.get("refresh_token") == ["refresh-1"]:
                self.send_json(200, {"access_token": api.token, "token_type": "Bearer",
                                 "expires_in": 3600, "refresh_token": "refresh-2"})
                return
            self.send_json(400, {"error": "invalid_grant"})

        def do_HEAD(self) -> None:  # noqa: N802
            with api.lock:
                api.calls.append(("HEAD", self.path))
            ok = self.headers.get("Authorization") == f"Bearer {api.token}"
            self.send_response(204 if ok else 401)
            self.end_headers()

        def do_PUT(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            entity = json.loads(self.rfile.read(length))
            key = self.path.rsplit("/", 1)[-1]
            with api.lock:
                api.received[key] = api.received.get(key, 0) + 1
            if key in api.failing:
                self.send_json(500, {"error": f"boom on item {key}"})
                return
            self.send_json(200, {"stored": entity})

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Api]]:
    api = Api()
    with serving(_handler(api)) as base:
        yield base, api


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def _save(client: TestClient, auth: dict[str, str], type_: str, identifier: str,
          prototype: str, parameters: dict[str, Any]) -> None:
    _ok(client.post(URL, headers=auth, json={
        "type": type_, "identifier": identifier, "name": identifier,
        "object": {"prototype": prototype, "parameters": parameters}}))


def _publish(client: TestClient, auth: dict[str, str], route: str) -> None:
    _ok(client.post("/api/v1/queue/publish?space=team-a", headers=auth, json={"job": {
        "queue": "default", "priority": 0,
        "commands": [{"command": "route:run", "arguments": {"route": route}}]}}))


def _tasks(client: TestClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    f = json.dumps({"where": {}, "order": "entityIdentifier asc"})
    return list(_ok(client.get("/api/v1/tasks", params={"filter": f, "space": "team-a"},
                               headers=auth))["results"])


def _task(client: TestClient, auth: dict[str, str], identifier: Any) -> dict[str, Any]:
    got: dict[str, Any] = _ok(client.get(f"/api/v1/tasks/{identifier}",
                                         params={"space": "team-a"}, headers=auth))["object"]
    return got


def _client_config(base: str, **auth: Any) -> dict[str, Any]:
    return {"baseUrl": base, "auth": auth,
            "pagination": {"type": "page", "parameter": "page", "size": 2},
            "retries": {"maxAttempts": 2, "backoffSeconds": 0.05, "maxWaitSeconds": 5}}


def test_a_paginated_api_through_transformers_into_postgres_then_the_failed_retried(
        client: TestClient, team: dict[str, dict[str, str]], server: tuple[str, Api],
        pg_database: dict[str, Any], pg_conn: Any) -> None:
    base, api = server
    pg_conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, name text, "
                    "total double precision CHECK (total >= 0), state text)")
    _ok(client.post("/api/v1/environment/variables", headers=team[A], json={
        "name": "SHOP_TOKEN", "encrypted": True, "allowedTargets": [base],
        "value": json.dumps({"access_token": "expired-token", "refresh_token": "refresh-1",
                             "expires_at": int(time.time()) - 60})}))
    editor = team[E]
    _save(client, editor, "http-client", "shop-api", "http-client", _client_config(
        base, type="oauth2-token", variable="SHOP_TOKEN", tokenUrl=f"{base}/token",
        clientId="sluiceway"))
    _save(client, editor, "incoming-configuration", "shop-orders", "http", {
        "client": "shop-api", "path": "/orders", "recordsPath": "data.orders",
        "identifierField": "orderId", "stream": "orders"})
    _save(client, editor, "outgoing-configuration", "orders-db", "postgres", {
        "configuration": pg_database, "stream": "orders", "key": ["id"]})
    _save(client, editor, "transformer", "rename-id", "rename", {"mapping": {"orderId": "id"}})
    _save(client, editor, "transformer", "shape", "jsonata", {
        "expression": '{"id": id, "name": $uppercase(customer.name), '
                      '"total": $number(total), "state": state}'})
    _save(client, editor, "transformer", "not-cancelled", "filter", {
        "conditions": [{"key": "state", "op": "ne", "value": "cancelled"}]})
    _save(client, editor, "route-configuration", "shop", "route", {
        "incoming": "shop-orders", "outgoing": "orders-db",
        "transformers": ["rename-id", "shape", "not-cancelled"]})

    _publish(client, editor, "shop")
    assert run_jobs(client) == 1
    with _platform(client).db.session() as s:
        job = s.scalars(select(Job).where(Job.config_type == "route")).one()
        assert job.status == "succeeded", job.error
    tasks = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"]) for t in tasks] == [
        ("1", "finished"), ("2", "skipped"), ("3", "failed"), ("4", "finished"),
        ("5", "failed")]
    assert "total_check" in _task(client, team[V], tasks[2]["identifier"])["error"]
    rows = pg_conn.execute("SELECT id, name, total, state FROM orders ORDER BY id").fetchall()
    assert rows == [(1, "ADA", 10.5, "paid"), (4, "DI", 7.25, "paid")]
    # the page answered 429 once and was asked again; the expired token was refreshed
    pages = [p for m, p in api.calls if m == "GET" and "page=2" in p]
    assert len(pages) == 2  # the 429, then the page after its Retry-After (1 s)
    assert api.page2_at[1] - api.page2_at[0] >= 0.9
    assert api.calls[0] == ("POST", "/token")  # expired: refreshed before the first call
    assert api.calls.count(("GET", "/orders?page=3")) == 1
    with _platform(client).db.session() as s:
        refreshed = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "oauth.refresh")).one()
    assert refreshed.space == "team-a"
    got = _ok(client.get("/api/v1/environment/variables/SHOP_TOKEN", headers=team[A]))
    assert got["object"]["value"] is None
    assert "refresh-2" not in str(got)
    assert api.token not in str(got)

    # the cause is fixed (the table takes negative totals), the failed tasks retried (#137)
    pg_conn.execute("ALTER TABLE orders DROP CONSTRAINT orders_total_check")
    assert _ok(client.post("/api/v1/tasks/retry?space=team-a", headers=editor, json={
        "filter": json.dumps({"where": {"status": "failed"}})})) == {
        "newStatus": "retry", "numberOfTasks": 2}
    assert run_jobs(client) == 1
    tasks = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"], t["attempts"]) for t in tasks] == [
        ("1", "finished", 1), ("2", "skipped", 1), ("3", "finished", 2), ("4", "finished", 1),
        ("5", "finished", 2)]
    rows = pg_conn.execute("SELECT id, name, total FROM orders ORDER BY id").fetchall()
    assert rows == [(1, "ADA", 10.5), (3, "CY", -4.5), (4, "DI", 7.25), (5, "ED", -1.5)]
    finished = [t["entityIdentifier"] for t in tasks if t["status"] == "finished"]
    assert sorted(finished) == [str(r[0]) for r in rows]  # one finished task per row


def test_an_http_outgoing_fails_exactly_the_entities_its_endpoint_refuses(
        client: TestClient, team: dict[str, dict[str, str]],
        server: tuple[str, Api]) -> None:
    base, api = server
    api.failing = {"2", "4"}
    editor = team[E]
    _save(client, editor, "http-client", "sink", "http-client", {
        "baseUrl": base, "auth": {"type": "bearer", "token": "sink-token-77"},
        "retries": {"maxAttempts": 1, "backoffSeconds": 0, "maxWaitSeconds": 1}})
    _save(client, editor, "incoming-configuration", "orders-hook", "webhook", {
        "token": "hook-token-31", "recordsPath": "items", "identifierField": "id"})
    _save(client, editor, "outgoing-configuration", "items-api", "http", {
        "client": "sink", "path": "/items/{id}", "method": "PUT"})
    _save(client, editor, "route-configuration", "push", "route", {
        "incoming": "orders-hook", "outgoing": "items-api"})
    posted = {"items": [{"id": i, "name": f"item {i}"} for i in range(1, 6)]}
    r = client.post("/api/v1/webhook/orders-hook", json=posted,
                    headers={"Authorization": "Bearer hook-token-31"})
    assert _ok(r)["routes"] == ["push"]
    assert client.post("/api/v1/webhook/orders-hook", json=posted,
                       headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert run_jobs(client) == 1

    tasks = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"]) for t in tasks] == [
        ("1", "finished"), ("2", "failed"), ("3", "finished"), ("4", "failed"),
        ("5", "finished")]
    for t in (tasks[1], tasks[3]):
        detail = _task(client, team[V], t["identifier"])
        logged = " ".join(line["message"] for line in detail["logs"])
        assert "HTTP 500" in logged
        assert f"boom on item {t['entityIdentifier']}" in logged
        assert "sink-token-77" not in str(detail)
    # each accepted entity was sent once; a refused one once and its one retry
    assert api.received == {"1": 1, "2": 2, "3": 1, "4": 2, "5": 1}


def test_an_http_client_aimed_at_a_denied_network_sends_nothing(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    editor = team[E]
    _save(client, editor, "http-client", "metadata", "http-client", {
        "baseUrl": "http://169.254.169.254/latest", "auth": {"type": "none"}})
    _save(client, editor, "incoming-configuration", "meta-in", "http", {
        "client": "metadata", "path": "/meta-data", "identifierField": "id"})
    _save(client, editor, "outgoing-configuration", "meta-out", "http", {
        "client": "metadata", "path": "/x"})
    _save(client, editor, "route-configuration", "meta", "route", {
        "incoming": "meta-in", "outgoing": "meta-out"})
    _publish(client, editor, "meta")
    run_jobs(client)
    with _platform(client).db.session() as s:
        job = s.scalars(select(Job).where(Job.config_type == "route")).one()
    assert job.status == "failed"
    assert "169.254.169.254" in (job.error or "")
    assert "may not reach" in (job.error or "")
    assert _tasks(client, team[V]) == []


def test_an_http_incoming_and_outgoing_are_tested_without_writing(
        client: TestClient, team: dict[str, dict[str, str]],
        server: tuple[str, Api]) -> None:
    base, api = server
    editor = team[E]
    _save(client, editor, "http-client", "shop-api", "http-client", {
        **_client_config(base, type="bearer", token=api.token)})
    _save(client, editor, "incoming-configuration", "shop-orders", "http", {
        "client": "shop-api", "path": "/orders", "recordsPath": "data.orders"})
    read = _ok(client.post("/api/v1/di/test/incoming-configuration/shop-orders",
                           params={"space": "team-a"}, headers=editor))
    assert read["object"] == ORDERS[:2]  # the first page only
    assert [p for m, p in api.calls if m == "GET"] == ["/orders?page=1"]
    # an outgoing is checked (a HEAD of the base URL), nothing is sent
    unsaved = _ok(client.post("/api/v1/di/test/outgoing-configuration",
                              params={"space": "team-a"}, headers=editor, json={
                                  "object": {"prototype": "http", "parameters": {
                                      "client": "shop-api", "path": "/items/{id}"}}}))
    assert unsaved["object"] == {"ok": True, "message": f"{base} answered 204"}
    assert ("HEAD", "/") in api.calls
    assert api.received == {}
    assert api.token not in str(unsaved)
    missing = _ok(client.post("/api/v1/di/test/incoming-configuration",
                              params={"space": "team-a"}, headers=editor, json={
                                  "object": {"prototype": "http", "parameters": {
                                      "client": "nowhere"}}}))
    assert "http-client 'nowhere' does not exist" in missing["response"]["error"]
    _save(client, editor, "http-client", "wrong-key", "http-client", {
        "baseUrl": base, "auth": {"type": "bearer", "token": "wrong-token-42"}})
    refused = _ok(client.post("/api/v1/di/test/outgoing-configuration",
                              params={"space": "team-a"}, headers=editor, json={
                                  "object": {"prototype": "http", "parameters": {
                                      "client": "wrong-key"}}}))
    assert refused["object"]["ok"] is False
    assert "HTTP 401" in refused["response"]["error"]
    assert "wrong-token-42" not in str(refused)


def test_a_batched_http_outgoing_fails_the_entities_of_the_refused_request(
        client: TestClient, team: dict[str, dict[str, str]],
        server: tuple[str, Api]) -> None:
    base, api = server
    api.failing = {"3"}
    editor = team[E]
    _save(client, editor, "http-client", "sink", "http-client", {"baseUrl": base})
    _save(client, editor, "incoming-configuration", "hook", "webhook", {
        "signingSecret": "sign-secret-8", "identifierField": "id"})
    _save(client, editor, "outgoing-configuration", "batch-api", "http", {
        "client": "sink", "path": "/batch", "batchSize": 2, "batchKey": "items"})
    _save(client, editor, "route-configuration", "push", "route", {
        "incoming": "hook", "outgoing": "batch-api"})
    body = json.dumps([{"id": i} for i in range(1, 6)]).encode()
    signature = hmac.new(b"sign-secret-8", body, hashlib.sha256).hexdigest()
    _ok(client.post("/api/v1/webhook/hook", content=body,
                    headers={"X-Signature-SHA256": f"sha256={signature}"}))
    assert run_jobs(client) == 1
    assert api.batches == [["1", "2"], ["3", "4"], ["5"]]  # a 422 is not retried
    tasks = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"]) for t in tasks] == [
        ("1", "finished"), ("2", "finished"), ("3", "failed"), ("4", "failed"),
        ("5", "finished")]
    assert "HTTP 422" in _task(client, team[V], tasks[3]["identifier"])["error"]
    # a body without the recordsPath's entities is refused, naming where they were looked for
    _save(client, editor, "incoming-configuration", "nested", "webhook", {
        "token": "nested-token-1", "recordsPath": "data.items"})
    _save(client, editor, "route-configuration", "nested-push", "route", {
        "incoming": "nested", "outgoing": "batch-api"})
    r = client.post("/api/v1/webhook/nested", json={"data": {}},
                    headers={"Authorization": "Bearer nested-token-1"})
    assert r.status_code == 400, r.text
    assert r.json()["violations"][0]["propertyPath"] == "body.data.items"


def test_the_proxy_refreshes_an_expired_oauth2_token_from_its_variable(
        client: TestClient, team: dict[str, dict[str, str]],
        server: tuple[str, Api]) -> None:
    base, api = server
    _ok(client.post("/api/v1/environment/variables", headers=team[A], json={
        "name": "ECHO_TOKEN", "encrypted": True, "allowedTargets": [base],
        "value": json.dumps({"access_token": "expired-token", "refresh_token": "refresh-1",
                             "expires_at": int(time.time()) - 60})}))
    _save(client, team[E], "http-client", "echo", "http-client", {
        "baseUrl": f"{base}/echo", "auth": {"type": "oauth2-token", "variable": "ECHO_TOKEN",
                                            "tokenUrl": f"{base}/token"}})
    r = client.post("/api/v1/http-proxy/echo?space=team-a", headers=team[E],
                    json={"hello": 1})
    assert r.status_code == 200, r.text
    assert r.json() == {"echo": {"hello": 1}}
    assert [c for c in api.calls if c[0] == "POST"] == [("POST", "/token"), ("POST", "/echo")]
    # the refreshed token was kept: the next call needs no refresh
    assert client.post("/api/v1/http-proxy/echo?space=team-a", headers=team[E],
                       json={}).status_code == 200
    assert api.calls.count(("POST", "/token")) == 1


def test_an_oauth2_token_without_allowed_targets_is_not_sent(
        client: TestClient, team: dict[str, dict[str, str]],
        server: tuple[str, Api]) -> None:
    base, api = server
    _ok(client.post("/api/v1/environment/variables", headers=team[A], json={
        "name": "LOOSE_TOKEN", "encrypted": True,
        "value": json.dumps({"access_token": api.token})}))
    _save(client, team[E], "http-client", "echo", "http-client", {
        "baseUrl": f"{base}/echo", "auth": {"type": "oauth2-token",
                                            "variable": "LOOSE_TOKEN"}})
    r = client.post("/api/v1/http-proxy/echo?space=team-a", headers=team[E], json={})
    assert r.status_code == 400, r.text
    assert "allowedTargets" in r.text
    assert api.calls == []

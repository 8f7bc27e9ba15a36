"""``/http-proxy/{identifier}``: forwards a GET, POST, PUT, PATCH or DELETE to the
http-client's base URL (a server the test starts on 127.0.0.1) with its authentication, for an
editor (a GET too), or anyone when the configuration is public; the metadata database and
denied networks are refused; the client's secrets never show in an answer or the audit."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.connectors import network
from sluiceway.store.models import AuditEntry
from tests.api.test_alumio_face import _error, _platform
from tests.api.test_alumio_routes import URL, E, V, _ok, team  # noqa: F401
from tests.helpers import serving

TOKEN = "target-token-91b2"


class _Echo(BaseHTTPRequestHandler):
    """Answers 201 with what it was sent; 401 without the bearer token."""

    def do_POST(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        size = int(self.headers.get("Content-Length") or 0)
        out = json.dumps({"path": self.path, "body": self.rfile.read(size).decode(),
                          "extra": self.headers.get("X-Extra"),
                          "method": self.command}).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def target() -> Iterator[str]:
    with serving(_Echo) as url:
        yield url


def _client(client: TestClient, auth: dict[str, str], identifier: str, base: str,
            **extra: Any) -> None:
    _ok(client.post(URL, headers=auth, json={
        "type": "http-client", "identifier": identifier, "name": identifier,
        "object": {"prototype": "http-client", "parameters": {
            "baseUrl": base, "headers": {"X-Extra": "yes"},
            "auth": {"type": "bearer", "token": TOKEN}, **extra}}}))


def test_an_editor_calls_through_the_proxy_with_the_clients_auth(
        client: TestClient, team: dict[str, dict[str, str]], target: str) -> None:  # noqa: F811
    _client(client, team[E], "echo", target + "/v1")
    r = client.post("/api/v1/http-proxy/echo?space=team-a&path=orders/7",
                    headers={**team[E], "Content-Type": "application/json"},
                    content=b'{"a": 1}')
    assert r.status_code == 201, r.text
    assert r.json() == {"path": "/v1/orders/7", "body": '{"a": 1}', "extra": "yes",
                        "method": "POST"}
    with _platform(client).db.session() as s:
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "http-proxy.forward")).one()
    assert entry.user_name == E
    assert "201" in entry.message


def test_a_viewer_or_anonymous_caller_is_refused_unless_public(
        client: TestClient, team: dict[str, dict[str, str]], target: str) -> None:  # noqa: F811
    _client(client, team[E], "echo", target)
    _error(client.post("/api/v1/http-proxy/echo?space=team-a", headers=team[V],
                       content=b"{}"), 403)
    _error(client.post("/api/v1/http-proxy/echo?space=team-a", content=b"{}"), 401)
    _client(client, team[E], "open-echo", target, public=True)
    r = client.post("/api/v1/http-proxy/open-echo?space=team-a", content=b"hi")
    assert r.status_code == 201, r.text
    assert r.json()["body"] == "hi"


def test_a_path_leaving_the_base_url_is_400(
        client: TestClient, team: dict[str, dict[str, str]], target: str) -> None:  # noqa: F811
    _client(client, team[E], "echo", target + "/v1")
    for bad in ("../admin", "http://elsewhere/x", "//elsewhere/x"):
        _error(client.post("/api/v1/http-proxy/echo", params={"space": "team-a",
                                                               "path": bad},
                           headers=team[E], content=b"{}"), 400)


def test_the_metadata_database_broker_and_denied_networks_are_refused(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:  # noqa: F811
    rules = network.NetworkPolicy(reserved=(network.Reserved(
        "the server's metadata database", "127.0.0.1", 5432, "meta"),
        network.Reserved("the server's message broker", "127.0.0.1", 6379)))
    before = network.policy()
    network.configure(rules)
    try:
        for identifier, base in (("meta", "http://127.0.0.1:5432/"),
                                 ("broker", "http://localhost:6379/"),
                                 ("metadata-service", "http://169.254.169.254/latest")):
            _client(client, team[E], identifier, base)
            body = _error(client.post(f"/api/v1/http-proxy/{identifier}?space=team-a",
                                      headers=team[E], content=b"{}"), 400)
            assert "refused" in json.dumps(body)
    finally:
        network.configure(before)
    with _platform(client).db.session() as s:
        assert s.scalars(select(AuditEntry).where(
            AuditEntry.action == "http-proxy.forward")).first() is None


def test_an_unknown_client_is_404(client: TestClient,
                                  team: dict[str, dict[str, str]]) -> None:  # noqa: F811
    _error(client.post("/api/v1/http-proxy/nothing?space=team-a", headers=team[E],
                       content=b"{}"), 404)


def test_get_put_patch_and_delete_are_forwarded_with_their_method(
        client: TestClient, team: dict[str, dict[str, str]], target: str) -> None:  # noqa: F811
    _client(client, team[E], "echo", target + "/v1")
    for method, body in (("GET", b""), ("PUT", b'{"b": 2}'), ("PATCH", b'{"c": 3}'),
                         ("DELETE", b"")):
        r = client.request(method, "/api/v1/http-proxy/echo",
                           params={"space": "team-a", "path": "orders/7?expand=lines"},
                           headers={**team[E], "Content-Type": "application/json"},
                           content=body)
        assert r.status_code == 200, (method, r.text)
        assert r.json() == {"path": "/v1/orders/7?expand=lines", "body": body.decode(),
                            "extra": "yes", "method": method}
    with _platform(client).db.session() as s:
        entries = list(s.scalars(select(AuditEntry).where(
            AuditEntry.action == "http-proxy.forward").order_by(AuditEntry.id)))
    assert sorted(e.request["method"] for e in entries) == ["DELETE", "GET", "PATCH", "PUT"]
    assert {e.request["path"] for e in entries} == {"orders/7"}  # no query kept
    # HEAD and OPTIONS are not forwarded
    assert client.request("HEAD", "/api/v1/http-proxy/echo?space=team-a",
                          headers=team[E]).status_code == 405


def test_a_viewers_get_needs_an_editor_unless_the_client_is_public(
        client: TestClient, team: dict[str, dict[str, str]], target: str) -> None:  # noqa: F811
    """Reading through a proxy may change the remote side (the target decides what a GET
    does, with the configuration's credentials): a viewer is refused, as for a POST."""
    _client(client, team[E], "echo", target)
    for method in ("GET", "DELETE"):
        _error(client.request(method, "/api/v1/http-proxy/echo?space=team-a",
                              headers=team[V]), 403)
        _error(client.request(method, "/api/v1/http-proxy/echo?space=team-a"), 401)
    _client(client, team[E], "open-echo", target, public=True)
    for who in ({}, team[V]):
        r = client.get("/api/v1/http-proxy/open-echo?space=team-a&path=stock", headers=who)
        assert r.status_code == 200, r.text
        assert r.json()["method"] == "GET"
    with _platform(client).db.session() as s:
        users = [e.user_name for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "http-proxy.forward").order_by(AuditEntry.id))]
    assert sorted(users) == sorted(["anonymous", V])


def test_a_get_to_a_denied_network_is_refused_and_secrets_stay_masked(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:  # noqa: F811
    _client(client, team[E], "metadata-service", "http://169.254.169.254/latest")
    body = _error(client.get("/api/v1/http-proxy/metadata-service?space=team-a",
                             headers=team[E]), 400)
    assert "refused" in json.dumps(body)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _ok(client.post(URL, headers=team[E], json={
        "type": "http-client", "identifier": "keyed", "name": "keyed",
        "object": {"prototype": "http-client", "parameters": {
            "baseUrl": f"http://127.0.0.1:{port}/api",
            "auth": {"type": "api-key", "queryParameter": "key", "key": "api-key-77c1"}}}}))
    failed = client.get("/api/v1/http-proxy/keyed?space=team-a&path=items", headers=team[E])
    assert failed.status_code == 400, failed.text
    assert "did not answer" in failed.text
    assert "api-key-77c1" not in failed.text
    shown = client.get(f"{URL}/http-client/keyed", params={"space": "team-a"},
                       headers=team[V])
    assert "api-key-77c1" not in shown.text

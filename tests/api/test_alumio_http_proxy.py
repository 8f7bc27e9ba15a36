"""``POST /http-proxy/{identifier}``: forwards to the http-client's base URL (a server the
test starts on 127.0.0.1) with its authentication, for an editor, or anyone when the
configuration is public; the metadata database and denied networks are refused."""

from __future__ import annotations

import json
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
                          "extra": self.headers.get("X-Extra")}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

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
    assert r.json() == {"path": "/v1/orders/7", "body": '{"a": 1}', "extra": "yes"}
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

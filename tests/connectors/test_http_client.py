"""The http-client core against a small server on 127.0.0.1: each pagination, retries that
honour Retry-After within their bounds, the 401 that renews a client-credentials token, keys
masked in errors, and a URL in a denied network refused before any request."""

from __future__ import annotations

import http.server
import ipaddress
import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sluiceway.connectors import network
from sluiceway.connectors.http.client import HttpClient, HttpFailed, _link_next, records
from tests.helpers import serving

ITEMS = [{"id": i} for i in range(1, 8)]


class Seen:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paths: list[str] = []
        self.auth: list[str | None] = []
        self.status: list[int] = []  # answers to give first (then 200s)
        self.retry_after = "0"
        self.tokens = 0


def _handler(seen: Seen) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
                  ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with seen.lock:
                seen.tokens += 1
                n = seen.tokens
            self._send(200, {"access_token": f"cc-token-{n}", "expires_in": 3600})

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            with seen.lock:
                seen.paths.append(self.path)
                seen.auth.append(self.headers.get("Authorization"))
                status = seen.status.pop(0) if seen.status else 200
            if status == 401 and self.headers.get("Authorization") == "Bearer cc-token-2":
                status = 200
            if status != 200:
                self._send(status, {"error": "no"}, {"Retry-After": seen.retry_after})
                return
            if url.path == "/offset":
                start, limit = int(q["offset"]), int(q["limit"])
                self._send(200, {"items": ITEMS[start:start + limit]})
            elif url.path == "/cursor":
                at = int(q.get("after", "0"))
                page = ITEMS[at:at + 3]
                nxt = at + 3 if at + 3 < len(ITEMS) else None
                self._send(200, {"items": page, "meta": {"next": nxt}})
            elif url.path == "/linked":
                at = int(q.get("at", "0"))
                headers = ({"Link": f'</linked?at={at + 4}>; rel="next"'}
                           if at + 4 < len(ITEMS) else {})
                self._send(200, ITEMS[at:at + 4], headers)
            elif url.path == "/away":
                self._send(200, {"items": ITEMS[:1], "next": "http://example.invalid/x"})
            else:
                self._send(200, {"items": ITEMS})

    return Handler


@pytest.fixture
def api() -> Iterator[tuple[str, Seen]]:
    seen = Seen()
    with serving(_handler(seen)) as base:
        yield base, seen


def _all(client: HttpClient, path: str) -> list[Any]:
    return [r for page in client.pages(path, "items") for r in page]


def test_offset_cursor_and_link_header_pagination_read_every_record_once(
        api: tuple[str, Seen]) -> None:
    base, seen = api
    offset = HttpClient({"baseUrl": base, "pagination": {
        "type": "offset", "parameter": "offset", "limitParameter": "limit", "limit": 3}})
    assert _all(offset, "/offset") == ITEMS
    cursor = HttpClient({"baseUrl": base, "pagination": {
        "type": "cursor", "parameter": "after", "path": "meta.next"}})
    assert _all(cursor, "/cursor") == ITEMS
    linked = HttpClient({"baseUrl": base, "pagination": {"type": "next-link",
                                                         "path": "link"}})
    assert [r for page in linked.pages("/linked", None) for r in page] == ITEMS
    assert seen.paths[-2:] == ["/linked", "/linked?at=4"]
    away = HttpClient({"baseUrl": base, "pagination": {"type": "next-link", "path": "next"}})
    with pytest.raises(HttpFailed, match="leaves the base URL's origin"):
        _all(away, "/away")


def test_retries_honour_retry_after_within_their_bounds(api: tuple[str, Seen]) -> None:
    base, seen = api
    waits: list[float] = []
    client = HttpClient({"baseUrl": base, "retries": {"maxAttempts": 3, "backoffSeconds": 0.5,
                                                      "maxWaitSeconds": 10}},
                        sleep=waits.append)
    seen.status, seen.retry_after = [429, 503], "2"
    assert _all(client, "/all") == ITEMS
    assert waits == [2.0, 2.0]
    # more failures than attempts: the last answer is the error, with its status
    waits.clear()
    seen.status = [500] * 5
    with pytest.raises(HttpFailed, match="HTTP 500") as got:
        _all(client, "/all")
    assert got.value.status == 500
    assert waits == [2.0, 2.0, 2.0]
    # a Retry-After past the total wait is not waited for
    waits.clear()
    seen.status, seen.retry_after = [429, 429], "3600"
    with pytest.raises(HttpFailed, match="HTTP 429"):
        _all(client, "/all")
    assert waits == []
    seen.status = []
    # without Retry-After the backoff doubles
    seen.retry_after = "soon"
    seen.status = [502, 502]
    assert _all(client, "/all") == ITEMS
    assert waits == [0.5, 1.0]


def test_a_401_renews_the_client_credentials_token_once(api: tuple[str, Seen]) -> None:
    base, seen = api
    client = HttpClient({"baseUrl": base, "auth": {
        "type": "oauth2-client-credentials", "tokenUrl": f"{base}/token",
        "clientId": "me", "clientSecret": "cc-secret-55"}})
    seen.status = [401]
    assert _all(client, "/all") == ITEMS
    assert seen.auth == ["Bearer cc-token-1", "Bearer cc-token-2"]
    assert seen.tokens == 2


def test_an_api_key_in_the_query_is_masked_in_errors(api: tuple[str, Seen]) -> None:
    base, seen = api
    client = HttpClient({"baseUrl": base, "auth": {"type": "api-key",
                                                   "queryParameter": "api_key",
                                                   "key": "key-abcdef-123"},
                         "retries": {"maxAttempts": 0}})
    seen.status = [404]
    with pytest.raises(HttpFailed) as got:
        _all(client, "/all")
    assert "key-abcdef-123" not in str(got.value)
    assert "HTTP 404" in str(got.value)
    assert "api_key=key-abcdef-123" in seen.paths[0]


@pytest.fixture
def loopback_denied() -> Iterator[None]:
    before = network.policy()
    network.configure(network.NetworkPolicy(
        before.deny + (ipaddress.ip_network("127.0.0.0/8"),), (), before.reserved))
    try:
        yield
    finally:
        network.configure(before)


def test_a_url_in_a_denied_network_is_refused_before_any_request(
        api: tuple[str, Seen], loopback_denied: None) -> None:
    base, seen = api
    for url in (base, "http://169.254.169.254/latest"):
        client = HttpClient({"baseUrl": url, "auth": {"type": "bearer",
                                                      "token": "never-sent-1"}})
        with pytest.raises(network.TargetRefused, match="may not reach"):
            _all(client, "/all")
    assert seen.paths == []


def test_records_and_link_headers() -> None:
    assert records({"a": {"b": [{"x": 1}]}}, "a.b") == [{"x": 1}]
    assert records({"a": {"x": 1}}, "a") == [{"x": 1}]
    assert records({}, "a.b") == []
    with pytest.raises(HttpFailed.__mro__[1], match="not all objects"):
        records([1], None)
    assert _link_next('<https://a/x?p=2>; rel="next", <https://a/x?p=9>; rel="last"') == \
        "https://a/x?p=2"
    assert _link_next('<https://a/x?p=1>; rel="prev"') is None


def test_the_highest_cursor_value_compares_numbers_as_numbers_and_text_as_text() -> None:
    from sluiceway.connectors.base import highest

    assert highest([{"v": 9}, {"v": 10}, {"v": None}, {}], "v") == 10
    assert highest([{"m": {"at": "2027-01-02"}}, {"m": {"at": "2027-01-10"}}], "m.at",
                   "2027-01-05") == "2027-01-10"
    assert highest([{"v": 3}], "v", 7) == 7
    assert highest([], "v", None) is None
    assert highest([{"v": {"nested": 1}}, {"v": [1]}], "v") is None

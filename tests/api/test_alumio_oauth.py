"""OAuth helpers against a small provider the test starts on 127.0.0.1: OAuth2 with PKCE
(#94 and ``GET /oauth/callback``) and OAuth1 (#93, #95) end in an encrypted variable of the
space; a wrong state, another user, a viewer and a refused provider address are refused."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
from authlib.oauth1.rfc5849.signature import verify_hmac_sha1
from authlib.oauth1.rfc5849.wrapper import OAuth1Request
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.store.models import AuditEntry, EnvironmentVariable
from tests.api.test_alumio_face import A, E, V, _error, _platform
from tests.helpers import serving

CLIENT_ID, CLIENT_SECRET = "sluiceway-app", "app-secret-3f9d"
CONSUMER_KEY, CONSUMER_SECRET = "consumer-1", "consumer-secret-8a1c"


class _Secret:
    def __init__(self, secret: str) -> None:
        self.secret = secret

    def get_client_secret(self) -> str:
        return self.secret

    def get_oauth_token_secret(self) -> str:
        return self.secret


class _Provider(BaseHTTPRequestHandler):
    """OAuth2 token endpoint (checks the client, the code and the PKCE verifier) and OAuth1
    request and access token endpoints (check the HMAC-SHA1 signatures)."""

    codes: ClassVar[dict[str, str]] = {}  # code -> code_challenge
    temporary: ClassVar[dict[str, str]] = {}  # oauth_token -> secret
    verifiers: ClassVar[dict[str, str]] = {}

    def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size).decode()
        uri = f"http://{self.headers['Host']}{self.path}"
        if self.path == "/token":
            self._token(dict(parse_qsl(body)))
            return
        request = OAuth1Request("POST", uri, body, dict(self.headers))
        if self.path == "/request_token":
            request.client = _Secret(CONSUMER_SECRET)
            if request.client_id != CONSUMER_KEY or not verify_hmac_sha1(request) \
                    or not request.redirect_uri:
                self._answer(401, b"bad signature", "text/plain")
                return
            token, secret = secrets.token_hex(8), secrets.token_hex(8)
            self.temporary[token] = secret
            self.verifiers[token] = secrets.token_hex(4)
            self._answer(200, urlencode({"oauth_token": token, "oauth_token_secret": secret,
                                         "oauth_callback_confirmed": "true"}).encode(),
                         "application/x-www-form-urlencoded")
        elif self.path == "/access_token":
            token = request.token or ""
            request.client = _Secret(CONSUMER_SECRET)
            request.credential = _Secret(self.temporary.get(token, "?"))
            if not verify_hmac_sha1(request) or request.oauth_params.get(
                    "oauth_verifier") != self.verifiers.get(token):
                self._answer(401, b"bad signature", "text/plain")
                return
            self._answer(200, urlencode({"oauth_token": "final-token",
                                         "oauth_token_secret": "final-secret"}).encode(),
                         "application/x-www-form-urlencoded")
        else:
            self._answer(404, b"{}")

    def _token(self, form: dict[str, str]) -> None:
        expected = "Basic " + base64.b64encode(
            f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        challenge = self.codes.pop(form.get("code", ""), None)
        made = base64.urlsafe_b64encode(hashlib.sha256(
            form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
        if self.headers.get("Authorization") != expected or challenge is None \
                or made != challenge or form.get("grant_type") != "authorization_code":
            self._answer(400, b'{"error": "invalid_grant"}')
            return
        self._answer(200, json.dumps({"access_token": "access-9e1", "token_type": "Bearer",
                                      "refresh_token": "refresh-77", "expires_in": 3600,
                                      }).encode())

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the provider's own checks, on http
    with serving(_Provider) as url:
        yield url


def _variable(client: TestClient, name: str) -> str:
    p = _platform(client)
    with p.db.session() as s:
        v = s.scalars(select(EnvironmentVariable).where(EnvironmentVariable.name == name)).one()
        assert v.encrypted
        return p.cipher.decrypt(v.value)


def _oauth2(provider: str) -> str:
    return json.dumps({"clientId": CLIENT_ID, "clientSecret": "${APP_SECRET}",
                       "authorizationUrl": provider + "/authorize",
                       "tokenUrl": provider + "/token", "scope": "read"})


def _start2(client: TestClient, auth: dict[str, str], provider: str) -> dict[str, str]:
    r = client.get("/api/v1/oauth/authorize", headers=auth, follow_redirects=False,
                   params={"provider": _oauth2(provider), "key": "SHOP_TOKEN",
                           "callbackId": "shop", "space": "team-a"})
    assert r.status_code == 302, r.text
    where = urlsplit(r.headers["location"])
    assert f"{where.scheme}://{where.netloc}{where.path}" == provider + "/authorize"
    return {k: v[0] for k, v in parse_qs(where.query).items()}


@pytest.fixture
def app_secret(client: TestClient, team: dict[str, dict[str, str]]) -> None:  # noqa: F811
    r = client.post("/api/v1/environment/variables?space=team-a", headers=team[A], json={
        "name": "APP_SECRET", "value": CLIENT_SECRET, "encrypted": True})
    assert r.status_code in (200, 201), r.text


def test_oauth2_with_pkce_ends_in_an_encrypted_variable(
        client: TestClient, team: dict[str, dict[str, str]], provider: str,  # noqa: F811
        app_secret: None) -> None:
    asked = _start2(client, team[A], provider)
    assert asked["client_id"] == CLIENT_ID
    assert asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"].endswith("/api/v1/oauth/callback")
    assert CLIENT_SECRET not in json.dumps(asked)
    _Provider.codes["code-1"] = asked["code_challenge"]  # the user approved
    r = client.get("/api/v1/oauth/callback", headers=team[A],
                   params={"code": "code-1", "state": asked["state"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"key": "SHOP_TOKEN", "callbackId": "shop", "stored": True}
    token = json.loads(_variable(client, "SHOP_TOKEN"))
    assert token["access_token"] == "access-9e1"
    assert token["refresh_token"] == "refresh-77"
    with _platform(client).db.session() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"oauth.token", "variable.create"} <= actions


def test_a_reused_or_forged_state_or_another_user_is_refused(
        client: TestClient, team: dict[str, dict[str, str]], provider: str,  # noqa: F811
        app_secret: None) -> None:
    asked = _start2(client, team[A], provider)
    _Provider.codes["code-2"] = asked["code_challenge"]
    _error(client.get("/api/v1/oauth/callback", headers=team[A],
                      params={"code": "code-2", "state": asked["state"][:-4] + "AAAA"}), 400)
    _error(client.get("/api/v1/oauth/callback", headers=team[E],
                      params={"code": "code-2", "state": asked["state"]}), 403)
    # a code the provider does not know (or a wrong verifier) gives no token
    _error(client.get("/api/v1/oauth/callback", headers=team[A],
                      params={"code": "unknown", "state": asked["state"]}), 400)
    with _platform(client).db.session() as s:
        assert s.scalars(select(EnvironmentVariable).where(
            EnvironmentVariable.name == "SHOP_TOKEN")).first() is None


def test_only_administrators_start_and_bad_input_names_the_field(
        client: TestClient, team: dict[str, dict[str, str]], provider: str,  # noqa: F811
        app_secret: None) -> None:
    for who in (V, E):
        _error(client.get("/api/v1/oauth/authorize", headers=team[who],
                          follow_redirects=False,
                          params={"provider": _oauth2(provider), "key": "T",
                                  "space": "team-a"}), 403)
    bad = {"clientId": CLIENT_ID, "tokenUrl": "ftp://x/token"}
    body = _error(client.get("/api/v1/oauth/authorize", headers=team[A],
                             params={"provider": json.dumps(bad), "key": "T",
                                     "space": "team-a"}), 400)
    paths = {v["propertyPath"] for v in body["violations"]}
    assert "provider.authorizationUrl" in paths
    body = _error(client.get("/api/v1/oauth/authorize", headers=team[A],
                             params={"provider": _oauth2(provider), "key": "no spaces",
                                     "space": "team-a"}), 400)
    assert body["violations"][0]["propertyPath"] == "key"


def test_a_token_url_in_a_denied_network_is_refused(
        client: TestClient, team: dict[str, dict[str, str]], provider: str,  # noqa: F811
        app_secret: None) -> None:
    given = json.loads(_oauth2(provider))
    given["tokenUrl"] = "http://169.254.169.254/token"
    r = client.get("/api/v1/oauth/authorize", headers=team[A], follow_redirects=False,
                   params={"provider": json.dumps(given), "key": "T", "space": "team-a"})
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    body = _error(client.get("/api/v1/oauth/callback", headers=team[A],
                             params={"code": "c", "state": state}), 400)
    assert "refused" in body["detail"]


def test_oauth1_request_token_authorize_and_callback(
        client: TestClient, team: dict[str, dict[str, str]], provider: str,  # noqa: F811
        ) -> None:
    spec = json.dumps({"consumerKey": CONSUMER_KEY, "consumerSecret": CONSUMER_SECRET,
                       "requestTokenUrl": provider + "/request_token",
                       "authorizeUrl": provider + "/authorize",
                       "accessTokenUrl": provider + "/access_token"})
    r = client.get("/api/v1/oauth1/authorize", headers=team[A], follow_redirects=False,
                   params={"provider": spec, "key": "OAUTH1_TOKEN", "space": "team-a"})
    assert r.status_code == 302, r.text
    token = parse_qs(urlsplit(r.headers["location"]).query)["oauth_token"][0]
    verifier = _Provider.verifiers[token]
    _error(client.get("/api/v1/oauth1/callback", headers=team[A],
                      params={"oauth_token": token, "oauth_verifier": "wrong"}), 400)
    r = client.get("/api/v1/oauth1/callback", headers=team[A],
                   params={"oauth_token": token, "oauth_verifier": verifier})
    assert r.status_code == 200, r.text
    assert r.json()["key"] == "OAUTH1_TOKEN"
    assert json.loads(_variable(client, "OAUTH1_TOKEN")) == {
        "oauth_token": "final-token", "oauth_token_secret": "final-secret"}

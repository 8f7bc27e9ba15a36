"""OAuth helpers (#93-95 and ``GET /oauth/callback``): obtain a token from a provider and keep
it in an encrypted variable of the space (``key`` names it).

* OAuth2 (#94): the authorization-code flow with PKCE (S256). The start answers with the
  provider's authorization URL; the provider sends the browser back to ``/oauth/callback``
  with ``code`` and ``state``; the code is exchanged at the token URL with the verifier.
* OAuth1 (#93, #95): a signed request for a temporary token, the provider's authorization
  page, and back at ``/oauth1/callback`` with ``oauth_token`` and ``oauth_verifier``, the
  exchange for the token and its secret.

Nothing is stored between the start and the callback: what the callback needs (the space,
the user, the variable, the provider, the PKCE verifier or the temporary token's secret)
travels sealed with the server's key (authenticated encryption), valid for
:data:`STATE_SECONDS`: OAuth2's ``state`` parameter, a browser cookie for OAuth1; only the
user who started the flow may end it. The provider's values may be ``${NAME}`` variables of
the space (a client secret kept encrypted). Every request to the provider passes the network
checks (:mod:`sluiceway.connectors.network`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth1 import ClientAuth
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.fernet import InvalidToken

from sluiceway.core.errors import (
    Conflict,
    ConnectorError,
    FieldError,
    Forbidden,
    InvalidInput,
    SluicewayError,
)
from sluiceway.jobs.kinds.actors import space_variables
from sluiceway.secrets import variables as refs
from sluiceway.services import audit, http_proxy, policy, variables
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform

STATE_SECONDS = 600
_OAUTH2 = {"clientId": True, "clientSecret": False, "authorizationUrl": True,
           "tokenUrl": True, "scope": False}
_OAUTH1 = {"consumerKey": True, "consumerSecret": True, "requestTokenUrl": True,
           "authorizeUrl": True, "accessTokenUrl": True}
TIMEOUT = 30.0


class ProviderFailed(ConnectorError):
    """The provider refused or gave no token."""


@dataclass(frozen=True)
class Finished:
    key: str
    callback_id: str | None
    space: str


def _provider(p: Platform, workspace_id: str, raw: str | Mapping[str, Any],
              fields: Mapping[str, bool]) -> dict[str, str]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InvalidInput("invalid provider", [FieldError(
                "provider", "must be a JSON object")]) from None
    if not isinstance(raw, Mapping):
        raise InvalidInput("invalid provider", [FieldError("provider",
                                                           "must be a JSON object")])
    errors = [FieldError(f"provider.{k}", "is required") for k, needed in fields.items()
              if needed and not (isinstance(raw.get(k), str) and raw.get(k))]
    errors += [FieldError(f"provider.{k}", "is not a field of this provider; one of "
                          + ", ".join(fields)) for k in raw if k not in fields]
    errors += [FieldError(f"provider.{k}", "must be text") for k, v in raw.items()
               if k in fields and v is not None and not isinstance(v, str)]
    if errors:
        raise InvalidInput("invalid provider", errors)
    given = {k: str(v) for k, v in raw.items() if v is not None}
    with p.db.session() as s:
        known = space_variables(s, workspace_id, p.cipher, refs.names(given))
    resolved, missing = refs.resolve(given, known)
    problems = missing + refs.guard(given, resolved, known)
    if problems:
        raise InvalidInput("invalid provider", [
            FieldError(f"provider.{e.path}", e.reason) for e in problems])
    for k, v in resolved.items():
        if k.endswith("Url") and urlsplit(v).scheme not in ("http", "https"):
            raise InvalidInput("invalid provider", [FieldError(
                f"provider.{k}", "must be an http or https URL", v)])
    return dict(resolved)


def _check_key(key: str) -> None:
    if not refs.NAME.match(key or "") or len(key) > 255:
        raise InvalidInput("invalid key", [FieldError(
            "key", "the variable's name: 1 to 255 characters of a-z, A-Z, 0-9, _ and -",
            key)])


def _seal(p: Platform, state: dict[str, Any]) -> str:
    return p.cipher.encrypt(json.dumps({**state, "until": time.time() + STATE_SECONDS}))


def _unseal(p: Platform, caller: Caller, sealed: str, flow: str) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(p.cipher.decrypt(sealed))
    except (SluicewayError, InvalidToken, ValueError):
        state = {}
    if state.get("flow") != flow or float(state.get("until") or 0) < time.time():
        raise InvalidInput("invalid state", [FieldError(
            "state", "unknown or expired: start the authorisation again")])
    if state.get("user") != caller.user_id:
        raise Forbidden("only the user who started the authorisation may end it")
    return state


def _store(p: Platform, caller: Caller, workspace_id: str, key: str, token: dict[str, Any],
           what: str) -> None:
    value = json.dumps(token, sort_keys=True)
    description = f"{what} token"
    try:
        variables.create(p, caller, workspace_id, variables.VariableInput(
            key, value, description, encrypted=True))
    except Conflict:
        variables.update(p, caller, workspace_id, key, variables.VariableInput(
            key, value, description, encrypted=True))


def _answer_form(body: bytes, status: int, what: str) -> dict[str, str]:
    if status >= 400:
        raise ProviderFailed(f"the provider's {what} answered {status}")
    try:
        return dict(parse_qsl(body.decode(), strict_parsing=True))
    except (ValueError, UnicodeError):
        raise ProviderFailed(f"the provider's {what} answer is not form-encoded") from None


# --- OAuth2 with PKCE --------------------------------------------------------------------------

def start_oauth2(p: Platform, caller: Caller, workspace_id: str, provider: str | Mapping[str, Any],
                 key: str, callback_id: str | None, redirect_uri: str) -> str:
    """The provider's authorization URL to send the browser to (#94)."""
    policy.require(caller, policy.MANAGE, workspace_id)
    _check_key(key)
    given = _provider(p, workspace_id, provider, _OAUTH2)
    verifier = generate_token(64)
    state = _seal(p, {"flow": "oauth2", "space": workspace_id, "user": caller.user_id,
                      "key": key, "callbackId": callback_id, "provider": provider,
                      "verifier": verifier, "redirect": redirect_uri})
    params = {"response_type": "code", "client_id": given["clientId"],
              "redirect_uri": redirect_uri, "state": state,
              "code_challenge": create_s256_code_challenge(verifier),
              "code_challenge_method": "S256"}
    if given.get("scope"):
        params["scope"] = given["scope"]
    return str(add_params_to_uri(given["authorizationUrl"], list(params.items())))


def finish_oauth2(p: Platform, caller: Caller, code: str, state: str) -> Finished:
    """Exchange the code for a token and keep it in the variable (``GET /oauth/callback``)."""
    s = _unseal(p, caller, state, "oauth2")
    workspace_id = str(s["space"])
    policy.require(caller, policy.MANAGE, workspace_id)
    given = _provider(p, workspace_id, s["provider"], _OAUTH2)
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": str(s["redirect"]), "code_verifier": str(s["verifier"]),
            "client_id": given["clientId"]}
    auth = ((given["clientId"], given["clientSecret"]) if given.get("clientSecret")
            else None)
    r = http_proxy.send("POST", given["tokenUrl"], headers={"Accept": "application/json"},
                        timeout=TIMEOUT, data=form, auth=auth)
    try:
        token = r.json() if r.is_success else None
    except ValueError:
        token = None
    if not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
        raise ProviderFailed(f"the token endpoint answered {r.status_code} without an "
                             "access_token")
    if isinstance(token.get("expires_in"), int | float):
        token["expires_at"] = int(time.time() + token["expires_in"])
    _store(p, caller, workspace_id, str(s["key"]), token, "OAuth2")
    audit.record_now(p, caller, "oauth.token", "environment",
                     f"OAuth2 token kept in ${{{s['key']}}}",
                     request={"key": s["key"], "tokenUrl": given["tokenUrl"]},
                     workspace_id=workspace_id)
    return Finished(str(s["key"]), s.get("callbackId"), workspace_id)


# --- OAuth1 ------------------------------------------------------------------------------------

def _signed(method: str, url: str, auth: ClientAuth) -> tuple[int, bytes]:
    uri, headers, _ = auth.prepare(method, url, {}, b"")
    r = http_proxy.send(method, str(uri), headers=dict(headers), timeout=TIMEOUT)
    return r.status_code, r.content


def start_oauth1(p: Platform, caller: Caller, workspace_id: str, provider: str | Mapping[str, Any],
                 key: str, callback_id: str | None, callback_uri: str) -> tuple[str, str]:
    """Get a temporary token (#93): the provider's authorization URL, and the sealed state
    the callback needs (the faces keep it in a cookie of the browser, since OAuth1 carries
    no state parameter)."""
    policy.require(caller, policy.MANAGE, workspace_id)
    _check_key(key)
    given = _provider(p, workspace_id, provider, _OAUTH1)
    status, body = _signed("POST", given["requestTokenUrl"], ClientAuth(
        given["consumerKey"], given["consumerSecret"], redirect_uri=callback_uri))
    temporary = _answer_form(body, status, "request token URL")
    if "oauth_token" not in temporary or "oauth_token_secret" not in temporary:
        raise ProviderFailed("the provider's request token answer has no oauth_token")
    state = _seal(p, {"flow": "oauth1", "space": workspace_id, "user": caller.user_id,
                      "key": key, "callbackId": callback_id, "provider": provider,
                      "token": temporary["oauth_token"],
                      "secret": temporary["oauth_token_secret"]})
    url = add_params_to_uri(given["authorizeUrl"], [("oauth_token", temporary["oauth_token"])])
    return str(url), state


def finish_oauth1(p: Platform, caller: Caller, oauth_token: str, oauth_verifier: str,
                  state: str) -> Finished:
    """Exchange the temporary token for the token and its secret (#95)."""
    s = _unseal(p, caller, state, "oauth1")
    if s.get("token") != oauth_token:
        raise InvalidInput("invalid oauth_token", [FieldError(
            "oauth_token", "is not the temporary token of this authorisation")])
    workspace_id = str(s["space"])
    policy.require(caller, policy.MANAGE, workspace_id)
    given = _provider(p, workspace_id, s["provider"], _OAUTH1)
    status, body = _signed("POST", given["accessTokenUrl"], ClientAuth(
        given["consumerKey"], given["consumerSecret"], token=oauth_token,
        token_secret=str(s["secret"]), verifier=oauth_verifier))
    token = _answer_form(body, status, "access token URL")
    if "oauth_token" not in token or "oauth_token_secret" not in token:
        raise ProviderFailed("the provider's access token answer has no oauth_token")
    _store(p, caller, workspace_id, str(s["key"]), token, "OAuth1")
    audit.record_now(p, caller, "oauth1.token", "environment",
                     f"OAuth1 token kept in ${{{s['key']}}}",
                     request={"key": s["key"], "accessTokenUrl": given["accessTokenUrl"]},
                     workspace_id=workspace_id)
    return Finished(str(s["key"]), s.get("callbackId"), workspace_id)

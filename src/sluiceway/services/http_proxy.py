"""The HTTP proxy (``GET``, ``POST``, ``PUT``, ``PATCH`` and ``DELETE`` of
``/http-proxy/{identifier}``): a call forwarded, with its method, to the base URL of an
``http-client`` configuration with that configuration's headers and authentication.

Only an editor of the space may use it, unless the configuration is marked ``public``; a
``GET`` too (reading through a proxy may change the remote side: the target decides what a
``GET`` does, and the call carries the configuration's credentials, not the caller's). The
target passes the connectors' network checks (:mod:`sluiceway.connectors.network`): never the
metadata database or the broker, never a denied network; the request goes to the address that
was checked (the name is not resolved again), redirects are not followed. ``${NAME}``
variables of the configuration are resolved, with the encrypted variables' allowedTargets.
The call goes through the configuration's client (:mod:`sluiceway.connectors.http.client`),
with its headers and authentication (an ``oauth2-token`` refreshed in its variable when it
has expired), sent once: a forwarded call is not retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from sluiceway.connectors.http.client import HttpClient, HttpFailed, pinned_client
from sluiceway.core.errors import ConfigInvalid, Fatal, FieldError, InvalidInput, NotFound
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.actors import space_variables
from sluiceway.jobs.kinds.http_tokens import VariableTokens
from sluiceway.secrets import unseal
from sluiceway.secrets import variables as refs
from sluiceway.services import audit, policy, prototypes
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Configuration, Workspace

CLIENT = "http-client"
#: request headers passed on to the target (the caller's own credentials never are)
PASSED = ("content-type", "accept", "accept-language")
#: the methods forwarded
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: response headers passed back
RETURNED = ("content-type", "cache-control", "etag", "last-modified", "retry-after")


class NeedsLogin(Exception):
    """The configuration is not public and the call carries no login."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class _Client:
    workspace_id: str
    space: str
    parameters: dict[str, Any]


def _find(p: Platform, identifier: str, space: str | None) -> list[_Client]:
    """The enabled http-clients named ``identifier`` (in ``space``), parameters unsealed
    but their ``${NAME}`` references not yet resolved."""
    with p.db.session() as s:
        q = select(Configuration, Workspace.slug).join(
            Workspace, Workspace.id == Configuration.workspace_id).where(
            Configuration.type == CLIENT, Configuration.identifier == identifier,
            Configuration.disabled.is_(False))
        if space is not None:
            q = q.where(Workspace.slug == space)
        return [_Client(c.workspace_id, slug,
                        unseal(dict(c.object.get("parameters") or {}), p.cipher))
                for c, slug in s.execute(q).all()]


def _resolved(p: Platform, identifier: str, client: _Client) -> _Client:
    """``client`` with the variables of its space in place."""
    with p.db.session() as s:
        variables = space_variables(s, client.workspace_id, p.cipher,
                                    refs.names(client.parameters))
    resolved, missing = refs.resolve(client.parameters, variables,
                                     prototypes.get_prototype(CLIENT, CLIENT).schema)
    problems = missing + refs.guard(client.parameters, resolved, variables)
    if problems:
        raise ConfigInvalid(f"the http-client {identifier!r} cannot be used", problems)
    return _Client(client.workspace_id, client.space, dict(resolved))


def _pick(p: Platform, caller: Caller | None, identifier: str, space: str | None) -> _Client:
    if caller is None:
        public = [c for c in _find(p, identifier, space) if c.parameters.get("public") is True]
        if not public:
            raise NeedsLogin(f"the http-client {identifier!r} is not public: log in as an "
                             "editor of its space")
        if len(public) > 1:
            raise InvalidInput("the http-client exists in more than one space", [FieldError(
                "space", "name the space (query parameter space) of the http-client")])
        return _resolved(p, identifier, public[0])
    mine = [c for c in _find(p, identifier, space) if policy.role_in(caller, c.workspace_id)]
    if space is None and len(mine) > 1:
        raise InvalidInput("the http-client exists in more than one space", [FieldError(
            "space", "name the space (query parameter space) of the http-client")])
    if not mine:
        raise NotFound(f"http-client {identifier!r} not found", identifier)
    if mine[0].parameters.get("public") is not True:
        policy.require(caller, policy.CHANGE, mine[0].workspace_id)
    return _resolved(p, identifier, mine[0])


def send(method: str, url: str, *, headers: dict[str, str], timeout: float,
         content: bytes | None = None, data: dict[str, str] | None = None,
         auth: tuple[str, str] | None = None) -> httpx.Response:
    """One request to ``url`` at an address the network checks passed (no redirects)."""
    with pinned_client(timeout) as client:
        return client.request(method, url, headers=headers, content=content, data=data,
                              auth=auth)


def _tokens(p: Platform, client: _Client) -> VariableTokens | None:
    """The token store of an ``oauth2-token`` http-client (its encrypted variable)."""
    auth = dict(client.parameters.get("auth") or {})
    if auth.get("type") != "oauth2-token":
        return None
    ctx = AttemptContext(p.settings, p.db, job_id=0, attempt_id=0)
    try:
        return VariableTokens(ctx, client.workspace_id, str(auth.get("variable")),
                              "http-proxy", [str(client.parameters["baseUrl"])])
    except Fatal as exc:
        raise ConfigInvalid("the http-client cannot be used", [FieldError(
            "auth.variable", exc.message, auth.get("variable"))]) from None


def forward(p: Platform, caller: Caller | None, identifier: str, space: str | None, *,
            path: str | None, body: bytes, headers: dict[str, str],
            address: str = "unknown", method: str = "POST") -> Answer:
    """Send ``body`` with ``method`` to the http-client's base URL (``path`` below it) and
    give back the target's answer; raise :class:`NeedsLogin` for an anonymous call to a
    private one."""
    method = method.upper()
    if method not in METHODS:
        raise InvalidInput("method not forwarded", [FieldError(
            "method", f"the proxy forwards {', '.join(METHODS)}", method)])
    client = _pick(p, caller, identifier, space)
    params = client.parameters
    # a forwarded call is sent once (no retries: it may not be idempotent); an expired or
    # refused OAuth2 token is renewed first
    http = HttpClient({**params, "retries": {"maxAttempts": 0}}, tokens=_tokens(p, client))
    sent = {k: v for k, v in headers.items() if k.lower() in PASSED}
    with http:
        url = http.url(path)
        try:
            r = http.request(method, url, headers=sent, content=body or None)
        except HttpFailed as exc:
            raise ConfigInvalid("the http-client's target did not answer", [FieldError(
                "baseUrl", exc.message, params["baseUrl"])]) from None
    who = caller or Caller(user_id="", username="anonymous", workspace_ids=frozenset(),
                          address=address)
    audit.record_now(p, who, "http-proxy.forward", "http-client",
                     f"proxied {method} ({len(body)} bytes) through {identifier!r}: "
                     f"{r.status_code}",
                     request={"identifier": identifier, "method": method,
                              "path": (path or "").partition("?")[0],
                              "status": r.status_code}, workspace_id=client.workspace_id)
    return Answer(r.status_code, r.content,
                  {k: v for k, v in r.headers.items() if k.lower() in RETURNED})

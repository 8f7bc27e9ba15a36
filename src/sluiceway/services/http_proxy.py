"""The HTTP proxy (``POST /http-proxy/{identifier}``): a call forwarded to the base URL of an
``http-client`` configuration with that configuration's headers and authentication.

Only an editor of the space may use it, unless the configuration is marked ``public``. The
target passes the connectors' network checks (:mod:`sluiceway.connectors.network`): never the
metadata database or the broker, never a denied network; the request goes to the address that
was checked (the name is not resolved again), redirects are not followed. ``${NAME}``
variables of the configuration are resolved, with the encrypted variables' allowedTargets.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select

from sluiceway.connectors import network
from sluiceway.core.errors import ConfigInvalid, FieldError, InvalidInput, NotFound
from sluiceway.jobs.kinds.actors import space_variables
from sluiceway.secrets import unseal
from sluiceway.secrets import variables as refs
from sluiceway.services import audit, policy, prototypes
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Configuration, Workspace

CLIENT = "http-client"
#: request headers passed on to the target (the caller's own credentials never are)
PASSED = ("content-type", "accept", "accept-language")
#: response headers passed back
RETURNED = ("content-type", "cache-control", "etag", "last-modified", "retry-after")
DEFAULT_TIMEOUT = 30.0


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


def _target(base: str, path: str | None) -> str:
    if not path:
        return base
    if "://" in path or path.startswith("//") or ".." in path.split("/"):
        raise InvalidInput("invalid path", [FieldError(
            "path", "a path below the base URL (no scheme, host or '..')", path)])
    return base.rstrip("/") + "/" + path.lstrip("/")


def _pinned(url: str) -> tuple[str, str, dict[str, Any]]:
    """The URL with its host replaced by the checked address, the Host header, and the
    request extensions (the TLS server name stays the host's)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigInvalid("invalid http-client", [FieldError(
            "baseUrl", "must be an http or https URL with a host", url)])
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = network.check_target(parts.hostname, port, system="HTTP")[0]
    shown = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((parts.scheme, f"{shown}:{port}", parts.path, parts.query, ""))
    host = parts.netloc.rpartition("@")[2]
    return pinned, host, {"sni_hostname": parts.hostname}


def send(method: str, url: str, *, headers: dict[str, str], timeout: float,
          content: bytes | None = None, data: dict[str, str] | None = None,
          auth: tuple[str, str] | None = None) -> httpx.Response:
    """One request to ``url`` at the address the network checks passed (no redirects)."""
    pinned, host, extensions = _pinned(url)
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        if auth is not None:
            headers = {**headers, "Authorization": _basic(*auth)}
        request = client.build_request(method, pinned, headers={**headers, "Host": host},
                                       content=content, data=data, extensions=extensions)
        return client.send(request)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _auth_headers(auth: dict[str, Any], timeout: float) -> dict[str, str]:
    kind = auth.get("type", "none")
    if kind == "basic":
        return {"Authorization": _basic(str(auth["username"]), str(auth["password"]))}
    if kind == "bearer":
        return {"Authorization": f"Bearer {auth['token']}"}
    if kind == "api-key":
        return {str(auth["header"]): str(auth["key"])}
    if kind == "oauth2-client-credentials":
        form = {"grant_type": "client_credentials"}
        if auth.get("scope"):
            form["scope"] = str(auth["scope"])
        r = send("POST", str(auth["tokenUrl"]), headers={"Accept": "application/json"},
                  timeout=timeout, data=form,
                  auth=(str(auth["clientId"]), str(auth["clientSecret"])))
        token = r.json().get("access_token") if r.is_success else None
        if not isinstance(token, str):
            raise ConfigInvalid("the token endpoint gave no access token", [FieldError(
                "auth.tokenUrl", f"answered {r.status_code} without access_token")])
        return {"Authorization": f"Bearer {token}"}
    return {}


def forward(p: Platform, caller: Caller | None, identifier: str, space: str | None, *,
            path: str | None, body: bytes, headers: dict[str, str],
            address: str = "unknown") -> Answer:
    """Send ``body`` to the http-client's base URL (``path`` below it) and give back the
    target's answer; raise :class:`NeedsLogin` for an anonymous call to a private one."""
    client = _pick(p, caller, identifier, space)
    params = client.parameters
    timeout = float(params.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    url = _target(str(params["baseUrl"]), path)
    sent = {k: v for k, v in headers.items() if k.lower() in PASSED}
    sent.update({str(k): str(v) for k, v in dict(params.get("headers") or {}).items()})
    sent.update(_auth_headers(dict(params.get("auth") or {}), timeout))
    try:
        r = send("POST", url, headers=sent, timeout=timeout, content=body)
    except httpx.HTTPError as exc:
        raise ConfigInvalid("the http-client's target did not answer", [FieldError(
            "baseUrl", f"{type(exc).__name__}: {exc}", params["baseUrl"])]) from None
    who = caller or Caller(user_id="", username="anonymous", workspace_ids=frozenset(),
                          address=address)
    audit.record_now(p, who, "http-proxy.forward", "http-client",
                     f"proxied {len(body)} bytes through {identifier!r}: {r.status_code}",
                     request={"identifier": identifier, "path": path or "",
                              "status": r.status_code}, workspace_id=client.workspace_id)
    return Answer(r.status_code, r.content,
                  {k: v for k, v in r.headers.items() if k.lower() in RETURNED})

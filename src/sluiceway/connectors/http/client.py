"""The HTTP client of an ``http-client`` configuration: base URL, authentication, retries
and pagination, used by the HTTP incoming and outgoing and by the HTTP proxy.

* Every request (to the base URL, a followed next link, a token endpoint) goes through
  :class:`PinnedTransport`: its host passes the network checks
  (:func:`sluiceway.connectors.network.check_target`) before anything is sent, and the
  request goes to the address that was checked. Redirects are not followed.
* Authentication: ``none``, ``basic``, ``bearer``, ``api-key`` (a header or a query
  parameter), ``oauth2-client-credentials`` (a token fetched from the token endpoint, fetched
  again when it expires or on a 401) and ``oauth2-token``: the token an OAuth flow kept in an
  encrypted variable (a :class:`TokenStore`), refreshed with its refresh token when it has
  expired or the API answers 401, and written back. The OAuth requests are made with authlib.
* Retries: a 429 or 5xx answer (or a connection error) is sent again after an exponential
  backoff, or after the answer's ``Retry-After``, at most ``maxAttempts`` times and never
  waiting more than ``maxWaitSeconds`` in all.
* Pagination: ``page`` (a page number), ``offset``, ``cursor`` (the next cursor at a dotted
  path of the answer) and ``next-link`` (a URL at a dotted path, or the ``Link`` header);
  a next link must stay on the base URL's origin.

Secrets (passwords, keys, tokens, those obtained too) are masked in every error message.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from sluiceway.connectors import network
from sluiceway.core.errors import ConfigInvalid, ConnectorError, FieldError

DEFAULT_TIMEOUT = 30.0
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 1.0
DEFAULT_MAX_WAIT = 60.0
#: pages read at most by one read (a loop guard)
MAX_PAGES = 100_000
#: characters of a response body kept in an error
BODY_CHARS = 500
MASK = "******"


class HttpFailed(ConnectorError):
    """An HTTP request failed for good (after its retries)."""

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class TokenStore(Protocol):
    """Where an ``oauth2-token`` client's token is kept (an encrypted variable)."""

    def load(self) -> dict[str, Any]: ...

    def save(self, token: dict[str, Any]) -> None: ...


class PinnedTransport(httpx.BaseTransport):
    """Sends each request to an address of its host that the network checks passed (the
    name is not resolved again by the connection)."""

    def __init__(self, timeout: float) -> None:
        self._inner = httpx.HTTPTransport(retries=0)
        self._timeout = timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigInvalid("invalid URL", [FieldError(
                "baseUrl", "must be an http or https URL with a host", str(url.copy_with(
                    query=None)))])
        port = url.port or (443 if url.scheme == "https" else 80)
        address = network.check_target(url.host, port, system="HTTP")[0]
        request.url = url.copy_with(host=address, port=port)
        request.extensions = {**request.extensions, "sni_hostname": url.host}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def pinned_client(timeout: float) -> httpx.Client:
    """An httpx client whose every request passes the network checks (no redirects, no
    proxies from the environment)."""
    return httpx.Client(transport=PinnedTransport(timeout), timeout=timeout,
                        follow_redirects=False, trust_env=False)


def dotted(value: Any, path: str | None) -> Any:
    """The value at a dotted ``path`` (``data.items``, ``results.0.id``); ``None`` when it is
    not there; an empty path or ``$`` is ``value`` itself."""
    if not path or path == "$":
        return value
    node = value
    for part in path.removeprefix("$.").split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def records(body: Any, path: str | None) -> list[dict[str, Any]]:
    """The records at ``path`` of a JSON answer: a list of objects (an object alone is one
    record; nothing there: none)."""
    found = dotted(body, path)
    if found is None:
        return []
    items = found if isinstance(found, list) else [found]
    bad = [i for i, r in enumerate(items) if not isinstance(r, dict)]
    if bad:
        raise ConnectorError(f"the records at {path or '$'!r} are not all objects (item "
                             f"{bad[0]} is {type(items[bad[0]]).__name__})")
    return items


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class Retries:
    attempts: int = DEFAULT_ATTEMPTS
    backoff: float = DEFAULT_BACKOFF
    max_wait: float = DEFAULT_MAX_WAIT

    @classmethod
    def of(cls, given: Mapping[str, Any] | None) -> Retries:
        g = dict(given or {})
        return cls(int(g.get("maxAttempts", DEFAULT_ATTEMPTS)),
                   float(g.get("backoffSeconds", DEFAULT_BACKOFF)),
                   float(g.get("maxWaitSeconds", DEFAULT_MAX_WAIT)))


class HttpClient:
    """One ``http-client`` configuration (its parameters, variables resolved) ready to call."""

    def __init__(self, params: Mapping[str, Any], *, tokens: TokenStore | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 log: Callable[[str], None] | None = None) -> None:
        self.params = dict(params)
        base = str(self.params.get("baseUrl") or "")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigInvalid("invalid http-client", [FieldError(
                "baseUrl", "must be an http or https URL with a host", base)])
        self.base = base
        self.auth = dict(self.params.get("auth") or {"type": "none"})
        self.retries = Retries.of(self.params.get("retries"))
        self.timeout = float(self.params.get("timeoutSeconds") or DEFAULT_TIMEOUT)
        self.headers = {str(k): str(v) for k, v in dict(self.params.get("headers")
                                                         or {}).items()}
        self._tokens = tokens
        self._token: OAuth2Token | None = None
        self._sleep = sleep
        self._log = log or (lambda _: None)
        self._secrets: set[str] = {str(self.auth[k]) for k in (
            "password", "token", "key", "clientSecret") if self.auth.get(k)}
        self._http = pinned_client(self.timeout)
        if self.auth.get("type") == "oauth2-token" and tokens is None:
            raise ConfigInvalid("invalid http-client", [FieldError(
                "auth.variable", "an oauth2-token client needs the variable that keeps it")])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- masking ------------------------------------------------------------------------

    def mask(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, MASK)
        return text

    def shown(self, url: str | httpx.URL) -> str:
        """``url`` as errors show it: without its query (where an API key may travel)."""
        return str(httpx.URL(str(url)).copy_with(query=None))

    # --- URLs ---------------------------------------------------------------------------

    def url(self, path: str | None) -> str:
        """``path`` below the base URL (no scheme, host or '..' of its own)."""
        if not path:
            return self.base
        if "://" in path or path.startswith("//") or ".." in path.split("/"):
            raise ConfigInvalid("invalid path", [FieldError(
                "path", "a path below the base URL (no scheme, host or '..')", path)])
        return self.base.rstrip("/") + "/" + path.lstrip("/")

    def _same_origin(self, url: str) -> None:
        a, b = urlsplit(self.base), urlsplit(url)
        if (a.scheme, a.hostname, a.port) != (b.scheme, b.hostname, b.port):
            raise HttpFailed(f"the next link {self.shown(url)} leaves the base URL's origin "
                             f"{a.scheme}://{a.netloc.rpartition('@')[2]}")

    # --- authentication -----------------------------------------------------------------

    def _oauth_post(self, url: str, body: str, what: str) -> dict[str, Any]:
        auth = self.auth
        headers = {"Accept": "application/json",
                   "Content-Type": "application/x-www-form-urlencoded"}
        if auth.get("clientId"):
            _, headers, body = ClientAuth(str(auth["clientId"]),
                                          str(auth.get("clientSecret") or ""),
                                          "client_secret_basic" if auth.get("clientSecret")
                                          else "none").prepare("POST", url, headers, body)
        try:
            r = self._http.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            raise HttpFailed(self.mask(f"the token endpoint {self.shown(url)} did not "
                                       f"answer ({what}): {exc}")) from None
        try:
            token = r.json() if r.is_success else None
        except ValueError:
            token = None
        if not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
            raise HttpFailed(self.mask(f"the token endpoint {self.shown(url)} answered "
                                       f"{r.status_code} without an access_token ({what})"),
                             r.status_code, self.mask(r.text[:BODY_CHARS]))
        return token

    def _fetch_token(self) -> OAuth2Token:
        auth = self.auth
        if auth.get("type") == "oauth2-client-credentials":
            body = prepare_token_request("client_credentials", scope=auth.get("scope"))
            return OAuth2Token.from_dict(self._oauth_post(str(auth["tokenUrl"]), body,
                                                          "client credentials"))
        assert self._tokens is not None
        kept = self._token or OAuth2Token.from_dict(self._tokens.load())
        refresh = kept.get("refresh_token")
        if not refresh or not auth.get("tokenUrl"):
            raise HttpFailed(f"the token in ${{{auth.get('variable')}}} has expired and "
                             "cannot be refreshed (no refresh_token or no tokenUrl): run "
                             "its OAuth authorisation again")
        self._secrets.add(str(refresh))
        body = prepare_token_request("refresh_token", refresh_token=refresh,
                                     scope=auth.get("scope"))
        got = self._oauth_post(str(auth["tokenUrl"]), body, "refresh")
        got.setdefault("refresh_token", refresh)
        token = OAuth2Token.from_dict(got)
        self._tokens.save(dict(token))
        self._log(f"the OAuth2 token in ${{{auth.get('variable')}}} was refreshed")
        return token

    def _bearer(self, *, renew: bool) -> str:
        if self._token is None and self.auth.get("type") == "oauth2-token":
            assert self._tokens is not None
            self._token = OAuth2Token.from_dict(self._tokens.load())
            if not isinstance(self._token.get("access_token"), str):
                raise HttpFailed(f"the variable ${{{self.auth.get('variable')}}} keeps no "
                                 "OAuth2 access_token")
        if (renew or self._token is None or (self._token.get("expires_at")
                                              and self._token.is_expired(leeway=30))):
            self._token = self._fetch_token()
        access = str(self._token["access_token"])
        self._secrets.add(access)
        return access

    def _authorise(self, headers: dict[str, str], params: dict[str, Any], *,
                   renew: bool = False) -> None:
        auth, kind = self.auth, self.auth.get("type", "none")
        if kind == "basic":
            headers["Authorization"] = httpx.BasicAuth(
                str(auth["username"]), str(auth["password"]))._auth_header
        elif kind == "bearer":
            headers["Authorization"] = f"Bearer {auth['token']}"
        elif kind == "api-key":
            if auth.get("queryParameter"):
                params[str(auth["queryParameter"])] = str(auth["key"])
            else:
                headers[str(auth.get("header") or "X-API-Key")] = str(auth["key"])
        elif kind in ("oauth2-client-credentials", "oauth2-token"):
            headers["Authorization"] = f"Bearer {self._bearer(renew=renew)}"

    # --- requests -----------------------------------------------------------------------

    def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, headers: Mapping[str, str] | None = None,
                content: bytes | None = None) -> httpx.Response:
        """One call, with authentication and retries; the last answer (a 4xx or 5xx too).
        Raises :class:`HttpFailed` when no answer came (after the retries)."""
        waited, attempt, renewed = 0.0, 0, False
        while True:
            attempt += 1
            sent = {**self.headers, **dict(headers or {})}
            query = {str(k): v for k, v in dict(params or {}).items()}
            self._authorise(sent, query, renew=False)
            body = content
            if json_body is not None:
                body = json.dumps(json_body).encode()
                sent.setdefault("Content-Type", "application/json")
            try:
                r = self._http.request(method, url, params=query or None, headers=sent,
                                       content=body)
                failure = None
            except httpx.HTTPError as exc:
                r, failure = None, f"{type(exc).__name__}: {exc}"
            if r is not None and r.status_code == 401 and not renewed and self.auth.get(
                    "type") in ("oauth2-client-credentials", "oauth2-token"):
                renewed = True
                self._token = self._fetch_token()
                attempt -= 1
                continue
            again = failure is not None or (r is not None and (
                r.status_code == 429 or r.status_code >= 500))
            if not again or attempt > self.retries.attempts:
                break
            delay = self.retries.backoff * (2 ** (attempt - 1))
            hinted = _retry_after(r.headers.get("Retry-After")) if r is not None else None
            if hinted is not None:
                delay = hinted
            if waited + delay > self.retries.max_wait:
                break
            self._log(self.mask(f"{method} {self.shown(url)}: "
                                f"{failure if r is None else r.status_code}"
                                f"; attempt {attempt + 1} in {delay:g} s"))
            self._sleep(delay)
            waited += delay
        if r is None:
            raise HttpFailed(self.mask(f"{method} {self.shown(url)} failed: {failure}"))
        return r

    def failure(self, r: httpx.Response) -> HttpFailed:
        """The error of a 4xx or 5xx answer: its status and body (truncated, masked)."""
        body = self.mask(r.text[:BODY_CHARS])
        return HttpFailed(self.mask(f"HTTP {r.status_code} from {r.request.method} "
                                    f"{self.shown(self._unpinned(r))}: {body}"),
                          r.status_code, body)

    def _unpinned(self, r: httpx.Response) -> str:
        host = r.request.headers.get("Host", "")
        return str(r.request.url.copy_with(netloc=host.encode())) if host else str(
            r.request.url)

    def json(self, method: str, url: str, **kw: Any) -> tuple[httpx.Response, Any]:
        r = self.request(method, url, **kw)
        if r.status_code >= 400:
            raise self.failure(r)
        try:
            return r, r.json()
        except ValueError:
            raise HttpFailed(self.mask(f"{method} {self.shown(url)} answered "
                                       f"{r.status_code} with a body that is not JSON"),
                             r.status_code, self.mask(r.text[:BODY_CHARS])) from None

    # --- pagination ---------------------------------------------------------------------

    def pages(self, path: str | None, records_path: str | None,
              query: Mapping[str, Any] | None = None, *, method: str = "GET",
              max_pages: int = MAX_PAGES) -> Iterator[list[dict[str, Any]]]:
        """The records of each page of ``path``, following the client's pagination."""
        p = dict(self.params.get("pagination") or {"type": "none"})
        kind = p.get("type", "none")
        url: str | None = self.url(path)
        params = {str(k): v for k, v in dict(query or {}).items()}
        page = int(p.get("start", 1)) if kind == "page" else 0
        offset = 0
        seen: set[str] = set()
        for _ in range(max_pages):
            assert url is not None
            if kind == "page":
                params[str(p["parameter"])] = page
                if p.get("sizeParameter") and p.get("size"):
                    params[str(p["sizeParameter"])] = int(p["size"])
            elif kind == "offset":
                params[str(p["parameter"])] = offset
                if p.get("limitParameter"):
                    params[str(p["limitParameter"])] = int(p["limit"])
            r, body = self.json(method, url, params=params)
            got = records(body, records_path)
            yield got
            if kind == "none":
                return
            if kind == "page":
                if not got or (p.get("size") and len(got) < int(p["size"])):
                    return
                page += 1
            elif kind == "offset":
                if len(got) < int(p["limit"]):
                    return
                offset += len(got)
            elif kind == "cursor":
                cursor = dotted(body, str(p["path"]))
                if cursor in (None, "") or not got:
                    return
                params[str(p["parameter"])] = cursor
            elif kind == "next-link":
                nxt = (_link_next(r.headers.get("Link")) if p.get("path") == "link"
                       else dotted(body, str(p["path"])))
                if not isinstance(nxt, str) or not nxt:
                    return
                url = urljoin(url, nxt)
                if url in seen:
                    return
                seen.add(url)
                self._same_origin(url)
                params = {}
        raise HttpFailed(f"more than {max_pages} pages: the pagination does not end")


_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)')


def _link_next(header: str | None) -> str | None:
    """The ``rel="next"`` URL of a Link header."""
    for url, attributes in _LINK.findall(header or ""):
        rels = re.findall(r'rel\s*=\s*"?([^";]+)"?', attributes)
        if any("next" in r.split() for r in rels):
            return str(url)
    return None

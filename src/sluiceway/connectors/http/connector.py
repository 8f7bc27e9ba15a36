"""The HTTP incoming (a paginated JSON API read into entities) and outgoing (entities sent
to an endpoint, one request per entity or ``batchSize`` per request).

Both take ``client`` (an ``http-client``'s parameters) and, set by whoever makes them, a
:class:`~sluiceway.connectors.http.client.TokenStore` for an ``oauth2-token`` client and a
log. The outgoing answers for each entity: a 4xx or 5xx answer (after the client's retries)
refuses exactly the entities of that request, with the status and the body (truncated).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar
from urllib.parse import quote

import pyarrow as pa

from sluiceway.connectors.base import (
    Capabilities,
    EntityDestination,
    EntitySource,
)
from sluiceway.connectors.http.client import HttpClient, HttpFailed, TokenStore, dotted
from sluiceway.core.errors import ConfigInvalid, FieldError
from sluiceway.protocol.catalog import Catalog, ConfiguredCatalog, Stream
from sluiceway.protocol.messages import Message, RecordBatch, State
from sluiceway.protocol.spec import ConnectorSpec

from .spec import DESTINATION_SPEC, SOURCE_SPEC

_PLACE = re.compile(r"\{([^{}]+)\}")


class _Http:
    tokens: TokenStore | None = None
    log: Callable[[str], None] | None = None
    #: waits between retries (a job's waits end early, raising, when it is cancelled)
    wait: Callable[[float], None] = staticmethod(time.sleep)

    def client(self, config: dict[str, Any]) -> HttpClient:
        return HttpClient(dict(config.get("client") or {}), tokens=self.tokens, log=self.log,
                          sleep=self.wait)


class HttpSource(_Http, EntitySource):
    name = "http"
    capabilities: ClassVar[Capabilities] = Capabilities()

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return SOURCE_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        got = next(self.entities(config, "entities", 1), [])
        return f"read a first page ({len(got)} record(s))"

    def discover(self, config: dict[str, Any]) -> Catalog:
        return Catalog((Stream(str(config.get("stream") or "entities"), pa.schema([])),))

    def entities(self, config: dict[str, Any], stream: str, limit: int | None = None,
                 since: Any = None) -> Iterator[list[dict[str, Any]]]:
        """The records of each page; with ``since`` and a ``cursorParameter`` the value is
        sent in that query parameter (the API gives what is newer)."""
        left = limit
        query = dict(config.get("query") or {})
        if since is not None and config.get("cursorParameter"):
            query[str(config["cursorParameter"])] = since if isinstance(
                since, str) else json.dumps(since)
        with self.client(config) as client:
            for page in client.pages(config.get("path"), config.get("recordsPath"), query,
                                     max_pages=1 if limit is not None else 100_000):
                if left is not None:
                    page = page[:left]
                    left -= len(page)
                yield page
                if left is not None and left <= 0:
                    return

    def read(self, config: dict[str, Any], catalog: ConfiguredCatalog,
             state: dict[str, dict[str, Any]] | None) -> Iterator[Message]:
        for cs in catalog.streams:
            for page in self.entities(config, cs.name):
                if page:
                    for batch in pa.Table.from_pylist(page).to_batches():
                        yield RecordBatch(cs.name, batch)
            yield State(cs.name, {})


def expand(template: str, entity: dict[str, Any]) -> str:
    """``template`` with each ``{key}`` (a dotted path) replaced by the entity's value,
    URL-quoted; a key the entity lacks is an error naming it."""
    def one(m: re.Match[str]) -> str:
        value = dotted(entity, m.group(1).strip())
        if value is None:
            raise HttpFailed(f"the path template's {{{m.group(1)}}} is missing from the "
                             "entity")
        return quote(str(value), safe="")
    return _PLACE.sub(one, template)


class HttpDestination(_Http, EntityDestination):
    name = "http"
    capabilities: ClassVar[Capabilities] = Capabilities()

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return DESTINATION_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        """Reach the API without writing: a HEAD of the base URL (any answer but a 5xx or an
        authentication refusal counts as reached)."""
        with self.client(config) as client:
            r = client.request("HEAD", client.base)
            if r.status_code in (401, 403) or r.status_code >= 500:
                raise client.failure(r)
            return f"{client.shown(client.base)} answered {r.status_code}"

    def send(self, config: dict[str, Any], stream: str,
             rows: list[dict[str, Any]]) -> list[str | None]:
        method = str(config.get("method") or "POST")
        template = str(config.get("path") or "")
        size = int(config.get("batchSize") or 1)
        if size > 1 and _PLACE.search(template):
            raise ConfigInvalid("invalid outgoing", [FieldError(
                "path", "a batched outgoing (batchSize > 1) sends to one path: no {key} in it",
                template)])
        out: list[str | None] = []
        with self.client(config) as client:
            for start in range(0, len(rows), size):
                group = rows[start:start + size]
                try:
                    if size == 1:
                        url = client.url(expand(template, group[0]))
                        body: Any = group[0]
                    else:
                        url = client.url(template)
                        body = {str(config["batchKey"]): group} if config.get(
                            "batchKey") else group
                    r = client.request(method, url, json_body=body)
                    error = str(client.failure(r)) if r.status_code >= 400 else None
                except HttpFailed as exc:
                    error = str(exc)
                out.extend([error] * len(group))
        return out

    def write(self, config: dict[str, Any], catalog: ConfiguredCatalog,
              messages: Iterable[Message]) -> Iterator[State]:
        for msg in messages:
            if isinstance(msg, RecordBatch):
                errors = [e for e in self.send(config, msg.stream, msg.batch.to_pylist())
                          if e is not None]
                if errors:
                    raise HttpFailed(f"{len(errors)} record(s) refused; the first: "
                                     f"{errors[0]}")
            elif isinstance(msg, State):
                yield msg

"""Connections, sources and destinations rendered as v1 JSON and kept, for the long listings.

A listing loads its connections without their catalogs, takes the JSON of each one rendered
since the connection last changed (kept by id and ``updated_at``), and loads and renders only
the others; sources and destinations likewise (by id, ``updated_at`` and their definition's
name). Every change of a row moves its ``updated_at``, so a kept rendering is never stale. The
renderings live in this process, least recently used dropped past ``max_bytes``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from pydantic_core import to_json

from sluiceway.api.airbyte import convert
from sluiceway.services import actors, connections
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform


class ConnectionRow(Protocol):
    """What a listing needs of a connection loaded without its catalog."""

    @property
    def id(self) -> str: ...
    @property
    def updated_at(self) -> float: ...
    @property
    def source_id(self) -> str: ...
    @property
    def destination_id(self) -> str: ...


_C = TypeVar("_C", bound=ConnectionRow)


class Kept:
    """Rendered JSON by key, each with the stamp of the row it was rendered from."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[Hashable, bytes]] = OrderedDict()
        self._bytes = 0
        self.max_bytes = max_bytes

    def take(self, wanted: Iterable[tuple[str, Hashable]]) -> dict[str, bytes]:
        """The renderings whose stamp is the one wanted."""
        out = {}
        with self._lock:
            for key, stamp in wanted:
                hit = self._items.get(key)
                if hit is not None and hit[0] == stamp:
                    self._items.move_to_end(key)
                    out[key] = hit[1]
        return out

    def keep(self, key: str, stamp: Hashable, body: bytes) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            if len(body) > self.max_bytes:
                return
            self._items[key] = (stamp, body)
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= len(dropped)


#: the renderings of this process (ids are random UUIDs: two platforms never clash)
KEPT = Kept()


def rendered_connections(p: Platform, caller: Caller, conns: Sequence[_C]
                         ) -> list[tuple[_C, bytes]]:
    """Each connection with its JSON object, in order (one deleted meanwhile is left out,
    as if listed a moment later)."""
    got = KEPT.take(("c:" + c.id, c.updated_at) for c in conns)
    missing = [c.id for c in conns if "c:" + c.id not in got]
    for cid, row in connections.by_ids(p, caller, missing).items():
        body = got["c:" + cid] = to_json(convert.connection_json(row))
        KEPT.keep("c:" + cid, row.updated_at, body)
    return [(c, got["c:" + c.id]) for c in conns if "c:" + c.id in got]


def _rendered_actors(p: Platform, caller: Caller, ids: set[str]) -> dict[str, bytes]:
    return _actors_as_stamped(p, caller, actors.stamps(p, caller, ids))


def _actors_as_stamped(p: Platform, caller: Caller, stamps: Mapping[str, Hashable]
                       ) -> dict[str, bytes]:
    """Each actor's JSON, rendered again only where its stamp moved."""
    got = KEPT.take(("a:" + aid, stamp) for aid, stamp in stamps.items())
    missing = [aid for aid in stamps if "a:" + aid not in got]
    render: dict[str, Callable[[actors.ActorView], object]] = {
        "source": convert.source_json, "destination": convert.destination_json}
    for aid, view in actors.get_many(p, caller, missing).items():
        body = got["a:" + aid] = to_json(render[view.kind](view))
        KEPT.keep("a:" + aid, stamps[aid], body)
    return {aid[2:]: body for aid, body in got.items()}


def connection_list(p: Platform, caller: Caller, conns: Sequence[ConnectionRow]) -> bytes:
    """``{"connections": [...]}`` of ``connections/list``."""
    return b'{"connections":[' + b",".join(body for _, body in rendered_connections(
        p, caller, conns)) + b"]}"


def web_backend_list(p: Platform, caller: Caller, conns: Sequence[ConnectionRow]) -> bytes:
    """``{"connections": [...]}`` of ``web_backend/connections/list``: each connection with
    its source, destination and sync state, in a few queries for the whole list."""
    listed = rendered_connections(p, caller, conns)
    status = connections.last_sync_and_running(p, [c.id for c, _ in listed])
    shown = _rendered_actors(p, caller, {c.source_id for c, _ in listed}
                             | {c.destination_id for c, _ in listed})
    parts = []
    for c, body in listed:
        last, running = status[c.id]
        extra = (b',"source":' + shown[c.source_id] + b',"destination":'
                 + shown[c.destination_id])
        if last is not None:
            extra += b',"lastSync":' + str(int(last)).encode()
        extra += b',"isSyncing":' + (b"true" if running else b"false") + b"}"
        parts.append(body[:-1] + extra)
    return b'{"connections":[' + b",".join(parts) + b"]}"


def web_backend_listing(p: Platform, caller: Caller, listed: Sequence[connections.Listed]
                        ) -> bytes:
    """:func:`web_backend_list` of a whole workspace, from :func:`connections.listing`
    (one query for the stamps and the sync states, where the page form takes three)."""
    kept = rendered_connections(p, caller, listed)
    stamps = {c.source_id: c.source_stamp for c, _ in kept}
    stamps.update((c.destination_id, c.destination_stamp) for c, _ in kept)
    shown = _actors_as_stamped(p, caller, stamps)
    parts = []
    for c, body in kept:
        extra = (b',"source":' + shown[c.source_id] + b',"destination":'
                 + shown[c.destination_id])
        if c.last_sync is not None:
            extra += b',"lastSync":' + str(int(c.last_sync)).encode()
        extra += b',"isSyncing":' + (b"true" if c.running else b"false") + b"}"
        parts.append(body[:-1] + extra)
    return b'{"connections":[' + b",".join(parts) + b"]}"

"""Connections rendered as v1 JSON, kept by ``(id, updated_at)``, for the long listings.

A listing loads its connections without their catalogs, takes the JSON of each one it has
rendered since the connection last changed, and loads and renders only the others. Every
change of a connection moves its ``updated_at``, so a kept rendering is never stale. The
renderings live in this process, least recently used dropped past ``max_bytes``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
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


class Rendered:
    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self.max_bytes = max_bytes

    def connections(self, p: Platform, caller: Caller, conns: Sequence[_C]
                    ) -> list[tuple[_C, bytes]]:
        """Each connection with its JSON object, in order (one deleted meanwhile is left out,
        as if listed a moment later)."""
        out: list[bytes | None] = []
        with self._lock:
            for c in conns:
                hit = self._items.get(c.id)
                if hit is not None and hit[0] == c.updated_at:
                    self._items.move_to_end(c.id)
                    out.append(hit[1])
                else:
                    out.append(None)
        missing = [c.id for c, got in zip(conns, out, strict=True) if got is None]
        made: dict[str, bytes] = {}
        if missing:
            fresh = connections.by_ids(p, caller, missing)
            made = {cid: to_json(convert.connection_json(row)) for cid, row in fresh.items()}
            with self._lock:
                for cid, row in fresh.items():
                    self._keep(cid, row.updated_at, made[cid])
        pairs = []
        for c, got in zip(conns, out, strict=True):
            body = got if got is not None else made.get(c.id)
            if body is not None:
                pairs.append((c, body))
        return pairs

    def _keep(self, cid: str, updated_at: float, body: bytes) -> None:
        old = self._items.pop(cid, None)
        if old is not None:
            self._bytes -= len(old[1])
        if len(body) > self.max_bytes:
            return
        self._items[cid] = (updated_at, body)
        self._bytes += len(body)
        while self._bytes > self.max_bytes:
            _, (_, dropped) = self._items.popitem(last=False)
            self._bytes -= len(dropped)


#: the renderings of this process (connection ids are random UUIDs: platforms never clash)
RENDERED = Rendered()


def connection_list(p: Platform, caller: Caller, conns: Sequence[ConnectionRow]) -> bytes:
    """``{"connections": [...]}`` of ``connections/list``."""
    return b'{"connections":[' + b",".join(body for _, body in RENDERED.connections(
        p, caller, conns)) + b"]}"


def web_backend_list(p: Platform, caller: Caller, conns: Sequence[ConnectionRow]) -> bytes:
    """``{"connections": [...]}`` of ``web_backend/connections/list``: each connection with
    its source, destination and sync state, in a few queries for the whole list."""
    rendered = RENDERED.connections(p, caller, conns)
    status = connections.last_sync_and_running(p, [c.id for c, _ in rendered])
    views = actors.get_many(p, caller, {c.source_id for c in conns}
                            | {c.destination_id for c in conns})
    shown: dict[str, bytes] = {}
    for c in conns:
        if c.source_id not in shown:
            shown[c.source_id] = to_json(convert.source_json(views[c.source_id]))
        if c.destination_id not in shown:
            shown[c.destination_id] = to_json(convert.destination_json(
                views[c.destination_id]))
    parts = []
    for c, body in rendered:
        last, running = status[c.id]
        extra = (b',"source":' + shown[c.source_id] + b',"destination":'
                 + shown[c.destination_id])
        if last is not None:
            extra += b',"lastSync":' + str(int(last)).encode()
        extra += b',"isSyncing":' + (b"true" if running else b"false") + b"}"
        parts.append(body[:-1] + extra)
    return b'{"connections":[' + b",".join(parts) + b"]}"

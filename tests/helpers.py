"""Test helpers shared by modules: row checksums, a tiny pipeline runner, a wait for a
condition and a small HTTP server."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from sluiceway.connectors import registry
from sluiceway.engine.checkpoint import MemoryStateStore, StateStore
from sluiceway.engine.pipeline import Options, SyncResult, run
from sluiceway.engine.plan import StreamChoice, configure


def row_checksum(rows: list[tuple[Any, ...]]) -> str:
    """An order-independent checksum of rows given as tuples of comparable values."""
    digests = sorted(hashlib.sha256(repr(r).encode()).hexdigest() for r in rows)
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def sync(
    source: str,
    source_config: dict[str, Any],
    destination: str,
    destination_config: dict[str, Any],
    streams: list[StreamChoice] | None = None,
    store: StateStore | None = None,
    checkpoint_rows: int | None = None,
    raw: bool = True,
) -> SyncResult:
    """Sync ``streams`` (None: every stream); ``raw=False`` sends every row through Arrow
    even between two connectors that could pass rows through undecoded."""
    src = registry.source(source)
    if checkpoint_rows is not None:
        src.checkpoint_rows = checkpoint_rows
    catalog = configure(src.discover(source_config), streams)
    result = run(catalog, src, source_config, registry.destination(destination),
                 destination_config, store or MemoryStateStore(), Options(raw=raw))
    return result


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds (generous: a busy
    machine may be slow, and a condition that holds returns at once)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.01)


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A small HTTP server on 127.0.0.1 (a free port) answering with ``handler`` in a
    thread; yields its base URL and stops it on exit."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class JsonHandler(http.server.BaseHTTPRequestHandler):
    """A request handler of the small test servers: quiet, with :meth:`send_json`."""

    def log_message(self, *_: Any) -> None:
        pass

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

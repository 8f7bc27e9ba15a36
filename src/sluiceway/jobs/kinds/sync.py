"""``sync``: run a connection's selected streams through the engine.

State lives in the StreamState table (:class:`~sluiceway.jobs.state.DbStateStore`), so a
retried attempt resumes the same sync from its last committed checkpoint.
"""

from __future__ import annotations

import threading
from typing import Any

from sluiceway.connectors import registry
from sluiceway.core.errors import Cancelled
from sluiceway.engine import pipeline as engine
from sluiceway.engine.pipeline import SyncResult
from sluiceway.engine.plan import configure
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.common import choices, load_connection
from sluiceway.jobs.state import DbStateStore


def run(ctx: AttemptContext) -> dict[str, Any]:
    loaded = load_connection(ctx, ctx.scope)
    picked = choices(loaded.catalog)
    ctx.log("INFO", f"sync of connection {loaded.name!r} ({loaded.connection_id}): "
                    f"{loaded.source_name} -> {loaded.destination_name}, "
                    f"{len(picked)} stream(s): {', '.join(c.name for c in picked) or 'none'}")
    if not picked:
        ctx.log("WARN", "no stream is selected: nothing to do")
        ctx.stats = {"streams": []}
        return {"streams": [], "records": 0, "bytes": 0}
    source = registry.source(loaded.source_name, ctx.settings.allowed_roots)
    source.checkpoint_rows = ctx.settings.checkpoint_rows
    destination = registry.destination(loaded.destination_name, ctx.settings.allowed_roots)
    catalog = configure(source.discover(loaded.source_config), picked)
    store = DbStateStore(ctx.db, loaded.connection_id)
    progress = _Progress(ctx, len(catalog.streams))
    result = engine.run(catalog, source, loaded.source_config, destination,
                        loaded.destination_config, store, engine.Options(
                            buffer_bytes=ctx.settings.buffer_bytes,
                            parallel_streams=ctx.settings.parallel_streams,
                            progress=progress, estimate=progress.estimate,
                            cancel=ctx.cancel, stop=ctx.stop, log=ctx.log))
    return report(ctx, result)


class _Progress:
    """Sums the per-stream counts the engine reports into the attempt's totals."""

    def __init__(self, ctx: AttemptContext, streams: int) -> None:
        self.ctx = ctx
        self.streams = streams
        self.per_stream: dict[str, tuple[int, int]] = {}
        self.estimates: dict[str, int] = {}
        self.lock = threading.Lock()

    def estimate(self, stream: str, rows: int) -> None:
        with self.lock:
            self.estimates[stream] = max(1, rows)

    def __call__(self, stream: str, records: int, bytes_: int) -> None:
        with self.lock:
            self.per_stream[stream] = (records, bytes_)
            total_r = sum(r for r, _ in self.per_stream.values())
            total_b = sum(b for _, b in self.per_stream.values())
            # a fraction only when every stream has told its size
            whole = (sum(self.estimates.values())
                     if len(self.estimates) == self.streams else None)
        self.ctx.progress(total_r, total_b, estimate=whole)


def report(ctx: AttemptContext, result: SyncResult) -> dict[str, Any]:
    """Log per-stream lines, keep stats on the context; raise unless every stream succeeded."""
    streams = [st.as_dict() for st in result.streams]
    records = sum(st.records for st in result.streams)
    bytes_ = sum(st.bytes for st in result.streams)
    ctx.progress(records, bytes_)
    for st in result.streams:
        line = (f"stream {st.stream!r}: {st.status}, {st.records} records, {st.bytes} bytes "
                f"in {st.seconds:.2f} s" + (" (resumed)" if st.resumed else ""))
        if st.error:
            line += f": {st.error}"
        ctx.log("INFO" if st.status == "succeeded" else "ERROR", line)
    ctx.log("INFO", f"{result.status}: {records} records, {bytes_} bytes in "
                    f"{len(streams)} stream(s)")
    output = {"streams": streams, "records": records, "bytes": bytes_}
    ctx.stats = output
    if result.ok:
        return output
    if result.status == "cancelled":
        raise Cancelled("sync cancelled")
    error = result.first_error()
    if error is None:  # pragma: no cover - a failed stream always carries its exception
        raise RuntimeError("a stream failed without an error")
    raise error

"""What exports, dumps and backups share: streams of a source read into an artifact's file
through the engine's one read-write path (:func:`sluiceway.engine.pipeline.run`) with an
:class:`~sluiceway.artifacts.destination.ArtifactDestination`, instead of loops of their
own: the same reader thread, byte-capped queue, cancellation and error handling as a sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from sluiceway.artifacts.destination import ArtifactDestination, BatchSink
from sluiceway.connectors.base import Source
from sluiceway.core.errors import Cancelled
from sluiceway.engine import pipeline as engine
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.jobs.context import AttemptContext
from sluiceway.protocol.catalog import ConfiguredCatalog, ConfiguredStream

Transform = Callable[[str, pa.RecordBatch], pa.RecordBatch]


def into(sink: BatchSink) -> Callable[[ConfiguredStream], BatchSink]:
    """The sink of a copy of one stream."""
    return lambda _: sink


def filtering(keep: Callable[[pa.RecordBatch], pa.RecordBatch] | None) -> Transform | None:
    """The transform that applies a row filter to every stream (None: no filter)."""
    if keep is None:
        return None
    rows_kept = keep
    return lambda _, batch: rows_kept(batch)


def copy(ctx: AttemptContext, what: str, source: Source, config: dict[str, Any],
         catalog: ConfiguredCatalog, open_sink: Callable[[ConfiguredStream], BatchSink], *,
         transform: Transform | None = None,
         progress: engine.ProgressFn | None = None,
         estimate: Callable[[str, int], None] | None = None) -> engine.SyncResult:
    """Read ``catalog``'s streams (one at a time, from the start) into the sinks
    ``open_sink`` opens; ``progress`` is told the rows read, before ``transform``.
    Raises :class:`Cancelled` (``"<what> cancelled"``) or the first stream's error."""
    result = engine.run(catalog, source, config, ArtifactDestination(open_sink), {},
                        MemoryStateStore(), engine.Options(
                            buffer_bytes=ctx.settings.buffer_bytes, parallel_streams=1,
                            progress=progress, estimate=estimate, cancel=ctx.cancel,
                            transform=transform))
    if result.ok:
        return result
    if result.status == "cancelled":
        raise Cancelled(f"{what} cancelled")
    error = result.first_error()
    if error is None:  # pragma: no cover - a failed stream always carries its exception
        raise RuntimeError(f"the {what} failed without an error")
    raise error

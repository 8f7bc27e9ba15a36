"""The artifact destination: the engine's writer side for exports, dumps and backups.

A sync moves a source's streams into a database; an export, a dump or a backup moves them
into a file. Both go through :func:`sluiceway.engine.pipeline.run` (its reader thread, its
byte-capped queue, cancellation, progress and one stream's failure kept to that stream);
here the destination is a :class:`BatchSink` per stream that the job opens: a file of one
of the artifact formats (:func:`~sluiceway.artifacts.formats.open_writer` answers such a
sink), the lines of a dump, a table file of a backup. Each sink is opened when the write
starts (so that an empty stream still makes its file: a CSV header, an empty Parquet
file), is given every non-empty batch in order, and is closed when its stream ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import pyarrow as pa

from sluiceway.connectors.base import Capabilities, Destination
from sluiceway.protocol.catalog import ConfiguredCatalog, ConfiguredStream, DestinationSyncMode
from sluiceway.protocol.messages import Message, RecordBatch, State
from sluiceway.protocol.spec import ConnectorSpec


class BatchSink(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


class ArtifactDestination(Destination):
    """Writes each stream of a configured catalog to the sink ``open_sink`` gives it; the
    states of the source are echoed once the sinks are closed (a file is whole then)."""

    name = "artifact"
    capabilities = Capabilities(destination_sync_modes=(DestinationSyncMode.overwrite,
                                                        DestinationSyncMode.append))

    def __init__(self, open_sink: Callable[[ConfiguredStream], BatchSink]) -> None:
        self.open_sink = open_sink

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return ConnectorSpec({"type": "object", "properties": {}})

    def probe(self, config: dict[str, Any]) -> str:
        return "an artifact of this server"

    def write(self, config: dict[str, Any], catalog: ConfiguredCatalog,
              messages: Iterable[Message]) -> Iterator[State]:
        sinks = {cs.name: self.open_sink(cs) for cs in catalog.streams}
        last: dict[str, dict[str, Any]] = {}
        for msg in messages:
            if isinstance(msg, RecordBatch):
                if msg.num_rows:
                    sinks[msg.stream].write(msg.batch)
            elif isinstance(msg, State):
                last[msg.stream] = msg.data
        for sink in sinks.values():
            sink.close()
        for stream, data in last.items():
            yield State(stream, data)

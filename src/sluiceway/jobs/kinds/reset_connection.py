"""``reset_connection``: empty the destination tables of a connection and forget its state.

Each selected stream is synced full_refresh + overwrite from :class:`EmptySource`, which
offers the real source's discovered schema and no record: the destination swaps in an empty
table the way it swaps in any overwrite. The state rows go once that has succeeded, so a
failed reset leaves the next sync where it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any, ClassVar

from sluiceway.connectors import registry
from sluiceway.connectors.base import Capabilities, Source
from sluiceway.engine import pipeline as engine
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.plan import configure
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.common import choices, load_connection
from sluiceway.jobs.kinds.sync import report
from sluiceway.jobs.state import DbStateStore
from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredCatalog,
    DestinationSyncMode,
    SyncMode,
)
from sluiceway.protocol.messages import Message, State
from sluiceway.protocol.spec import ConnectorSpec

_SPEC = ConnectorSpec({"type": "object", "properties": {}})


class EmptySource(Source):
    """Offers a given catalog and reads no record (a State per stream, as sources end)."""

    name: ClassVar[str] = "empty"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return _SPEC

    def probe(self, config: dict[str, Any]) -> str:
        return "reads nothing"

    def discover(self, config: dict[str, Any]) -> Catalog:
        return self.catalog

    def read(self, config: dict[str, Any], catalog: ConfiguredCatalog,
             state: dict[str, dict[str, Any]] | None) -> Iterator[Message]:
        for cs in catalog.streams:
            yield State(cs.name, {"complete": True})


def run(ctx: AttemptContext) -> dict[str, Any]:
    loaded = load_connection(ctx, ctx.scope)
    picked = [replace(c, sync_mode=SyncMode.full_refresh,
                      destination_sync_mode=DestinationSyncMode.overwrite, cursor_field=())
              for c in choices(loaded.catalog)]
    ctx.log("INFO", f"reset of connection {loaded.name!r} ({loaded.connection_id}): "
                    f"emptying {len(picked)} stream(s) in {loaded.destination_name}: "
                    f"{', '.join(c.name for c in picked) or 'none'}")
    output: dict[str, Any] = {"streams": [], "records": 0, "bytes": 0}
    if picked:
        roots = ctx.settings.allowed_roots
        discovered = registry.source(loaded.source_name, roots).discover(loaded.source_config)
        empty = EmptySource(discovered)
        catalog = configure(discovered, picked)
        target = registry.destination(loaded.destination_name, roots)
        result = engine.run(catalog, empty, {}, target,
                            loaded.destination_config, MemoryStateStore(), engine.Options(
                                buffer_bytes=ctx.settings.buffer_bytes,
                                parallel_streams=ctx.settings.parallel_streams,
                                cancel=ctx.cancel, log=ctx.log))
        output = report(ctx, result)
    DbStateStore(ctx.db, loaded.connection_id).clear()
    ctx.log("INFO", "stream state cleared")
    return output

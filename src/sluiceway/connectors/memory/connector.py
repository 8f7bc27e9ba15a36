"""Memory source and destination: datasets are dicts of stream name -> pyarrow.Table."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from sluiceway.connectors.base import Capabilities, Destination, Source
from sluiceway.connectors.memory.spec import DESTINATION_SPEC, SOURCE_SPEC
from sluiceway.core.errors import ConfigInvalid, FieldError
from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredCatalog,
    DestinationSyncMode,
    Stream,
    SyncMode,
)
from sluiceway.protocol.evolve import plan_evolution
from sluiceway.protocol.messages import Message, RecordBatch, State
from sluiceway.protocol.spec import ConnectorSpec, validate_config

DATASETS: dict[str, dict[str, pa.Table]] = {}
_LOCK = threading.Lock()


def _dataset(config: dict[str, Any], spec: ConnectorSpec, create: bool) -> dict[str, pa.Table]:
    cfg = validate_config(spec, config)
    with _LOCK:
        if cfg["dataset"] not in DATASETS:
            if not create:
                raise ConfigInvalid("invalid memory config", [
                    FieldError("dataset", f"no dataset named {cfg['dataset']!r}")])
            DATASETS[cfg["dataset"]] = {}
        return DATASETS[cfg["dataset"]]


class MemorySource(Source):
    name: ClassVar[str] = "memory"
    capabilities: ClassVar[Capabilities] = Capabilities(incremental=True,
                                                        resumable_full_refresh=True)
    checkpoint_rows: int = 500_000

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return SOURCE_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        _dataset(config, SOURCE_SPEC, create=False)
        return "dataset exists"

    def discover(self, config: dict[str, Any]) -> Catalog:
        tables = _dataset(config, SOURCE_SPEC, create=False)
        return Catalog(tuple(
            Stream(name, t.schema, supported_sync_modes=(SyncMode.full_refresh,
                                                          SyncMode.incremental))
            for name, t in tables.items()))

    def read(self, config: dict[str, Any], catalog: ConfiguredCatalog,
             state: dict[str, dict[str, Any]] | None) -> Iterator[Message]:
        tables = _dataset(config, SOURCE_SPEC, create=False)
        for cs in catalog.streams:
            table = tables[cs.name].select(cs.stream.schema.names)
            st = (state or {}).get(cs.name) or {}
            if cs.sync_mode is SyncMode.incremental and cs.cursor:
                if st.get("cursor") is not None:
                    col = table.column(cs.cursor)
                    table = table.filter(pc.greater_equal(
                        col, pa.scalar(st["cursor"]).cast(col.type)))
                table = table.sort_by(cs.cursor)
            start = int(st.get("offset", 0)) if cs.sync_mode is SyncMode.full_refresh else 0
            if st.get("complete") and cs.sync_mode is SyncMode.full_refresh:
                start = table.num_rows
            offset = start
            for batch in table.slice(start).to_batches(max_chunksize=self.checkpoint_rows):
                yield RecordBatch(cs.name, batch)
                offset += batch.num_rows
                if cs.sync_mode is SyncMode.full_refresh:
                    yield State(cs.name, {"offset": offset})
                else:
                    yield State(cs.name, {"cursor": pc.max(batch.column(cs.cursor)).as_py()})
            if cs.sync_mode is SyncMode.full_refresh:
                yield State(cs.name, {"complete": True})
            elif st:
                yield State(cs.name, st)


class MemoryDestination(Destination):
    name: ClassVar[str] = "memory"
    capabilities: ClassVar[Capabilities] = Capabilities(
        destination_sync_modes=tuple(DestinationSyncMode))

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return DESTINATION_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        validate_config(DESTINATION_SPEC, config)
        return "a valid dataset name"

    def write(self, config: dict[str, Any], catalog: ConfiguredCatalog,
              messages: Iterable[Message]) -> Iterator[State]:
        tables = _dataset(config, DESTINATION_SPEC, create=True)
        staged: dict[str, list[pa.RecordBatch]] = {cs.name: [] for cs in catalog.streams}
        for cs in catalog.streams:
            if cs.target in tables and cs.destination_sync_mode is not (
                    DestinationSyncMode.overwrite):
                plan_evolution(cs.name, tables[cs.target].schema, cs.stream.schema)
        for msg in messages:
            if isinstance(msg, RecordBatch):
                staged[msg.stream].append(msg.batch)
            elif isinstance(msg, State):
                yield msg
        with _LOCK:
            for cs in catalog.streams:
                new = pa.Table.from_batches(staged[cs.name], schema=cs.stream.schema)
                old = tables.get(cs.target)
                mode = cs.destination_sync_mode
                if old is None or mode is DestinationSyncMode.overwrite:
                    tables[cs.target] = new
                    continue
                merged = pa.concat_tables([old, new], promote_options="permissive")
                if mode is DestinationSyncMode.append_dedup:
                    merged = _dedup(merged, cs.pk_columns)
                tables[cs.target] = merged


def _dedup(table: pa.Table, keys: list[str]) -> pa.Table:
    """Keep the last row per key."""
    idx = pa.array(range(table.num_rows))
    with_idx = table.append_column("__i", idx)
    last = with_idx.group_by(keys, use_threads=False).aggregate([("__i", "max")])
    keep = pc.is_in(idx, value_set=last.column("__i_max"))
    return table.filter(keep)

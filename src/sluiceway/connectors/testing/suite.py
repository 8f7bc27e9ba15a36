"""Checks every connector must pass; each returns nothing and raises AssertionError."""

from __future__ import annotations

import uuid
from typing import Any

import pyarrow as pa
from jsonschema import Draft7Validator

from sluiceway.connectors import registry
from sluiceway.connectors.base import Destination, Source
from sluiceway.connectors.memory.connector import DATASETS
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.pipeline import Options, SyncResult, run
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol.catalog import DestinationSyncMode
from sluiceway.protocol.spec import ConnectorSpec


def check_spec(spec: ConnectorSpec) -> None:
    schema = spec.connection_specification
    Draft7Validator.check_schema(schema)
    assert schema.get("type") == "object"
    for name in ("password", "api_key", "secret", "token"):
        prop = (schema.get("properties") or {}).get(name)
        if prop is not None:
            assert prop.get("airbyte_secret") is True, f"{name} must be airbyte_secret"


def check_rejects_bad_config(connector: Source | Destination) -> None:
    """check() on a config that breaks the spec answers ok=False and never raises."""
    result = connector.check({"surely_not_a_field": 1})
    assert result.ok is False
    assert result.message


def sync_memory(
    source: str, source_config: dict[str, Any], destination: str,
    destination_config: dict[str, Any], choices: list[StreamChoice] | None = None,
    state: MemoryStateStore | None = None,
) -> SyncResult:
    src = registry.source(source)
    catalog = configure(src.discover(source_config), choices)
    return run(catalog, src, source_config, registry.destination(destination),
               destination_config, state or MemoryStateStore(), Options())


def round_trip(table: pa.Table, stream: str, destination: str,
               destination_config: dict[str, Any], source_config: dict[str, Any],
               mode: DestinationSyncMode = DestinationSyncMode.overwrite) -> pa.Table:
    """memory -> destination -> its source -> memory: what comes back."""
    src_name, back_name = f"rt_{uuid.uuid4().hex[:8]}", f"rt_{uuid.uuid4().hex[:8]}"
    DATASETS[src_name] = {stream: table}
    try:
        sent = sync_memory("memory", {"dataset": src_name}, destination, destination_config,
                           [StreamChoice(stream, destination_sync_mode=mode,
                                         primary_key=(("order",),))])
        assert sent.ok, sent.streams
        got = sync_memory(destination, source_config, "memory", {"dataset": back_name},
                          [StreamChoice(stream)])
        assert got.ok, got.streams
        return DATASETS[back_name][stream]
    finally:
        DATASETS.pop(src_name, None)
        DATASETS.pop(back_name, None)

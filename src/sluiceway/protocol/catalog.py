"""Catalog objects shaped after the Airbyte protocol (``AirbyteCatalog`` and friends).

Besides the protocol's JSON fields, a :class:`Stream` carries the Arrow schema its records
travel in; :meth:`Stream.to_airbyte` / :meth:`Stream.from_airbyte` speak protocol JSON.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from sluiceway.protocol.arrow_types import schema_to_json_schema


class SyncMode(enum.StrEnum):
    full_refresh = "full_refresh"
    incremental = "incremental"


class DestinationSyncMode(enum.StrEnum):
    overwrite = "overwrite"
    append = "append"
    append_dedup = "append_dedup"


@dataclass(frozen=True)
class Stream:
    """A stream a source offers (``AirbyteStream``), with its Arrow schema."""

    name: str
    schema: pa.Schema
    namespace: str | None = None
    supported_sync_modes: tuple[SyncMode, ...] = (SyncMode.full_refresh, SyncMode.incremental)
    source_defined_cursor: bool = False
    default_cursor_field: tuple[str, ...] = ()
    source_defined_primary_key: tuple[tuple[str, ...], ...] = ()

    @property
    def json_schema(self) -> dict[str, Any]:
        return schema_to_json_schema(self.schema)

    def to_airbyte(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "json_schema": self.json_schema,
            "supported_sync_modes": [m.value for m in self.supported_sync_modes],
            "source_defined_cursor": self.source_defined_cursor,
            "default_cursor_field": list(self.default_cursor_field),
            "source_defined_primary_key": [list(k) for k in self.source_defined_primary_key],
        }
        if self.namespace is not None:
            out["namespace"] = self.namespace
        return out


@dataclass(frozen=True)
class Catalog:
    streams: tuple[Stream, ...]

    def get(self, name: str) -> Stream | None:
        for s in self.streams:
            if s.name == name:
                return s
        return None

    def to_airbyte(self) -> dict[str, Any]:
        return {"streams": [s.to_airbyte() for s in self.streams]}


@dataclass(frozen=True)
class ConfiguredStream:
    """One stream of a sync (``ConfiguredAirbyteStream``).

    ``sync_id`` names the sync this stream belongs to; a destination derives its staging
    names from it. ``resume`` is true when an earlier attempt of the same sync committed part
    of the data: the destination must keep what it staged instead of starting over.
    """

    stream: Stream
    sync_mode: SyncMode = SyncMode.full_refresh
    destination_sync_mode: DestinationSyncMode = DestinationSyncMode.overwrite
    cursor_field: tuple[str, ...] = ()
    primary_key: tuple[tuple[str, ...], ...] = ()
    sync_id: str = ""
    resume: bool = False
    #: where the destination should write (default: the stream's name)
    destination_name: str = ""
    columns: tuple[str, ...] | None = field(default=None)

    @property
    def name(self) -> str:
        return self.stream.name

    @property
    def target(self) -> str:
        return self.destination_name or self.stream.name

    @property
    def cursor(self) -> str | None:
        return self.cursor_field[0] if self.cursor_field else None

    @property
    def pk_columns(self) -> list[str]:
        return [k[0] for k in self.primary_key]

    def with_(self, **changes: Any) -> ConfiguredStream:
        return replace(self, **changes)

    def to_airbyte(self) -> dict[str, Any]:
        return {
            "stream": self.stream.to_airbyte(),
            "sync_mode": self.sync_mode.value,
            "destination_sync_mode": self.destination_sync_mode.value,
            "cursor_field": list(self.cursor_field),
            "primary_key": [list(k) for k in self.primary_key],
        }


@dataclass(frozen=True)
class ConfiguredCatalog:
    streams: tuple[ConfiguredStream, ...]

    def get(self, name: str) -> ConfiguredStream | None:
        for s in self.streams:
            if s.name == name:
                return s
        return None

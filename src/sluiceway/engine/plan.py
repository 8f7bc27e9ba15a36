"""Turn a discovered catalog and the user's stream choices into a configured catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pyarrow as pa

from sluiceway.core.errors import FieldError, InvalidInput, UnknownStream
from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredCatalog,
    ConfiguredStream,
    DestinationSyncMode,
    SyncMode,
)


@dataclass(frozen=True)
class StreamChoice:
    """What a user asked for one stream (pipeline file ``streams:`` entry, or API catalog)."""

    name: str
    sync_mode: SyncMode = SyncMode.full_refresh
    destination_sync_mode: DestinationSyncMode = DestinationSyncMode.overwrite
    cursor_field: tuple[str, ...] = ()
    primary_key: tuple[tuple[str, ...], ...] = ()
    destination_name: str = ""
    columns: tuple[str, ...] | None = field(default=None)


def configure(catalog: Catalog, choices: Sequence[StreamChoice] | None) -> ConfiguredCatalog:
    """Validate choices against the catalog; ``None`` means every stream, full refresh."""
    if choices is None:
        choices = [StreamChoice(s.name) for s in catalog.streams]
    out: list[ConfiguredStream] = []
    errors: list[FieldError] = []
    for i, ch in enumerate(choices):
        stream = catalog.get(ch.name)
        if stream is None:
            raise UnknownStream(ch.name, [s.name for s in catalog.streams])
        where = f"streams[{i}]"
        try:
            sync_mode = SyncMode(ch.sync_mode)
            dest_mode = DestinationSyncMode(ch.destination_sync_mode)
        except ValueError as exc:
            errors.append(FieldError(where, str(exc)))
            continue
        names = set(stream.schema.names)
        cursor = ch.cursor_field or stream.default_cursor_field
        pk = ch.primary_key or stream.source_defined_primary_key
        if sync_mode not in stream.supported_sync_modes:
            errors.append(FieldError(f"{where}.sync_mode",
                                     f"stream {ch.name!r} does not support {sync_mode}"))
        if sync_mode is SyncMode.incremental:
            if not cursor:
                errors.append(FieldError(f"{where}.cursor_field",
                                         "incremental sync needs a cursor field"))
            elif cursor[0] not in names:
                errors.append(FieldError(f"{where}.cursor_field",
                                         f"column {cursor[0]!r} is not in stream {ch.name!r}"))
        if dest_mode is DestinationSyncMode.append_dedup and not pk:
            errors.append(FieldError(f"{where}.primary_key",
                                     "append_dedup needs a primary key"))
        for key in pk:
            if key[0] not in names:
                errors.append(FieldError(f"{where}.primary_key",
                                         f"column {key[0]!r} is not in stream {ch.name!r}"))
        if ch.columns is not None:
            missing = [c for c in ch.columns if c not in names]
            if missing:
                errors.append(FieldError(f"{where}.columns", f"unknown columns {missing}"))
            need = {k[0] for k in pk} | ({cursor[0]} if cursor else set())
            if sync_mode is SyncMode.incremental or dest_mode is (
                DestinationSyncMode.append_dedup
            ):
                lacking = sorted(need - set(ch.columns))
                if lacking:
                    errors.append(FieldError(f"{where}.columns",
                                             f"must include cursor and key columns {lacking}"))
        selected = stream
        if ch.columns is not None and not errors:
            keep = [stream.schema.field(c) for c in ch.columns]
            selected = replace(stream, schema=pa.schema(keep, metadata=stream.schema.metadata))
        out.append(ConfiguredStream(
            stream=selected,
            sync_mode=sync_mode,
            destination_sync_mode=dest_mode,
            cursor_field=tuple(cursor) if sync_mode is SyncMode.incremental else (),
            primary_key=tuple(tuple(k) for k in pk),
            destination_name=ch.destination_name,
            columns=ch.columns,
        ))
    if errors:
        raise InvalidInput("invalid stream selection", errors)
    return ConfiguredCatalog(tuple(out))

"""What the connection kinds share: load a connection with plain configs, stream choices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sluiceway.core.errors import Fatal, FieldError, InvalidInput
from sluiceway.engine.plan import StreamChoice
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.actors import load_actor
from sluiceway.protocol.catalog import DestinationSyncMode, SyncMode
from sluiceway.store.models import Connection


@dataclass(frozen=True)
class Loaded:
    """A connection with its source and destination, configs unsealed and validated."""

    connection_id: str
    name: str
    catalog: dict[str, Any]
    source_name: str
    source_config: dict[str, Any]
    destination_name: str
    destination_config: dict[str, Any]


def load_connection(ctx: AttemptContext, connection_id: str) -> Loaded:
    """Read the connection and its actors (through :func:`~.actors.load_actor`, which
    unseals, validates and registers their secrets with ``ctx``).

    A missing or deleted object is :class:`Fatal` (retrying cannot bring it back); a config
    that breaks its spec is ``ConfigInvalid``.
    """
    with ctx.db.session() as s:
        conn = s.get(Connection, connection_id)
        if conn is None:
            raise Fatal(f"connection {connection_id} does not exist")
        name, catalog = conn.name, dict(conn.catalog or {})
        source_id, destination_id = conn.source_id, conn.destination_id
    src = load_actor(ctx, source_id, f"the source {source_id} of connection {connection_id}")
    dst = load_actor(ctx, destination_id,
                     f"the destination {destination_id} of connection {connection_id}")
    return Loaded(connection_id=connection_id, name=name, catalog=catalog,
                  source_name=src.connector, source_config=src.config,
                  destination_name=dst.connector, destination_config=dst.config)


def choices(catalog: dict[str, Any]) -> list[StreamChoice]:
    """The selected streams of a connection's catalog as engine stream choices."""
    out: list[StreamChoice] = []
    for stream in catalog.get("streams") or []:
        if not stream.get("selected", True):
            continue
        fields = stream.get("fields")
        columns: tuple[str, ...] | None = None
        if fields and not all(f.get("selected", True) for f in fields):
            columns = tuple(f["name"] for f in fields if f.get("selected", True))
        try:
            sync_mode = SyncMode(stream.get("sync_mode") or SyncMode.full_refresh)
            dest_mode = DestinationSyncMode(
                stream.get("destination_sync_mode") or DestinationSyncMode.overwrite)
        except ValueError as exc:
            raise InvalidInput("invalid connection catalog", [
                FieldError(f"syncSchema.streams[{stream.get('name')!r}]", str(exc))]) from None
        out.append(StreamChoice(
            name=stream["name"],
            sync_mode=sync_mode,
            destination_sync_mode=dest_mode,
            cursor_field=tuple(stream.get("cursor_field") or ()),
            primary_key=tuple(tuple(k) for k in stream.get("primary_key") or ()),
            columns=columns,
        ))
    return out

"""What the connection kinds share: load a connection with plain configs, stream choices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sluiceway.connectors import registry
from sluiceway.core.errors import Fatal, FieldError, InvalidInput
from sluiceway.engine.plan import StreamChoice
from sluiceway.jobs.context import AttemptContext
from sluiceway.protocol.catalog import DestinationSyncMode, SyncMode
from sluiceway.protocol.spec import validate_config
from sluiceway.secrets import Cipher, secret_values, unseal
from sluiceway.store.models import Actor, Connection, ConnectorDefinition


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
    """Read the connection and its actors; registers their secrets with ``ctx``.

    A missing or deleted object is :class:`Fatal` (retrying cannot bring it back); a config
    that breaks its spec is ``ConfigInvalid``.
    """
    with ctx.db.session() as s:
        conn = s.get(Connection, connection_id)
        if conn is None:
            raise Fatal(f"connection {connection_id} does not exist")
        sides: list[tuple[str, dict[str, Any]]] = []
        for kind, actor_id in (("source", conn.source_id), ("destination", conn.destination_id)):
            actor = s.get(Actor, actor_id)
            if actor is None or actor.tombstone:
                raise Fatal(f"the {kind} {actor_id} of connection {connection_id} was deleted")
            definition = s.get(ConnectorDefinition, actor.definition_id)
            if definition is None:
                raise Fatal(f"the {kind} definition {actor.definition_id} does not exist")
            sides.append((definition.docker_repository, dict(actor.config or {})))
        name, catalog = conn.name, dict(conn.catalog or {})
    cipher = Cipher.from_settings(ctx.settings)
    (src_name, src_sealed), (dst_name, dst_sealed) = sides
    src_entry = registry.entry(src_name, "source")
    dst_entry = registry.entry(dst_name, "destination")
    src_spec, dst_spec = src_entry.load_spec(), dst_entry.load_spec()
    src_plain = unseal(src_sealed, cipher)
    dst_plain = unseal(dst_sealed, cipher)
    ctx.add_secrets(secret_values(src_spec, src_plain))
    ctx.add_secrets(secret_values(dst_spec, dst_plain))
    return Loaded(
        connection_id=connection_id, name=name, catalog=catalog,
        source_name=src_name, source_config=validate_config(src_spec, src_plain),
        destination_name=dst_name, destination_config=validate_config(dst_spec, dst_plain),
    )


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

"""A connection's stream selection, stored in one neutral shape that every face maps from.

``{"streams": [{name, namespace, selected, sync_mode, destination_sync_mode, cursor_field,
primary_key, fields: [{name, data_type, selected}], supported_sync_modes,
source_defined_cursor, default_cursor_field, source_defined_primary_key}]}``
"""

from __future__ import annotations

from typing import Any

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.protocol.catalog import Catalog, DestinationSyncMode, SyncMode

DATA_TYPES = ("string", "number", "boolean", "object", "array")


def _data_type(js: dict[str, Any]) -> str:
    types = js.get("type", "string")
    if isinstance(types, list):
        types = next((t for t in types if t != "null"), "string")
    if types in ("integer", "number"):
        return "number"
    return types if types in DATA_TYPES else "string"


def from_discovered(catalog: Catalog) -> dict[str, Any]:
    """Every stream and field selected, full refresh + overwrite, the source's defaults."""
    streams = []
    for st in catalog.streams:
        props = st.json_schema.get("properties", {})
        streams.append({
            "name": st.name,
            "namespace": st.namespace,
            "selected": True,
            "sync_mode": SyncMode.full_refresh.value,
            "destination_sync_mode": DestinationSyncMode.overwrite.value,
            "cursor_field": list(st.default_cursor_field),
            "primary_key": [list(k) for k in st.source_defined_primary_key],
            "fields": [{"name": n, "data_type": _data_type(js), "selected": True}
                       for n, js in props.items()],
            "supported_sync_modes": [m.value for m in st.supported_sync_modes],
            "source_defined_cursor": st.source_defined_cursor,
            "default_cursor_field": list(st.default_cursor_field),
            "source_defined_primary_key": [list(k) for k in st.source_defined_primary_key],
        })
    return {"streams": streams}


def validate(streams: list[dict[str, Any]], where: str = "syncSchema") -> dict[str, Any]:
    """Check a selection on its own terms; the live source is checked again at sync time."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, st in enumerate(streams):
        at = f"{where}.streams[{i}]"
        name = st.get("name", "")
        if name in seen:
            errors.append(FieldError(f"{at}.name", f"stream {name!r} is listed twice", name))
        seen.add(name)
        if not st.get("selected", True):
            continue
        fields = {f["name"] for f in st.get("fields", [])}
        chosen = {f["name"] for f in st.get("fields", []) if f.get("selected", True)}
        supported = st.get("supported_sync_modes") or [m.value for m in SyncMode]
        if st["sync_mode"] not in supported:
            errors.append(FieldError(f"{at}.syncMode", f"stream {name!r} supports only "
                                     f"{supported}", st["sync_mode"]))
        cursor = st.get("cursor_field") or []
        if st["sync_mode"] == SyncMode.incremental.value:
            if not cursor:
                errors.append(FieldError(f"{at}.cursorField",
                                         "an incremental stream needs a cursor field"))
            elif fields and cursor[0] not in fields:
                errors.append(FieldError(f"{at}.cursorField",
                                         f"{cursor[0]!r} is not a field of {name!r}", cursor))
            elif cursor[0] not in chosen:
                errors.append(FieldError(f"{at}.cursorField",
                                         f"the cursor {cursor[0]!r} must be a selected field"))
        pk = st.get("primary_key") or []
        if st["destination_sync_mode"] == DestinationSyncMode.append_dedup.value and not pk:
            errors.append(FieldError(f"{at}.primaryKey", "append_dedup needs a primary key"))
        for key in pk:
            if not key or (fields and key[0] not in fields):
                errors.append(FieldError(f"{at}.primaryKey",
                                         f"{key!r} is not a field of {name!r}", key))
            elif key[0] not in chosen:
                errors.append(FieldError(f"{at}.primaryKey",
                                         f"the key {key[0]!r} must be a selected field"))
        if fields and not chosen:
            errors.append(FieldError(f"{at}.fields", "select at least one field"))
    if errors:
        raise InvalidInput(f"invalid {where}", errors)
    return {"streams": streams}


def merge_declared(chosen: list[dict[str, Any]], discovered: dict[str, Any] | None,
                   where: str = "syncSchema") -> list[dict[str, Any]]:
    """Fill what the source declares (supported modes, default cursor, key) into a selection
    sent by a client, and refuse streams the source does not have."""
    if discovered is None:
        return chosen
    known = {s["name"]: s for s in discovered["streams"]}
    errors = []
    out = []
    for i, st in enumerate(chosen):
        base = known.get(st["name"])
        if base is None:
            errors.append(FieldError(f"{where}.streams[{i}].name",
                                     f"the source has no stream {st['name']!r}; it has: "
                                     + ", ".join(sorted(known)[:20]), st["name"]))
            continue
        merged = dict(base)
        merged.update({k: v for k, v in st.items() if v is not None})
        if not st.get("fields"):
            merged["fields"] = base["fields"]
        if not st.get("primary_key"):
            merged["primary_key"] = base["primary_key"]
        out.append(merged)
    if errors:
        raise InvalidInput(f"invalid {where}", errors)
    return out

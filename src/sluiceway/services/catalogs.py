"""A connection's stream selection, stored in one neutral shape that every face maps from.

``{"streams": [{name, namespace, selected, sync_mode, destination_sync_mode, cursor_field,
primary_key, fields: [{name, data_type, selected}], supported_sync_modes,
source_defined_cursor, default_cursor_field, source_defined_primary_key, json_schema}]}``

``json_schema`` (the source's JSON schema of the stream) is kept from discovery on; catalogs
stored before it was kept have only ``fields``, from which :func:`json_schema` rebuilds one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.protocol.catalog import Catalog, DestinationSyncMode, SyncMode

DATA_TYPES = ("string", "number", "boolean", "object", "array")
#: the namespace of the ids given to discovered catalogs (see :func:`catalog_id`)
_CATALOG_IDS = uuid.UUID("6f1d2c9e-5b0a-4c3e-9a57-2f8e1d4b7c60")
#: where each checked key of a stream sits in what the client sent (the seed's syncSchema)
SEED_PATHS: Mapping[str, str] = MappingProxyType({
    "name": "name", "syncMode": "syncMode", "cursorField": "cursorField",
    "primaryKey": "primaryKey", "fields": "fields"})


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
        streams.append({
            "name": st.name,
            "namespace": st.namespace,
            "selected": True,
            "sync_mode": SyncMode.full_refresh.value,
            "destination_sync_mode": DestinationSyncMode.overwrite.value,
            "cursor_field": list(st.default_cursor_field),
            "primary_key": [list(k) for k in st.source_defined_primary_key],
            "fields": fields_of(st.json_schema),
            "supported_sync_modes": [m.value for m in st.supported_sync_modes],
            "source_defined_cursor": st.source_defined_cursor,
            "default_cursor_field": list(st.default_cursor_field),
            "source_defined_primary_key": [list(k) for k in st.source_defined_primary_key],
            "json_schema": st.json_schema,
        })
    return {"streams": streams}


#: words in a column's name that say it changes whenever its row does
_CHANGE_WORDS = ("updat", "modif", "chang")


def suggested_cursor(stream: Mapping[str, Any]) -> str | None:
    """The cursor a form offers for a stream whose source names none: its first timestamp
    (or date) column that is never null and whose name says it changes with its row
    (``updated_at``, ``modified``, ``last_changed``...); None when there is no such
    column (a cursor is then the user's choice)."""
    if stream.get("source_defined_cursor") or stream.get("default_cursor_field"):
        return None
    props = json_schema(stream).get("properties")
    if not isinstance(props, Mapping):
        return None
    for name, node in props.items():
        if not isinstance(node, Mapping) or node.get("format") not in ("date-time", "date"):
            continue
        types = node.get("type")
        if types == "null" or (isinstance(types, list) and "null" in types):
            continue
        if any(w in str(name).lower() for w in _CHANGE_WORDS):
            return str(name)
    return None


def fields_of(js: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The top-level fields of a stream's JSON schema, every one selected."""
    props = js.get("properties")
    if not isinstance(props, Mapping):
        return []
    return [{"name": n, "data_type": _data_type(f if isinstance(f, dict) else {}),
             "selected": True} for n, f in props.items()]


_JSON_TYPES = {"string": "string", "number": "number", "boolean": "boolean",
               "object": "object", "array": "array"}


def json_schema(stream: Mapping[str, Any]) -> dict[str, Any]:
    """The stream's JSON schema: as discovered, or rebuilt from its fields."""
    kept = stream.get("json_schema")
    if isinstance(kept, dict):
        return kept
    return {"type": "object", "properties": {
        f["name"]: {"type": [_JSON_TYPES.get(f.get("data_type", "string"), "string"), "null"]}
        for f in stream.get("fields") or []}}


def catalog_id(source_id: str, catalog: Mapping[str, Any]) -> str:
    """A stable id for a source's discovered catalog: the same streams give the same id."""
    digest = hashlib.sha256(json.dumps(catalog, sort_keys=True, default=str).encode())
    return str(uuid.uuid5(_CATALOG_IDS, f"{source_id}:{digest.hexdigest()}"))


def validate(streams: list[dict[str, Any]], where: str = "streams",
             paths: Mapping[str, str] = SEED_PATHS) -> dict[str, Any]:
    """Check a selection on its own terms; the live source is checked again at sync time.
    ``paths`` says where each checked key sits in a stream as the client sent it."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, st in enumerate(streams):
        def at_(key: str, i: int = i) -> str:
            return f"{where}.streams[{i}].{paths[key]}"

        name = st.get("name", "")
        if name in seen:
            errors.append(FieldError(at_("name"), f"stream {name!r} is listed twice", name))
        seen.add(name)
        if not st.get("selected", True):
            continue
        fields = {f["name"] for f in st.get("fields", [])}
        chosen = {f["name"] for f in st.get("fields", []) if f.get("selected", True)}
        supported = st.get("supported_sync_modes") or [m.value for m in SyncMode]
        if st["sync_mode"] not in supported:
            errors.append(FieldError(at_("syncMode"), f"stream {name!r} supports only "
                                     f"{supported}", st["sync_mode"]))
        cursor = st.get("cursor_field") or []
        if st["sync_mode"] == SyncMode.incremental.value:
            if not cursor:
                errors.append(FieldError(at_("cursorField"),
                                         "an incremental stream needs a cursor field"))
            elif fields and cursor[0] not in fields:
                errors.append(FieldError(at_("cursorField"),
                                         f"{cursor[0]!r} is not a field of {name!r}", cursor))
            elif cursor[0] not in chosen:
                errors.append(FieldError(at_("cursorField"),
                                         f"the cursor {cursor[0]!r} must be a selected field"))
        pk = st.get("primary_key") or []
        if st["destination_sync_mode"] == DestinationSyncMode.append_dedup.value and not pk:
            errors.append(FieldError(at_("primaryKey"), "append_dedup needs a primary key"))
        for key in pk:
            if not key or (fields and key[0] not in fields):
                errors.append(FieldError(at_("primaryKey"),
                                         f"{key!r} is not a field of {name!r}", key))
            elif key[0] not in chosen:
                errors.append(FieldError(at_("primaryKey"),
                                         f"the key {key[0]!r} must be a selected field"))
        if fields and not chosen:
            errors.append(FieldError(at_("fields"), "select at least one field"))
    if errors:
        raise InvalidInput(f"invalid {where}", errors)
    return {"streams": streams}


def merge_declared(chosen: list[dict[str, Any]], discovered: dict[str, Any] | None,
                   where: str = "streams",
                   paths: Mapping[str, str] = SEED_PATHS) -> list[dict[str, Any]]:
    """Fill what the source declares (supported modes, default cursor, key, fields) into a
    selection sent by a client, and refuse streams the source does not have.

    A stream may name its chosen top-level fields in ``selected_fields`` instead of marking
    each of ``fields``: the fields are then marked from it (and it is dropped)."""
    known = {s["name"]: s for s in discovered["streams"]} if discovered is not None else None
    errors: list[FieldError] = []
    out = []
    for i, st in enumerate(chosen):
        if known is None:
            out.append(_select_fields(st, st.get("fields") or [], errors,
                                      f"{where}.streams[{i}].{paths['fields']}"))
            continue
        base = known.get(st["name"])
        if base is None:
            errors.append(FieldError(f"{where}.streams[{i}].{paths['name']}",
                                     f"the source has no stream {st['name']!r}; it has: "
                                     + ", ".join(sorted(known)[:20]), st["name"]))
            continue
        merged = dict(base)
        merged.update({k: v for k, v in st.items() if v is not None})
        if not st.get("fields"):
            merged["fields"] = base["fields"]
        if not st.get("primary_key"):
            merged["primary_key"] = base["primary_key"]
        out.append(_select_fields(merged, merged["fields"], errors,
                                  f"{where}.streams[{i}].{paths['fields']}"))
    if errors:
        raise InvalidInput(f"invalid {where}", errors)
    return out


def _select_fields(st: dict[str, Any], fields: list[dict[str, Any]],
                   errors: list[FieldError], at: str) -> dict[str, Any]:
    chosen = st.get("selected_fields")
    if chosen is None:
        return st
    out = {k: v for k, v in st.items() if k != "selected_fields"}
    names = {f["name"] for f in fields}
    unknown = [n for n in chosen if n not in names]
    if unknown and names:
        errors.append(FieldError(at, f"{unknown[0]!r} is not a field of {st['name']!r}",
                                 unknown[0]))
    if names:
        out["fields"] = [{**f, "selected": f["name"] in chosen} for f in fields]
    else:  # nothing known of the fields: the chosen ones are the fields
        out["fields"] = [{"name": n, "data_type": "string", "selected": True} for n in chosen]
    return out

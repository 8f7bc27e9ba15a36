"""Read a pipeline file (YAML) into connector names, configs and stream choices."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.engine.plan import StreamChoice
from sluiceway.protocol.catalog import DestinationSyncMode, SyncMode


@dataclass(frozen=True)
class Pipeline:
    name: str
    source: str
    source_config: dict[str, Any]
    destination: str
    destination_config: dict[str, Any]
    streams: list[StreamChoice] | None


def load(path: Path) -> Pipeline:
    try:
        raw = _yaml(path)
    except OSError as exc:
        raise InvalidInput("cannot read pipeline file",
                           [FieldError(str(path), exc.strerror or str(exc))]) from exc
    except yaml.YAMLError as exc:
        # YAML's own text, lines kept: its mark shows the line with a ``^`` under the column
        raise InvalidInput("pipeline file is not valid YAML",
                           [FieldError(str(path), "\n" + str(exc))]) from exc
    return parse(raw, default_name=_default_name(path))


def _yaml(path: Path) -> object:
    """``yaml.safe_load`` of the file's text, with marks naming the file (read as text, an
    error's mark also quotes the line)."""
    loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
    loader.name = str(path)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _default_name(path: Path) -> str:
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
    return f"{path.stem}-{digest}"


def parse(raw: object, default_name: str = "pipeline") -> Pipeline:
    errors: list[FieldError] = []
    if not isinstance(raw, dict):
        raise InvalidInput("invalid pipeline file", [FieldError("", "must be a mapping")])
    allowed = {"name", "source", "destination", "streams"}
    for key in raw:
        if key not in allowed:
            errors.append(FieldError(str(key), f"unknown key; expected one of {sorted(allowed)}"))
    ends: dict[str, tuple[str, dict[str, Any]]] = {}
    for side in ("source", "destination"):
        node = raw.get(side)
        if not isinstance(node, dict):
            errors.append(FieldError(side, "is required: a mapping with connector and config"))
            continue
        conn, cfg = node.get("connector"), node.get("config", {})
        if not isinstance(conn, str) or not conn:
            errors.append(FieldError(f"{side}.connector", "is required (a connector name)"))
        if not isinstance(cfg, dict):
            errors.append(FieldError(f"{side}.config", "must be a mapping"))
        ends[side] = (str(conn), cfg if isinstance(cfg, dict) else {})
    streams = _streams(raw.get("streams"), errors)
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", name):
        errors.append(FieldError("name", "must be 1-100 letters, digits, '_', '.', '-'"))
    if errors:
        raise InvalidInput("invalid pipeline file", errors)
    return Pipeline(str(name), *ends["source"], *ends["destination"], streams)


def _streams(node: object, errors: list[FieldError]) -> list[StreamChoice] | None:
    if node is None:
        return None
    if not isinstance(node, list):
        errors.append(FieldError("streams", "must be a list"))
        return None
    out = []
    for i, item in enumerate(node):
        where = f"streams[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            errors.append(FieldError(f"{where}.name", "is required (a stream name)"))
            continue
        unknown = set(item) - {"name", "sync_mode", "cursor_field", "destination_sync_mode",
                               "primary_key", "destination_name", "columns"}
        if unknown:
            errors.append(FieldError(where, f"unknown keys {sorted(unknown)}"))
        try:
            sync_mode = SyncMode(item.get("sync_mode", "full_refresh"))
        except ValueError:
            errors.append(FieldError(f"{where}.sync_mode",
                                     f"must be one of {[m.value for m in SyncMode]}"))
            continue
        try:
            dest_mode = DestinationSyncMode(item.get("destination_sync_mode", "overwrite"))
        except ValueError:
            errors.append(FieldError(f"{where}.destination_sync_mode",
                                     f"must be one of {[m.value for m in DestinationSyncMode]}"))
            continue
        cursor = _path(item.get("cursor_field"))
        pk_raw = item.get("primary_key") or []
        if isinstance(pk_raw, str):
            pk_raw = [[pk_raw]]
        pk = tuple(_path(k) for k in pk_raw) if isinstance(pk_raw, list) else ()
        columns = item.get("columns")
        out.append(StreamChoice(
            name=item["name"], sync_mode=sync_mode, destination_sync_mode=dest_mode,
            cursor_field=cursor, primary_key=tuple(k for k in pk if k),
            destination_name=str(item.get("destination_name") or ""),
            columns=tuple(str(c) for c in columns) if isinstance(columns, list) else None,
        ))
    return out


def _path(v: object) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list):
        return tuple(str(x) for x in v)
    return ()

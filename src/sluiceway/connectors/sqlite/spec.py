"""Config schemas of the SQLite source and destination, and the check of a database path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sluiceway.core.errors import ConfigInvalid, FieldError
from sluiceway.core.paths import confine
from sluiceway.protocol.catalog import DestinationSyncMode
from sluiceway.protocol.spec import ConnectorSpec

_PATH = {"type": "string", "title": "Database file", "minLength": 1, "order": 0,
         "description": "Path of the database file (relative paths are resolved against the "
                        "working directory of the Sluiceway process)."}

SOURCE_SPEC = ConnectorSpec(
    documentation_url="https://www.sqlite.org/datatype3.html",
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "SQLite Source",
        "type": "object",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {"path": _PATH},
    },
)

DESTINATION_SPEC = ConnectorSpec(
    documentation_url="https://www.sqlite.org/datatype3.html",
    supported_destination_sync_modes=tuple(m.value for m in DestinationSyncMode),
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "SQLite Destination",
        "type": "object",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {"path": _PATH},
    },
)


def database_path(config: dict[str, Any], *, must_exist: bool, field: str = "path",
                  roots: Sequence[Path] | None = None) -> Path:
    """The absolute path of the database file ``config[field]`` names.

    Raises :class:`ConfigInvalid` naming ``field`` for an empty path, an in-memory or URI
    name, a directory, a missing parent directory, or (``must_exist``) a missing file.
    """
    raw = config.get(field)

    def bad(reason: str) -> ConfigInvalid:
        return ConfigInvalid("invalid connector config", [FieldError(field, reason, raw)])

    if not isinstance(raw, str) or not raw.strip():
        raise bad("must be a non-empty file path")
    if raw.strip() == ":memory:" or raw.startswith("file:"):
        raise bad("must be a file path (in-memory databases and URIs are not supported)")
    try:
        path = Path(raw).expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        raise bad(f"cannot be resolved: {exc}") from exc
    path = confine(Path(raw), roots, field, raw)
    if path.is_dir():
        raise bad(f"{path} is a directory, not a database file")
    if not path.parent.is_dir():
        raise bad(f"directory {path.parent} does not exist")
    if must_exist and not path.is_file():
        raise bad(f"file {path} does not exist")
    return path

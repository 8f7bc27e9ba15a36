"""Config schemas of the DuckDB source and destination (imports no driver)."""

from __future__ import annotations

from sluiceway.connectors.sqlite.spec import database_path
from sluiceway.protocol.catalog import DestinationSyncMode
from sluiceway.protocol.spec import ConnectorSpec

__all__ = ["DESTINATION_SPEC", "SOURCE_SPEC", "database_path"]

_PATH = {"type": "string", "title": "Database file", "minLength": 1, "order": 0,
         "description": "Path of the DuckDB database file (relative paths are resolved "
                        "against the working directory of the Sluiceway process)."}

SOURCE_SPEC = ConnectorSpec(
    documentation_url="https://duckdb.org/docs/stable/clients/python/overview",
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "DuckDB Source",
        "type": "object",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {"path": _PATH},
    },
)

DESTINATION_SPEC = ConnectorSpec(
    documentation_url="https://duckdb.org/docs/stable/clients/python/overview",
    supported_destination_sync_modes=tuple(m.value for m in DestinationSyncMode),
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "DuckDB Destination",
        "type": "object",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {
            "path": _PATH,
            "schema": {"type": "string", "title": "Schema", "minLength": 1,
                       "default": "main", "order": 1},
        },
    },
)

"""Config schema of the sample source (a deterministic generator; imports no driver)."""

from __future__ import annotations

from sluiceway.protocol.spec import ConnectorSpec

MAX_ROWS = 1_000_000_000

SOURCE_SPEC = ConnectorSpec(
    documentation_url="",
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Sample Source",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "rows": {"type": "integer", "title": "Rows per stream", "minimum": 0,
                     "maximum": MAX_ROWS, "default": 1000, "order": 0},
            "seed": {"type": "integer", "title": "Seed", "minimum": 0,
                     "maximum": 2**63 - 1, "default": 0, "order": 1,
                     "description": "The same seed always gives the same rows."},
            "batch_size": {"type": "integer", "title": "Rows per record batch", "minimum": 1,
                           "maximum": 1_048_576, "default": 65_536, "order": 2},
            "streams": {"type": "array", "title": "Streams", "minItems": 1,
                        "uniqueItems": True, "default": ["events"], "order": 3,
                        "items": {"type": "string", "minLength": 1, "maxLength": 128},
                        "description": "Each stream is an events table with its own data."},
        },
    },
)

"""Config schemas of the file source and destination (field names as Airbyte's where they exist).

Imports no driver (not even pyarrow): listing specs stays cheap.
"""

from __future__ import annotations

from typing import Any

from sluiceway.protocol.spec import ConnectorSpec

FORMATS = ["csv", "jsonl", "parquet"]
COMPRESSIONS = ["zstd", "snappy", "gzip", "brotli", "lz4", "none"]
#: type names accepted by the source's ``schema`` override
TYPE_NAMES = ["integer", "bigint", "int", "smallint", "number", "float", "double", "string",
              "boolean", "date", "time", "timestamp", "timestamptz", "json", "uuid", "binary",
              "decimal(p,s)"]
_TYPE_PATTERN = (r"^\s*(integer|bigint|int|smallint|number|float|double|string|boolean|date"
                 r"|time|timestamp|timestamptz|json|uuid|binary|decimal\s*\(\s*\d+\s*,\s*\d+\s*\))\s*$")
DOCS = "https://arrow.apache.org/docs/python/csv.html"

_one_char: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 1}

SOURCE_SPEC = ConnectorSpec(
    documentation_url=DOCS,
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "File Source (CSV, JSON lines, Parquet)",
        "type": "object",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {
            "path": {"type": "string", "title": "Path", "minLength": 1, "order": 0,
                     "description": "A file, a directory (its files of a known format) or "
                                    "a glob such as data/orders_*.csv.gz (** recurses)."},
            "format": {"type": "string", "title": "Format", "enum": FORMATS, "order": 1,
                       "description": "Inferred from the file extension when absent."},
            "stream_name": {"type": "string", "title": "Stream name", "minLength": 1,
                            "pattern": r"^[^/\\\x00]+$", "order": 2,
                            "description": "Default: the file stem (a directory's name)."},
            "delimiter": dict(_one_char, title="CSV delimiter", default=",", order=3),
            "quote_char": dict(_one_char, title="CSV quote character", default='"',
                               order=4),
            "header": {"type": "boolean", "title": "CSV header row", "default": True,
                       "order": 5,
                       "description": "Without a header columns are column_1..column_N."},
            "encoding": {"type": "string", "title": "Encoding", "default": "utf-8",
                         "minLength": 1, "order": 6},
            "schema": {"type": "object", "title": "Column types", "order": 7,
                       "description": "Column name -> type: " + ", ".join(TYPE_NAMES),
                       "additionalProperties": {"type": "string",
                                                "pattern": _TYPE_PATTERN}},
            "bad_rows": {"type": "string", "title": "Bad CSV rows", "enum": ["fail", "skip"],
                         "default": "fail", "order": 9,
                         "description": "fail: the first bad row stops the read, naming it; "
                                        "skip: bad rows are left out and reported."},
            "max_bad_rows": {"type": "integer", "title": "Most bad rows to skip",
                             "minimum": 0, "default": 1000, "order": 10},
            "file_columns": {"type": "boolean", "title": "Add file columns", "default": True,
                             "order": 8,
                             "description": "Add _ab_source_file_url and "
                                            "_ab_source_file_last_modified (the cursor of "
                                            "incremental syncs) to every record."},
        },
    },
)

DESTINATION_SPEC = ConnectorSpec(
    documentation_url=DOCS,
    supported_destination_sync_modes=("overwrite", "append"),
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "File Destination (CSV, JSON lines, Parquet)",
        "type": "object",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {
            "path": {"type": "string", "title": "Folder", "minLength": 1, "order": 0,
                     "description": "Created if missing; each stream gets a sub-folder."},
            "format": {"type": "string", "title": "Format", "enum": FORMATS,
                       "default": "parquet", "order": 1},
            "compression": {"type": "string", "title": "Parquet compression",
                            "enum": COMPRESSIONS, "default": "zstd", "order": 2},
        },
    },
)

"""The HTTP incoming's and outgoing's configurations as the connectors take them: the
``http-client`` parameters (variables resolved) under ``client``, and what to call."""

from __future__ import annotations

from sluiceway.protocol.spec import ConnectorSpec

_CLIENT = {"type": "object", "required": ["baseUrl"],
           "description": "the http-client's parameters"}
SOURCE_SPEC = ConnectorSpec(connection_specification={
    "type": "object", "required": ["client"],
    "properties": {
        "client": _CLIENT,
        "path": {"type": "string", "description": "the path read, below the base URL"},
        "recordsPath": {"type": "string",
                        "description": "where the records are in each answer (dotted)"},
        "query": {"type": "object", "description": "query parameters of every request"},
        "cursorField": {"type": "string",
                        "description": "the records' field whose highest value is kept"},
        "cursorParameter": {"type": "string",
                            "description": "the query parameter that sends it back"},
    }})
DESTINATION_SPEC = ConnectorSpec(connection_specification={
    "type": "object", "required": ["client"],
    "properties": {
        "client": _CLIENT,
        "path": {"type": "string", "description": "the path template sent to"},
        "method": {"type": "string", "enum": ["POST", "PUT", "PATCH"]},
        "batchSize": {"type": "integer", "minimum": 1, "maximum": 1000},
        "batchKey": {"type": "string"},
    }})

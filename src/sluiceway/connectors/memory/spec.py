"""Config of the memory connector: the name of a dataset in this process."""

from __future__ import annotations

from sluiceway.protocol.catalog import DestinationSyncMode
from sluiceway.protocol.spec import ConnectorSpec

_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Memory",
    "type": "object",
    "required": ["dataset"],
    "additionalProperties": False,
    "properties": {"dataset": {"type": "string", "minLength": 1, "title": "Dataset name"}},
}
SOURCE_SPEC = ConnectorSpec(connection_specification=_SCHEMA)
DESTINATION_SPEC = ConnectorSpec(
    connection_specification=_SCHEMA,
    supported_destination_sync_modes=tuple(m.value for m in DestinationSyncMode))

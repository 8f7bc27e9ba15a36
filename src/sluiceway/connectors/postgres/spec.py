"""Config schemas of the PostgreSQL source and destination (field names as Airbyte's)."""

from __future__ import annotations

import math
from typing import Any

from sluiceway.connectors import network
from sluiceway.protocol.catalog import DestinationSyncMode
from sluiceway.protocol.spec import ConnectorSpec

SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


def _common() -> dict[str, Any]:
    return {
        "host": {"type": "string", "title": "Host", "minLength": 1, "order": 0},
        "port": {"type": "integer", "title": "Port", "minimum": 1, "maximum": 65535,
                 "default": 5432, "order": 1},
        "database": {"type": "string", "title": "Database", "minLength": 1, "order": 2},
        "username": {"type": "string", "title": "User", "minLength": 1, "order": 3},
        "password": {"type": "string", "title": "Password", "airbyte_secret": True,
                     "order": 4},
        "ssl_mode": {"type": "string", "title": "SSL mode", "enum": SSL_MODES,
                     "default": "prefer", "order": 6},
    }


SOURCE_SPEC = ConnectorSpec(
    documentation_url="https://www.postgresql.org/docs/current/libpq-connect.html",
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "PostgreSQL Source",
        "type": "object",
        "required": ["host", "port", "database", "username"],
        "additionalProperties": False,
        "properties": {
            **_common(),
            "schemas": {"type": "array", "title": "Schemas", "items": {"type": "string"},
                        "minItems": 1, "uniqueItems": True, "default": ["public"],
                        "order": 5},
            "parallel_readers": {
                "type": "integer", "title": "Parallel readers", "minimum": 1, "maximum": 64,
                "order": 7,
                "description": "Connections that read one keyed table's ranges at once, "
                               "in one snapshot, in a full refresh (unset: one COPY stream "
                               "of the whole table)."},
        },
    },
)

DESTINATION_SPEC = ConnectorSpec(
    documentation_url="https://www.postgresql.org/docs/current/libpq-connect.html",
    supported_destination_sync_modes=tuple(m.value for m in DestinationSyncMode),
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "PostgreSQL Destination",
        "type": "object",
        "required": ["host", "port", "database", "username"],
        "additionalProperties": False,
        "properties": {
            **_common(),
            "schema": {"type": "string", "title": "Schema", "minLength": 1,
                       "default": "public", "order": 5},
        },
    },
)


def checked_conninfo(config: dict[str, Any]) -> str:
    """The connection string of ``config`` once its host passed the network policy: libpq
    connects to the checked addresses. Within a check or discover, statements and the
    connection's opening stop at that call's time limit."""
    port = int(config.get("port", 5432))
    addresses = network.check_target(str(config["host"]), port, system="PostgreSQL",
                                      database=str(config["database"]))
    return conninfo(config, addresses)


def conninfo(config: dict[str, Any], addresses: list[str] | None = None) -> str:
    """A libpq keyword/value connection string (values quoted as libpq wants).

    ``addresses`` (checked by ``network.check_target``) go in ``hostaddr``, tried in turn:
    libpq connects to them and uses ``host`` only for TLS names and messages."""
    parts = {
        "host": ",".join([config["host"]] * len(addresses)) if addresses else config["host"],
        **({"hostaddr": ",".join(addresses)} if addresses else {}),
        "port": str(config.get("port", 5432)),
        "dbname": config["database"],
        "user": config["username"],
        "sslmode": config.get("ssl_mode", "prefer"),
        "application_name": "sluiceway",
        # text in UTF-8 whatever the database's encoding: Arrow strings are UTF-8, and a
        # binary COPY sends text in the client encoding
        "client_encoding": "UTF8",
        "connect_timeout": str(max(2, math.ceil(network.handshake_timeout()))),
    }
    read_timeout = network.policy().read_timeout
    if read_timeout is not None:
        parts["options"] = f"-c statement_timeout={int(read_timeout * 1000)}"
    if config.get("password"):
        parts["password"] = config["password"]

    def quote(v: str) -> str:
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{k}={quote(v)}" for k, v in parts.items())

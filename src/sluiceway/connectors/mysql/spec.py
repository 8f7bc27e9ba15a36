"""Config schemas of the MySQL / MariaDB source and destination (field names as Airbyte's).

The MySQL "database" is the schema: the source reads the tables and views of that database,
the destination writes its tables there.

``ssl_mode``: ``disabled`` never encrypts; ``preferred`` (the default) encrypts when the
server offers TLS; ``required`` fails unless the session is encrypted. The fast read path
(connectorx) speaks plain TCP only, so the source reads encrypted sessions through PyMySQL,
which is several times slower: use ``disabled`` on a trusted network for the fastest reads.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sluiceway.connectors import network
from sluiceway.protocol.catalog import DestinationSyncMode
from sluiceway.protocol.spec import ConnectorSpec

SSL_MODES = ["disabled", "preferred", "required"]
DEFAULT_PORT = 3306


def _properties() -> dict[str, Any]:
    return {
        "host": {"type": "string", "title": "Host", "minLength": 1, "order": 0},
        "port": {"type": "integer", "title": "Port", "minimum": 1, "maximum": 65535,
                 "default": DEFAULT_PORT, "order": 1},
        "database": {"type": "string", "title": "Database", "minLength": 1, "order": 2},
        "username": {"type": "string", "title": "User", "minLength": 1, "order": 3},
        "password": {"type": "string", "title": "Password", "airbyte_secret": True,
                     "order": 4},
        "ssl_mode": {"type": "string", "title": "SSL mode", "enum": SSL_MODES,
                     "default": "preferred", "order": 5,
                     "description": "disabled: plain TCP (fastest reads); preferred: TLS when "
                                    "the server offers it; required: TLS or fail."},
    }


_PARALLEL_READERS = {
    "type": "integer", "title": "Parallel readers", "minimum": 1, "maximum": 64, "order": 6,
    "description": "Sessions that read one table's key ranges at once in a full refresh, in "
                   "one consistent snapshot (needs the RELOAD and LOCK TABLES privileges, "
                   "else one reads). Unset: one fast reader, each chunk its own snapshot."}


def _spec(title: str, *, source: bool = False, **extra: Any) -> ConnectorSpec:
    properties = _properties()
    if source:
        properties["parallel_readers"] = _PARALLEL_READERS
    return ConnectorSpec(
        documentation_url="https://mariadb.com/kb/en/load-data-infile/",
        connection_specification={
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": title,
            "type": "object",
            "required": ["host", "port", "database", "username"],
            "additionalProperties": False,
            "properties": properties,
        },
        **extra,
    )


SOURCE_SPEC = _spec("MySQL / MariaDB Source", source=True)
DESTINATION_SPEC = _spec(
    "MySQL / MariaDB Destination",
    supported_destination_sync_modes=tuple(m.value for m in DestinationSyncMode))


def checked_addresses(config: dict[str, Any]) -> list[str]:
    """The addresses of the config's host that passed the network policy."""
    return network.check_target(str(config["host"]), int(config.get("port", DEFAULT_PORT)),
                                system="MySQL", database=str(config["database"]))


def pymysql_kwargs(config: dict[str, Any], address: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``pymysql.connect`` (no compression: PyMySQL has none), to
    ``address`` (a checked address of the host) when given. Its read timeout covers the
    handshake only (see ``source.connect``)."""
    kwargs: dict[str, Any] = {
        "host": address or config["host"],
        "port": int(config.get("port", DEFAULT_PORT)),
        "user": config["username"],
        "password": config.get("password") or "",
        "database": config["database"],
        "charset": "utf8mb4",
        "connect_timeout": network.handshake_timeout(),
        "read_timeout": network.handshake_timeout(),
        "autocommit": False,
        "init_command": "SET time_zone = '+00:00'",
    }
    mode = config.get("ssl_mode", "preferred")
    if mode == "disabled":
        kwargs["ssl_disabled"] = True
    elif mode == "required":
        import ssl

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        kwargs["ssl"] = ctx
    return kwargs


def connectorx_uri(config: dict[str, Any], address: str | None = None) -> str:
    """A ``mysql://`` URL for connectorx (plain TCP; the bundled driver has no TLS), to
    ``address`` (a checked address of the host) when given."""
    host = address or str(config["host"])
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    user = quote(str(config["username"]), safe="")
    password = quote(str(config.get("password") or ""), safe="")
    database = quote(str(config["database"]), safe="")
    return f"mysql://{user}:{password}@{host}:{int(config.get('port', DEFAULT_PORT))}/{database}"

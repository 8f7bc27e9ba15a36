"""PyMySQL connections that send a local file only when Sluiceway itself asked to load it.

In the MySQL protocol the *server* names the file a ``LOAD DATA LOCAL INFILE`` reads: it may
answer any query with a LOCAL INFILE request, and a client that enabled the feature sends
whatever file is named. A hostile server (or one in the middle) could so read the key file and
the metadata database of the host. :class:`GuardedConnection` answers such a request only
while :meth:`GuardedConnection.sending` is open, and only for the exact file given there;
anything else closes the connection before a byte of the file leaves, and the statement fails
with :class:`LocalInfileRefused`. Only the destination asks for the protocol's LOCAL_FILES
capability at all (``local_infile=True``); every other connection refuses every request.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from pymysql.connections import Connection, MySQLResult
from pymysql.protocol import LoadLocalPacketWrapper

from sluiceway.core.errors import Fatal


class LocalInfileRefused(Fatal):
    """The server asked for a local file that Sluiceway did not offer."""


def _shown(name: bytes) -> str:
    return name[:200].decode("utf-8", "replace")


class _GuardedResult(MySQLResult):  # type: ignore[misc]
    def _read_load_local_packet(self, first_packet: Any) -> None:
        conn: GuardedConnection = self.connection
        requested = LoadLocalPacketWrapper(first_packet).filename
        offered = conn.offered_file
        if offered is None or requested != offered:
            # the server now waits for file data: end the connection instead, sending nothing
            conn.close_unsent()
            why = ("no local file is offered on this connection" if offered is None
                   else f"the load being sent is {_shown(offered)!r}")
            raise LocalInfileRefused(
                f"MySQL server {conn.host}:{conn.port} asked for the local file "
                f"{_shown(requested)!r}; refused and disconnected ({why})")
        super()._read_load_local_packet(first_packet)


class GuardedConnection(Connection):  # type: ignore[misc]
    """A PyMySQL connection that refuses every LOCAL INFILE request but the one it offers."""

    offered_file: bytes | None = None

    def _read_query_result(self, unbuffered: bool = False) -> Any:
        self._result = None
        result = _GuardedResult(self)
        if unbuffered:
            result.init_unbuffered_query()
        else:
            result.read()
        self._result = result
        if result.server_status is not None:
            self.server_status = result.server_status
        return result.affected_rows

    def close_unsent(self) -> None:
        """Drop the socket without another packet (not even COM_QUIT)."""
        self._force_close()

    @contextlib.contextmanager
    def sending(self, path: str) -> Iterator[None]:
        """Offer ``path`` (and nothing else) to LOCAL INFILE requests inside the block."""
        if not self._local_infile:
            raise LocalInfileRefused("this connection was opened without LOCAL INFILE")
        self.offered_file = os.fsencode(path)
        try:
            yield
        finally:
            self.offered_file = None

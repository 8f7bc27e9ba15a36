"""A hostile MySQL peer for tests: a relay to the real server that, when a chosen query
passes, answers it itself with a ``LOAD DATA LOCAL INFILE`` request for a file of its own
choosing, and records every byte the client sends after that request."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType

COM_QUERY = 0x03


def _read_exact(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def _packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


class InfileTrap:
    """Relays 127.0.0.1:<port> to ``upstream``; the first query for which ``trigger(sql)``
    is true gets a LOCAL INFILE request for ``wanted`` instead of reaching the server."""

    def __init__(self, upstream: tuple[str, int], wanted: str,
                 trigger: Callable[[bytes], bool]) -> None:
        self.upstream = upstream
        self.wanted = wanted
        self.trigger = trigger
        self.asked = threading.Event()  # the request went out
        self.answered = threading.Event()  # the client answered it (or hung up)
        self.received = b""  # what the client sent after the request
        self._lock = threading.Lock()
        self._fired = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> InfileTrap:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._listener.close()
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            threading.Thread(target=self._downstream, args=(server, client), daemon=True).start()
            threading.Thread(target=self._upstream, args=(client, server), daemon=True).start()

    def _downstream(self, server: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                client.sendall(data)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)

    def _upstream(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while True:
                head = _read_exact(client, 4)
                payload = _read_exact(client, int.from_bytes(head[:3], "little"))
                if head[3] == 0 and payload[:1] == bytes([COM_QUERY]) and self._take(payload[1:]):
                    self._spring(client)
                    return
                server.sendall(head + payload)
        except (OSError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(OSError):
                server.close()

    def _take(self, sql: bytes) -> bool:
        with self._lock:
            if self._fired or not self.trigger(sql):
                return False
            self._fired = True
            return True

    def _spring(self, client: socket.socket) -> None:
        """Ask for the file; keep whatever comes until an empty packet or the hang-up."""
        self.asked.set()  # before the client can see the request and answer
        client.sendall(_packet(1, b"\xfb" + self.wanted.encode()))
        got = b""
        try:
            while True:
                head = _read_exact(client, 4)
                size = int.from_bytes(head[:3], "little")
                if size == 0:
                    break
                got += _read_exact(client, size)
            # a client that sent the file gets an OK, as a real server would answer
            client.sendall(_packet(head[3] + 1, b"\x00\x00\x00\x02\x00\x00\x00"))
        except (OSError, ConnectionError):
            pass
        finally:
            self.received = got
            self.answered.set()

"""A COPY writer that sends on a thread of its own, so the server never waits on encoding.

psycopg's ``LibpqWriter`` sends in the caller's thread: while the load encodes the next
batch, nothing is sent, and the server's backend (the slowest stage of a load into
PostgreSQL) drains its socket and idles. ``QueuedLibpqWriter`` sends from a thread, but
queues up to 1,024 pieces of 128 KiB (128 MiB) before it pushes back. This one hands each
block to its sending thread and returns once the thread has taken it: the caller encodes
block n + 1 while block n is sent, and never holds more than those two.
"""

from __future__ import annotations

import threading
from queue import Queue
from typing import Any

from psycopg import Cursor
from psycopg.copy import LibpqWriter


class QueuedWriter(LibpqWriter):
    """Blocks written to the server by one sending thread, in order, one at a time."""

    def __init__(self, cursor: Cursor[Any]) -> None:
        super().__init__(cursor)
        self._queue: Queue[memoryview | None] = Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _send(self) -> None:
        while True:
            block = self._queue.get()
            self._queue.task_done()  # taken: the writing thread may encode the next block
            if block is None:
                return
            if self._error is not None:
                continue  # keep taking blocks, so that write() never blocks forever
            try:
                # a memoryview is sliced into the pieces libpq takes without copying
                LibpqWriter.write(self, block)
            except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
                self._error = exc

    def write(self, data: Any) -> None:
        if self._error is not None:
            raise self._error
        if self._thread is None:
            self._thread = threading.Thread(target=self._send, name="sluiceway-copy",
                                            daemon=True)
            self._thread.start()
        self._queue.put(memoryview(data))
        self._queue.join()  # until the sending thread has taken it

    def _drain(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def finish(self, exc: BaseException | None = None) -> None:
        self._drain()
        if self._error is not None and exc is None:
            raise self._error
        super().finish(exc)

"""A queue between a reader and a writer, capped in bytes rather than items."""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Closed(Exception):
    """The other side gave up; stop producing."""


class ByteQueue(Generic[T]):
    """Blocks ``put`` while the queued items weigh more than ``cap`` bytes.

    One item heavier than the cap still passes when the queue is empty, so a single large
    batch never deadlocks the pipeline.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._closed = False
        self._cond = threading.Condition()
        self.peak_bytes = 0
        #: ``put`` calls waiting for room now (the reader is being held back)
        self.waiting_puts = 0

    def put(self, item: T, size: int) -> None:
        with self._cond:
            while self._items and self._bytes + size > self.cap and not self._closed:
                self.waiting_puts += 1
                try:
                    self._cond.wait()
                finally:
                    self.waiting_puts -= 1
            if self._closed:
                raise Closed
            self._items.append((item, size))
            self._bytes += size
            self.peak_bytes = max(self.peak_bytes, self._bytes)
            self._cond.notify_all()

    def get(self) -> T:
        with self._cond:
            while not self._items:
                if self._closed:
                    raise Closed
                self._cond.wait()
            item, size = self._items.popleft()
            self._bytes -= size
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """Wake both sides; ``get`` drains what is left, then raises :class:`Closed`."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abort(self) -> None:
        """Drop everything queued and wake both sides."""
        with self._cond:
            self._closed = True
            self._items.clear()
            self._bytes = 0
            self._cond.notify_all()

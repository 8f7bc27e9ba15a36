"""One table read as several key ranges at once, by reader threads, into one message stream.

What enters: the stream's key (a unique, NOT NULL key: the primary key), its ranges, and a
``read(context, range)`` that yields a range's rows as Arrow batches **in key order** (or,
with ``whole_ranges``, as messages in any order, each range handed over whole). What
leaves: the batches of all readers, interleaved as they come, with a :class:`State` every
``checkpoint_rows`` rows and ``{"complete": true}`` at the end.

A State names the key ranges still to read, each as ``after`` (exclusive; None: from the
start) and ``upto`` (inclusive; None: to the end). A finished range is gone from it; a range
being read has its ``after`` moved to the last key of its last batch sent before the State.
Since a destination commits everything before a State when it echoes it, the State never
claims a row that was not sent, and a resumed read (a new snapshot) reads each unfinished
range from the key after its last committed row: nothing twice, nothing lost of the rows
that still exist.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from sluiceway.core.errors import Fatal
from sluiceway.protocol.messages import Message, RecordBatch, State, state_value


@dataclass
class KeyRange:
    """Rows whose key is above ``after`` and at most ``upto`` (None: unbounded)."""

    after: list[Any] | None = None
    upto: list[Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"after": self.after, "upto": self.upto}


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_readers(rows: int, min_rows: int) -> int:
    """The readers of a table of about ``rows`` rows when the user sets none: one reader
    per available core once the table has ``min_rows`` rows, else one."""
    return available_cores() if rows >= min_rows else 1


def split(bounds: list[list[Any]]) -> list[KeyRange]:
    """The ranges that ``bounds`` (ascending, distinct) cut the whole key space into."""
    edges: list[list[Any] | None] = [None, *bounds, None]
    return [KeyRange(lo, hi) for lo, hi in zip(edges, edges[1:], strict=False)]


def ranges_from_state(stream: str, key: list[str],
                      state: dict[str, Any] | None) -> list[KeyRange] | None:
    """The ranges a saved State left to read (None: the State is not a key-range one)."""
    if not state or "ranges" not in state:
        return None
    if list(state.get("key") or []) != key:
        raise Fatal(f"stream {stream!r}: the saved position was taken on key "
                    f"{state.get('key')!r}, the table's key is now {key!r}; reset the "
                    "stream's state")
    return [KeyRange(r.get("after"), r.get("upto")) for r in state["ranges"]]


def range_state(key: list[str], ranges: list[KeyRange]) -> dict[str, Any]:
    return {"key": key, "ranges": [r.as_json() for r in ranges]}


@dataclass
class Fan:
    """How to read one stream's ranges: ``open`` makes one reader's context (a connection in
    the shared snapshot) inside its thread, ``read`` yields a range's batches in key order,
    ``close`` ends a context."""

    open: Callable[[], Any]
    read: Callable[[Any, KeyRange], Generator[Any, None, None]]
    close: Callable[[Any], None]


def fan_in(stream: str, key: list[str], ranges: list[KeyRange], fan: Fan, readers: int,
           checkpoint_rows: int, queue_batches: int = 1,
           whole_ranges: bool = False) -> Iterator[Message]:
    """Read ``ranges`` with up to ``readers`` threads; see the module docstring.

    With ``whole_ranges``, ``read`` yields messages (raw rows, which hold no key to move
    a range's ``after`` by) and a State only ever follows ranges sent to their end, naming
    the others as they were: one reader's messages go on as they come (its ranges end one
    after the other), several readers' are held until their range is read and then
    handed over together (ranges are cut small for that, see the PostgreSQL source)."""
    todo = list(enumerate(ranges))
    left = dict(todo)  # ranges not finished, by index (``after`` moves as batches go out)
    lock = threading.Lock()
    stop = threading.Event()
    threads_n = max(1, min(readers, len(todo)))
    # several readers' messages of whole ranges are held until their range is read
    hold = whole_ranges and threads_n > 1
    out: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=max(2, queue_batches * threads_n))

    def put(item: tuple[Any, ...]) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def work() -> None:
        context = None
        try:
            context = fan.open()
            while not stop.is_set():
                with lock:
                    if not todo:
                        break
                    index, rng = todo.pop(0)
                batches = fan.read(context, KeyRange(rng.after, rng.upto))
                whole: list[Any] = []
                try:
                    for batch in batches:
                        if hold:
                            whole.append(batch)
                        elif batch.num_rows and not put(("batch", index, batch)):
                            return
                finally:
                    batches.close()
                if hold and not put(("range", index, whole)):
                    return
                if not put(("done", index)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming side
            put(("error", exc))
        finally:
            if context is not None:
                fan.close(context)
            put(("exit",))

    threads = [threading.Thread(target=work, name=f"range-{stream}-{i}", daemon=True)
               for i in range(threads_n)]
    for t in threads:
        t.start()
    running, rows = threads_n, 0
    try:
        while running:
            item = out.get()
            kind = item[0]
            if kind == "exit":
                running -= 1
            elif kind == "error":
                raise item[1]
            elif kind == "done":
                left.pop(item[1], None)
                if whole_ranges and rows >= checkpoint_rows:
                    rows = 0
                    yield State(stream, range_state(key, list(left.values())))
            elif kind == "range":
                _, index, messages = item
                yield from messages
                left.pop(index, None)
                rows += sum(m.num_rows for m in messages)
                if rows >= checkpoint_rows:
                    rows = 0
                    yield State(stream, range_state(key, list(left.values())))
            elif whole_ranges:  # one reader's message, its range under way
                yield item[2]
                rows += item[2].num_rows
            else:
                _, index, whole = item
                start = 0
                while start < whole.num_rows:  # a checkpoint may fall inside a batch
                    batch = whole.slice(start, checkpoint_rows - rows)
                    start += batch.num_rows
                    yield RecordBatch(stream, batch)
                    left[index].after = [state_value(batch.column(k)[-1].as_py()) for k in key]
                    rows += batch.num_rows
                    if rows >= checkpoint_rows:
                        rows = 0
                        yield State(stream, range_state(key, list(left.values())))
        if left:  # every reader exited without an error, yet ranges remain: a bug
            raise Fatal(f"stream {stream!r}: {len(left)} key range(s) were never read")
    finally:
        stop.set()
        for t in threads:
            t.join()
    yield State(stream, {"complete": True})

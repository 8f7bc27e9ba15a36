"""One entry point: :func:`run` moves the streams of a configured catalog.

Per stream, a reader thread pulls messages from the source into a byte-capped
:class:`~sluiceway.engine.buffer.ByteQueue`; the stream's worker hands them, through the
options' transform if any, to the destination and saves each State the destination echoes
(it echoes one only after the data before it is committed). Streams run in parallel up to
``parallel_streams``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sluiceway.connectors.base import Destination, Source
from sluiceway.core.errors import Cancelled, SluicewayError
from sluiceway.core.memory import tune_malloc
from sluiceway.engine.buffer import ByteQueue, Closed
from sluiceway.engine.checkpoint import StateStore
from sluiceway.protocol.catalog import (
    ConfiguredCatalog,
    ConfiguredStream,
    DestinationSyncMode,
    SyncMode,
)
from sluiceway.protocol.messages import (
    Estimate,
    Log,
    Message,
    RawRows,
    RecordBatch,
    Rejected,
    State,
)

ProgressFn = Callable[[str, int, int], None]
#: told (stream, phase): ``reading`` (records flow), then ``loading`` (the source is done and
#: the destination commits and swaps) or ``merging`` (it merges on the key), then the
#: stream's outcome (``succeeded``, ``failed``, ``cancelled``)
PhaseFn = Callable[[str, str], None]


@dataclass
class StreamStats:
    stream: str
    records: int = 0
    bytes: int = 0
    seconds: float = 0.0
    status: str = "pending"
    error: str | None = None
    resumed: bool = False
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "status": self.status, "records": self.records,
                "bytes": self.bytes, "seconds": round(self.seconds, 3),
                "resumed": self.resumed, "error": self.error}


@dataclass
class SyncResult:
    streams: list[StreamStats]

    @property
    def ok(self) -> bool:
        return all(s.status == "succeeded" for s in self.streams)

    @property
    def status(self) -> str:
        if self.ok:
            return "succeeded"
        if any(s.status == "cancelled" for s in self.streams):
            return "cancelled"
        return "failed"

    def first_error(self) -> BaseException | None:
        return next((s.exception for s in self.streams if s.exception is not None), None)


@dataclass
class Options:
    buffer_bytes: int = 8 * 1024 * 1024
    parallel_streams: int = 2
    progress: ProgressFn | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    #: a graceful stop: each stream reads on to its next checkpoint (State), which is
    #: written and committed, then ends cancelled (a later run resumes from there)
    stop: threading.Event = field(default_factory=threading.Event)
    log: Callable[[str, str], None] | None = None
    #: told a stream's estimated row count when its source knows one
    estimate: Callable[[str, int], None] | None = None
    #: told each row a source skipped as bad (stream, location, reason)
    rejected: Callable[[str, str, str], None] | None = None
    #: told each stream's phase as it changes
    phase: PhaseFn | None = None
    #: the transforms between the source and the destination (a row filter, say): told
    #: (stream, batch) of what was read, answers the batch to write (an empty one is dropped)
    transform: Callable[[str, pa.RecordBatch], pa.RecordBatch] | None = None
    #: pass rows through undecoded where the source and the destination speak one wire
    #: format (PostgreSQL's binary COPY between two PostgreSQL servers) and no transform
    #: sits between them; off, every row goes through Arrow
    raw: bool = True


def run(
    catalog: ConfiguredCatalog,
    source: Source,
    source_config: dict[str, Any],
    destination: Destination,
    destination_config: dict[str, Any],
    store: StateStore,
    options: Options | None = None,
) -> SyncResult:
    """Sync every stream of ``catalog``; never raises for a stream's failure (see stats)."""
    opts = options or Options()
    tune_malloc()
    if destination.capabilities.ordered_load:
        source.auto_readers = False
    source.raw_format = None
    if opts.raw and opts.transform is None:
        source.raw_format = next((f for f in source.capabilities.raw_formats
                                  if f in destination.capabilities.raw_formats), None)
    saved = store.load()
    stats = [StreamStats(cs.name) for cs in catalog.streams]

    def one(i: int) -> None:
        cs, st = catalog.streams[i], stats[i]
        started = time.monotonic()
        st.status = "running"
        if opts.phase:
            opts.phase(cs.name, "reading")
        try:
            _sync_stream(cs, st, saved.get(cs.name) or {}, source, source_config,
                         destination, destination_config, store, opts)
            st.status = "succeeded"
        except Cancelled as exc:
            st.status, st.error, st.exception = "cancelled", str(exc), exc
        except SluicewayError as exc:
            st.status, st.error, st.exception = "failed", str(exc), exc
        except Exception as exc:  # noqa: BLE001 - an unexpected bug still fails only its stream
            st.status, st.exception = "failed", exc
            st.error = f"{type(exc).__name__}: {exc}"
        finally:
            st.seconds = time.monotonic() - started
            if opts.phase:
                opts.phase(cs.name, st.status)

    workers = max(1, min(opts.parallel_streams, len(stats)))
    if workers == 1:
        for i in range(len(stats)):
            one(i)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stream") as pool:
            list(pool.map(one, range(len(stats))))
    return SyncResult(stats)


def _starting_point(
    cs: ConfiguredStream,
    record: dict[str, Any],
    destination: Destination,
    destination_config: dict[str, Any],
    store: StateStore,
) -> tuple[str, bool, dict[str, Any] | None]:
    """(sync id, whether it resumes an unfinished sync, the state the source starts from)."""
    pending = record.get("pending")
    if pending:
        # a stop between the destination's commit and our save leaves our copy a checkpoint
        # (or the final swap) behind; the destination's own record, if it keeps one, is truth
        resumed = cs.with_(sync_id=pending["sync_id"], resume=True)
        committed = destination.committed_state(destination_config, resumed)
        if committed is not None and committed.get("final"):
            record = {"state": committed.get("state")}  # that sync did finish: start anew
            store.save(cs.name, record)
            pending = None
        elif committed is not None:
            record = {"state": committed.get("state"), "pending": pending}
    if pending:
        return pending["sync_id"], True, record.get("state")
    state = record.get("state") if cs.sync_mode is SyncMode.incremental else None
    return uuid.uuid4().hex, False, state


def _sync_stream(
    cs: ConfiguredStream,
    st: StreamStats,
    record: dict[str, Any],
    source: Source,
    source_config: dict[str, Any],
    destination: Destination,
    destination_config: dict[str, Any],
    store: StateStore,
    opts: Options,
) -> None:
    sync_id, resume, src_state = _starting_point(cs, record, destination,
                                                 destination_config, store)
    st.resumed = resume
    cs = cs.with_(sync_id=sync_id, resume=resume)
    one = ConfiguredCatalog((cs,))
    store.save(cs.name, {"state": src_state, "pending": {"sync_id": sync_id}})

    queue: ByteQueue[Message] = ByteQueue(opts.buffer_bytes)
    failure: list[BaseException] = []

    def reader() -> None:
        states = {cs.name: src_state} if src_state is not None else None
        read: Iterator[Message] | None = None
        try:
            read = source.read(source_config, one, states)
            for msg in read:
                if opts.cancel.is_set():
                    failure.append(Cancelled("sync cancelled"))
                    break
                size = msg.nbytes if isinstance(msg, RecordBatch | RawRows) else 64
                queue.put(msg, size)
                if opts.stop.is_set() and isinstance(msg, State):
                    failure.append(Cancelled("sync stopped after its checkpoint committed"))
                    break
        except Closed:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the writer side, re-raised there
            failure.append(exc)
        finally:
            # a read stopped early ends here, in this thread: its connections close now
            close = getattr(read, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:  # noqa: BLE001 - the sync's own error comes first
                    if not failure:
                        failure.append(exc)
            queue.close()

    def messages() -> Iterator[Message]:
        while True:
            if opts.cancel.is_set():
                raise Cancelled("sync cancelled")
            try:
                msg = queue.get()
            except Closed:
                if failure:
                    raise failure[0] from None
                if opts.phase:
                    dedup = cs.destination_sync_mode is DestinationSyncMode.append_dedup
                    opts.phase(cs.name, "merging" if dedup else "loading")
                return
            if isinstance(msg, RecordBatch | RawRows):
                st.records += msg.num_rows
                st.bytes += msg.nbytes
                if opts.progress:
                    opts.progress(cs.name, st.records, st.bytes)
                # raw rows only come when there is no transform (see run)
                if opts.transform is not None and isinstance(msg, RecordBatch):
                    batch = opts.transform(cs.name, msg.batch)
                    if not batch.num_rows:
                        continue
                    msg = RecordBatch(msg.stream, batch)
            elif isinstance(msg, Log) and opts.log:
                opts.log(msg.level, msg.message)
            elif isinstance(msg, Estimate):
                if opts.estimate:
                    opts.estimate(msg.stream, msg.rows)
                continue
            elif isinstance(msg, Rejected):
                if opts.rejected:
                    opts.rejected(msg.stream, msg.location, msg.reason)
                continue
            yield msg

    thread = threading.Thread(target=reader, name=f"read-{cs.name}", daemon=True)
    thread.start()
    last: dict[str, Any] | None = src_state
    try:
        for echoed in destination.write(destination_config, one, messages()):
            if isinstance(echoed, State) and echoed.stream == cs.name:
                last = echoed.data
                store.save(cs.name, {"state": last, "pending": {"sync_id": sync_id}})
        if failure:
            raise failure[0]
    finally:
        queue.abort()
        thread.join()
    store.save(cs.name, {"state": last})

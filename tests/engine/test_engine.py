"""Engine behaviour on the memory connector: plan validation, buffer cap, failures, state."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from sluiceway.connectors import registry
from sluiceway.connectors.memory.connector import DATASETS, MemorySource
from sluiceway.connectors.testing.suite import sync_memory
from sluiceway.core.errors import InvalidInput, UnknownStream
from sluiceway.engine.buffer import ByteQueue, Closed
from sluiceway.engine.checkpoint import FileStateStore, MemoryStateStore
from sluiceway.engine.pipeline import Options, run
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredCatalog,
    DestinationSyncMode,
    Stream,
    SyncMode,
)
from sluiceway.protocol.messages import Message
from tests.helpers import wait_until


@pytest.fixture
def dataset() -> Iterator[str]:
    name = "engine_test"
    DATASETS[name] = {
        "a": pa.table({"id": list(range(1000)), "v": [str(i) for i in range(1000)]}),
        "b": pa.table({"id": list(range(10)), "ts": list(range(10))}),
    }
    yield name
    DATASETS.pop(name, None)
    DATASETS.pop(name + "_out", None)


CATALOG = Catalog((Stream("s", pa.schema([("id", pa.int64()), ("ts", pa.int64())])),))


@pytest.mark.parametrize(("choice", "field"), [
    (StreamChoice("s", sync_mode=SyncMode.incremental), "streams[0].cursor_field"),
    (StreamChoice("s", sync_mode=SyncMode.incremental, cursor_field=("nope",)),
     "streams[0].cursor_field"),
    (StreamChoice("s", destination_sync_mode=DestinationSyncMode.append_dedup),
     "streams[0].primary_key"),
    (StreamChoice("s", columns=("id", "zz")), "streams[0].columns"),
])
def test_plan_rejects_bad_choices_naming_the_field(choice: StreamChoice, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        configure(CATALOG, [choice])
    assert field in {e.path for e in info.value.errors}


def test_plan_rejects_unknown_stream() -> None:
    with pytest.raises(UnknownStream):
        configure(CATALOG, [StreamChoice("missing")])


def test_byte_queue_blocks_the_producer_at_the_cap() -> None:
    q: ByteQueue[int] = ByteQueue(cap=100)
    q.put(1, 60)
    done = threading.Event()

    def producer() -> None:
        q.put(2, 60)
        done.set()

    threading.Thread(target=producer, daemon=True).start()
    wait_until(lambda: q.waiting_puts == 1, what="the producer to wait inside put")
    assert not done.is_set()
    assert q.get() == 1
    assert done.wait(60)
    assert q.waiting_puts == 0
    assert q.peak_bytes <= 100
    q.close()
    assert q.get() == 2
    with pytest.raises(Closed):
        q.get()


def test_streams_sync_in_parallel_and_state_is_saved(dataset: str) -> None:
    store = MemoryStateStore()
    result = sync_memory("memory", {"dataset": dataset}, "memory", {"dataset": dataset + "_out"},
                         None, store)
    assert result.ok
    assert {s.stream: s.records for s in result.streams} == {"a": 1000, "b": 10}
    assert DATASETS[dataset + "_out"]["a"].equals(DATASETS[dataset]["a"])
    assert store.load()["a"] == {"state": {"complete": True}}


def test_a_failing_stream_fails_alone_and_keeps_its_resume_point(dataset: str) -> None:
    DATASETS[dataset + "_out"] = {"b": pa.table({"id": ["text"], "ts": [1]})}
    store = MemoryStateStore()
    result = sync_memory("memory", {"dataset": dataset}, "memory", {"dataset": dataset + "_out"},
                         [StreamChoice("a"), StreamChoice("b", destination_sync_mode=(
                             DestinationSyncMode.append))], store)
    status = {s.stream: s.status for s in result.streams}
    assert status == {"a": "succeeded", "b": "failed"}
    assert "column 'id' changed from string to int64" in (result.streams[1].error or "")
    assert store.load()["b"]["pending"]


class _HeldReads(MemorySource):
    """A source that keeps a reference to each read it hands out (as one keeping its
    cursors would): dropping the engine's reference then does not end the read."""

    def __init__(self) -> None:
        self.reads: list[Iterator[Message]] = []
        self.ended = 0

    def read(self, config: dict[str, Any], catalog: ConfiguredCatalog,
             state: dict[str, dict[str, Any]] | None) -> Iterator[Message]:
        def messages() -> Iterator[Message]:
            try:
                yield from MemorySource.read(self, config, catalog, state)
            finally:
                self.ended += 1  # where a source closes its connections

        self.reads.append(messages())
        return self.reads[-1]


def test_a_read_stopped_by_a_failing_destination_is_closed_by_the_engine(
    dataset: str,
) -> None:
    DATASETS[dataset + "_out"] = {"b": pa.table({"id": ["text"], "ts": [1]})}
    src = _HeldReads()
    src.checkpoint_rows = 2  # the read is still going when the destination fails
    catalog = configure(src.discover({"dataset": dataset}), [StreamChoice(
        "b", destination_sync_mode=DestinationSyncMode.append)])
    gc.disable()  # what ends the read must be the engine, not a collection
    try:
        result = run(catalog, src, {"dataset": dataset}, registry.destination("memory"),
                     {"dataset": dataset + "_out"}, MemoryStateStore(), Options())
        assert result.streams[0].status == "failed"
        assert src.ended == 1
    finally:
        gc.enable()


def test_file_state_store_survives_reopen(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "s.json"  # type: ignore[operator]
    FileStateStore(path).save("x", {"state": {"cursor": 3}})
    assert FileStateStore(path).load() == {"x": {"state": {"cursor": 3}}}

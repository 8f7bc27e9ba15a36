"""The artifact destination: streams of a source written into files through the engine's
one read-write path, byte for byte what the format's writer makes of the same rows."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sluiceway.artifacts.destination import ArtifactDestination, BatchSink
from sluiceway.artifacts.formats import open_writer
from sluiceway.connectors.memory.connector import DATASETS, MemorySource
from sluiceway.engine import pipeline
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol.catalog import ConfiguredStream
from sluiceway.transforms.filter import compile_filter

ROWS = 2500


@pytest.fixture
def dataset() -> Iterator[str]:
    name = "artifact_destination_test"
    DATASETS[name] = {
        "events": pa.table({"id": list(range(ROWS)), "kind": [f"k{i % 3}" for i in range(ROWS)]}),
        "empty": pa.table({"id": pa.array([], pa.int64())}),
    }
    yield name
    DATASETS.pop(name, None)


class _Kept(io.BytesIO):
    def close(self) -> None:
        """Kept open: the test reads the bytes after the writer closes."""


def _direct(fmt: str, table: pa.Table, chunk: int) -> bytes:
    out = _Kept()
    writer = open_writer(fmt, out, table.schema)
    for batch in table.to_batches(max_chunksize=chunk):
        if batch.num_rows:
            writer.write(batch)
    writer.close()
    return out.getvalue()


def _through_engine(dataset: str, fmt: str, streams: list[str], chunk: int,
                    options: pipeline.Options) -> tuple[dict[str, bytes], pipeline.SyncResult]:
    source = MemorySource()
    source.checkpoint_rows = chunk
    config = {"dataset": dataset}
    catalog = configure(source.discover(config), [StreamChoice(s) for s in streams])
    files: dict[str, _Kept] = {}

    def open_sink(cs: ConfiguredStream) -> BatchSink:
        files[cs.name] = _Kept()
        return open_writer(fmt, files[cs.name], cs.stream.schema)

    result = pipeline.run(catalog, source, config, ArtifactDestination(open_sink), {},
                          MemoryStateStore(), options)
    return {name: f.getvalue() for name, f in files.items()}, result


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_the_file_is_what_the_writer_makes_of_the_rows(dataset: str, fmt: str) -> None:
    files, result = _through_engine(dataset, fmt, ["events", "empty"], 1000,
                                    pipeline.Options())
    assert result.ok, result.first_error()
    assert [s.records for s in result.streams] == [ROWS, 0]
    assert files["events"] == _direct(fmt, DATASETS[dataset]["events"], 1000)
    assert files["empty"] == _direct(fmt, DATASETS[dataset]["empty"], 1000)  # a header
    if fmt == "csv":
        assert files["empty"] == b'"id"\n'  # an empty stream still has its header


def test_the_transform_filters_between_reader_and_file(dataset: str) -> None:
    keep = compile_filter({"column": "kind", "op": "eq", "value": "k1"},
                          DATASETS[dataset]["events"].schema)
    files, result = _through_engine(dataset, "jsonl", ["events"], 700, pipeline.Options(
        transform=lambda _, batch: keep(batch)))
    assert result.ok, result.first_error()
    assert result.streams[0].records == ROWS  # rows read, before the filter
    table = DATASETS[dataset]["events"]
    expected = table.filter(pc.equal(table["kind"], "k1"))
    assert files["events"] == _direct("jsonl", expected, 10**9)
    assert files["events"].count(b"\n") == expected.num_rows


def test_a_cancelled_copy_ends_cancelled(dataset: str) -> None:
    cancel = threading.Event()
    cancel.set()
    _, result = _through_engine(dataset, "csv", ["events"], 100,
                                pipeline.Options(cancel=cancel))
    assert result.status == "cancelled"

"""Sample source: deterministic rows of the documented types, checkpoints, and a sync into
the file destination through the engine."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sluiceway.connectors import registry
from sluiceway.connectors.sample.source import SCHEMA, SampleSource, generate
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.pipeline import run
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import DestinationSyncMode, SyncMode
from sluiceway.protocol.messages import RecordBatch, State


def read(config: dict[str, Any], state: dict[str, Any] | None = None,
         mode: SyncMode = SyncMode.full_refresh, checkpoint_rows: int = 500_000,
         ) -> tuple[pa.Table, list[dict[str, Any]]]:
    source = SampleSource()
    source.checkpoint_rows = checkpoint_rows
    catalog = configure(source.discover(config), [StreamChoice("events", sync_mode=mode)])
    batches, states = [], []
    for msg in source.read(config, catalog, {"events": state} if state else None):
        if isinstance(msg, RecordBatch):
            batches.append(msg.batch)
        elif isinstance(msg, State):
            states.append(msg.data)
    return pa.Table.from_batches(batches, SCHEMA), states


def test_the_same_seed_gives_identical_rows_and_another_seed_differs() -> None:
    a, _ = read({"rows": 3000, "seed": 7})
    b, _ = read({"rows": 3000, "seed": 7})
    c, _ = read({"rows": 3000, "seed": 8})
    assert a.equals(b)
    assert not a.column("uid").equals(c.column("uid"))
    assert a.column("id").equals(c.column("id"))


def test_rows_do_not_depend_on_the_batch_size() -> None:
    small, _ = read({"rows": 2500, "batch_size": 333})
    large, _ = read({"rows": 2500, "batch_size": 65536})
    assert small.equals(large)
    assert generate(0, "events", 1001, 1011).equals(large.slice(1000, 10).to_batches()[0])


def test_columns_have_the_documented_types_and_realistic_values() -> None:
    table, _ = read({"rows": 20_000, "seed": 3})
    assert table.schema == SCHEMA
    assert {f.name: at.type_name(f) for f in table.schema} == {
        "id": "int64", "uid": "uuid", "user_id": "int32", "event_type": "string",
        "amount": "decimal(12,2)", "created_at": "timestamptz", "updated_at": "timestamptz",
        "payload": "json", "is_test": "bool", "note": "string", "score": "double"}
    assert table.column("id").to_pylist() == list(range(1, 20_001))
    uids = [uuid.UUID(bytes=b) for b in table.column("uid").combine_chunks().storage.to_pylist()]
    assert len(set(uids)) == 20_000
    assert {u.version for u in uids} == {4}
    assert len(set(table.column("event_type").to_pylist())) == 12
    lengths = pc.utf8_length(table.column("note").drop_null())
    assert pc.min(lengths).as_py() >= 20
    assert pc.max(lengths).as_py() <= 80
    assert 0 < table.column("note").null_count < 2000
    payloads = [json.loads(p) for p in table.column("payload").combine_chunks().storage
                .to_pylist()[:2000]]
    assert {len(p) for p in payloads} == {3, 4, 5}
    assert pc.all(pc.greater_equal(table.column("updated_at"), table.column("created_at"))
                  ).as_py()
    money = table.filter(pc.is_in(table.column("event_type"),
                                  value_set=pa.array(["purchase", "add_to_cart", "refund"])))
    assert money.column("amount").null_count == 0
    assert table.column("amount").null_count == table.num_rows - money.num_rows
    assert 0 <= pc.min(table.column("score")).as_py() <= pc.max(table.column("score")).as_py() < 100


def test_full_refresh_checkpoints_and_resumes_from_next_id() -> None:
    config = {"rows": 10_000, "batch_size": 1000}
    whole, states = read(config, checkpoint_rows=3000)
    assert states == [{"next_id": 3001}, {"next_id": 6001}, {"next_id": 9001},
                      {"complete": True}]
    rest, rest_states = read(config, {"next_id": 6001}, checkpoint_rows=3000)
    assert rest.equals(whole.slice(6000))
    assert rest_states[-1] == {"complete": True}
    assert read(config, {"complete": True})[0].num_rows == 0


def test_incremental_reads_rows_from_the_cursor_on() -> None:
    first, states = read({"rows": 100}, mode=SyncMode.incremental)
    assert first.num_rows == 100
    assert states[-1] == {"cursor": 100, "cursor_field": "id"}
    more, states = read({"rows": 150}, states[-1], mode=SyncMode.incremental)
    assert more.column("id").to_pylist() == list(range(100, 151))  # cursor >= last
    assert states[-1]["cursor"] == 150


def test_several_streams_each_get_their_own_rows() -> None:
    catalog = SampleSource().discover({"streams": ["a", "b"]})
    assert [s.name for s in catalog.streams] == ["a", "b"]
    assert catalog.streams[0].source_defined_primary_key == (("id",),)
    assert not generate(0, "a", 1, 50).column("uid").equals(generate(0, "b", 1, 50)
                                                             .column("uid"))


@pytest.mark.parametrize("config", [{"rows": 10**9 + 1}, {"rows": -1}, {"seed": "x"},
                                    {"streams": []}, {"nope": 1}])
def test_a_config_outside_the_spec_fails_check_cleanly(config: dict[str, Any]) -> None:
    result = SampleSource().check(config)
    assert not result.ok
    assert result.message


def test_sample_to_file_syncs_end_to_end_through_the_engine(tmp_path: Path) -> None:
    source, destination = registry.source("sample"), registry.destination("file")
    source.checkpoint_rows = 4000  # type: ignore[attr-defined]
    store = MemoryStateStore()
    dst = {"path": str(tmp_path / "out")}
    for rows in (10_000, 12_000):
        config = {"rows": rows, "batch_size": 2000, "seed": 42}
        catalog = configure(source.discover(config), [StreamChoice(
            "events", sync_mode=SyncMode.incremental,
            destination_sync_mode=DestinationSyncMode.append)])
        result = run(catalog, source, config, destination, dst, store)
        assert result.ok, result.streams
    assert store.load()["events"] == {"state": {"cursor": 12_000, "cursor_field": "id"}}
    stream_dir = tmp_path / "out" / "events"
    syncs = json.loads((stream_dir / "_latest.json").read_text())["syncs"]
    assert len(syncs) == 2
    first = json.loads((stream_dir / syncs[0] / "manifest.json").read_text())
    assert first["rows"] == 10_000
    assert len(first["parts"]) >= 3
    assert first["sync_mode"] == "incremental"
    tables = [pq.read_table(stream_dir / s / p["file"]) for s in syncs
              for p in json.loads((stream_dir / s / "manifest.json").read_text())["parts"]]
    got = pa.concat_tables(tables)
    assert got.num_rows == 12_001  # the second sync re-reads id 10000 (cursor >= last)
    want = pa.Table.from_batches([generate(42, "events", 1, 10_001),
                                  generate(42, "events", 10_000, 12_001)])
    assert got.equals(want)

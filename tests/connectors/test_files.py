"""File connector: discovery and bounded reading of CSV / JSON lines / Parquet, exact text
forms, the destination's part/manifest layout, atomic overwrite and resume."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sluiceway.connectors.files.destination import ROW_GROUP_BYTES, FileDestination
from sluiceway.connectors.files.source import MODIFIED_COLUMN, URL_COLUMN, FileSource
from sluiceway.connectors.testing.canonical import comparable, type_table
from sluiceway.core.errors import ConfigInvalid, InvalidInput, RecordRejected
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.pipeline import run
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredCatalog,
    ConfiguredStream,
    DestinationSyncMode,
    Stream,
    SyncMode,
)
from sluiceway.protocol.messages import Message, RecordBatch, State

D = decimal.Decimal


def read(config: dict[str, Any], state: dict[str, Any] | None = None,
         mode: SyncMode = SyncMode.full_refresh, source: FileSource | None = None,
         ) -> tuple[pa.Table, list[dict[str, Any]], list[int]]:
    """Discover and read the config's stream: (rows, states, rows per batch)."""
    src = source or FileSource()
    catalog = src.discover(config)
    name = catalog.streams[0].name
    configured = configure(catalog, [StreamChoice(name, sync_mode=mode)])
    batches, states = [], []
    for msg in src.read(config, configured, {name: state} if state else None):
        if isinstance(msg, RecordBatch):
            batches.append(msg.batch)
        elif isinstance(msg, State):
            states.append(msg.data)
    schema = configured.streams[0].stream.schema
    return pa.Table.from_batches(batches, schema), states, [b.num_rows for b in batches]


def plain(config: dict[str, Any]) -> dict[str, Any]:
    return dict(config, file_columns=False)


# ---- source ----------------------------------------------------------------------------
def _write_all_formats(folder: Path, stem: str, rows: list[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, folder / f"{stem}.parquet")
    (folder / f"{stem}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with open(folder / f"{stem}.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_glob_of_files_is_one_stream_named_after_the_pattern(tmp_path: Path,
                                                                fmt: str) -> None:
    _write_all_formats(tmp_path, "orders_1", [{"id": 1, "who": "ann"}, {"id": 2, "who": "bo"}])
    _write_all_formats(tmp_path, "orders_2", [{"id": 3, "who": "cy"}])
    _write_all_formats(tmp_path, "other", [{"x": 9}])
    config = {"path": str(tmp_path / f"orders_*.{fmt}")}
    catalog = FileSource().discover(config)
    (stream,) = catalog.streams
    assert stream.name == "orders"
    assert stream.schema.names == ["id", "who", URL_COLUMN, MODIFIED_COLUMN]
    assert stream.schema.field("id").type == pa.int64()
    table, states, _ = read(config)
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert table.column(URL_COLUMN).to_pylist() == [f"orders_1.{fmt}"] * 2 + [f"orders_2.{fmt}"]
    mtime = (tmp_path / f"orders_2.{fmt}").stat().st_mtime_ns // 1000
    assert table.column(MODIFIED_COLUMN)[2].value == mtime
    assert states[-1] == {"complete": True}
    assert {"files_done": [f"orders_1.{fmt}"]} in states


def test_a_directory_is_read_and_the_format_inferred(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    _write_all_formats(folder, "a", [{"id": 1}])
    (folder / "a.csv").unlink()
    (folder / "a.jsonl").unlink()
    (folder / "_SUCCESS").write_text("")
    table, _, _ = read(plain({"path": str(folder)}))
    assert FileSource().discover({"path": str(folder)}).streams[0].name == "events"
    assert table.to_pylist() == [{"id": 1}]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_empty_and_header_only_files_leave_the_types_to_the_others(tmp_path: Path,
                                                                   fmt: str) -> None:
    (tmp_path / f"a0.{fmt}").write_text("")
    (tmp_path / f"a1.{fmt}").write_text("id,extra\n" if fmt == "csv" else "\n")
    _write_all_formats(tmp_path, "a2", [{"id": 7}])
    table, _, _ = read(plain({"path": str(tmp_path / f"a*.{fmt}")}))
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("id").nullable
    assert table.column("id").to_pylist() == [7]


def test_csv_options_delimiter_quote_no_header_and_latin1(tmp_path: Path) -> None:
    path = tmp_path / "people.txt"
    path.write_bytes("1;'Zoë; the ''first'''\n2;'Ångström'\n".encode("latin-1"))
    config = plain({"path": str(path), "format": "csv", "delimiter": ";", "quote_char": "'",
                    "header": False, "encoding": "latin-1"})
    table, _, _ = read(config)
    assert table.schema.names == ["column_1", "column_2"]
    assert table.to_pylist() == [{"column_1": 1, "column_2": "Zoë; the 'first'"},
                                 {"column_1": 2, "column_2": "Ångström"}]


def test_csv_inference_keeps_decimals_exact_and_types_iso_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("price,at,day,clock,name,flag\n"
                    '1.10,2024-01-01T10:00:00.123456+02:00,2024-02-29,23:59:59.5,"",true\n'
                    "12345678901234567890.5,2024-01-01T00:00:00Z,2024-03-01,00:00:00,,false\n")
    table, _, _ = read(plain({"path": str(path)}))
    types = {f.name: f.type for f in table.schema}
    assert types == {"price": pa.decimal128(38, 2), "at": at.TIMESTAMP_TZ, "day": pa.date32(),
                     "clock": at.TIME, "name": pa.string(), "flag": pa.bool_()}
    assert table.column("price").to_pylist() == [D("1.10"), D("12345678901234567890.50")]
    assert table.column("at")[0].as_py() == dt.datetime(2024, 1, 1, 8, 0, 0, 123456,
                                                        tzinfo=dt.UTC)
    assert table.column("clock")[0].as_py() == dt.time(23, 59, 59, 500000)
    assert table.column("name").to_pylist() == ["", None]  # quoted "" vs empty field


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_decimal_schema_reads_values_without_float_rounding(tmp_path: Path,
                                                               fmt: str) -> None:
    path = tmp_path / f"money.{fmt}"
    if fmt == "csv":
        path.write_text("amount\n12345678901234567.89\n0.10\n")
    else:
        path.write_text('{"amount": 12345678901234567.89}\n{"amount": 0.10}\n')
    table, _, _ = read(plain({"path": str(path), "schema": {"amount": "decimal(20,2)"}}))
    assert table.schema.field("amount").type == pa.decimal128(20, 2)
    assert table.column("amount").to_pylist() == [D("12345678901234567.89"), D("0.10")]


def test_a_malformed_csv_row_names_the_file_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('id,text\n1,"spans\ntwo lines"\n2,ok\n3\n4,after\n')
    with pytest.raises(RecordRejected) as info:
        read({"path": str(path)})
    assert "bad.csv, line 5" in str(info.value)
    assert "Expected 2 columns, got 1" in str(info.value)


def test_a_bad_value_after_the_inferred_block_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("id\n" + "".join(f"{i}\n" for i in range(5000)) + "oops\n")
    source = FileSource()
    source.sample_bytes = source.block_size = 4096
    with pytest.raises(RecordRejected) as info:
        read({"path": str(path)}, source=source)
    assert "late.csv, line 5002" in str(info.value)
    assert "`schema`" in str(info.value)


def test_a_malformed_json_line_names_the_file_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(f'{{"id": {i}}}\n' for i in range(3000)) + '{"id": 1,}\n')
    source = FileSource()
    source.block_size = 4096
    with pytest.raises(RecordRejected) as info:
        read({"path": str(path)}, source=source)
    assert "bad.jsonl, line 3001" in str(info.value)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_file_larger_than_a_block_is_read_in_bounded_batches(tmp_path: Path,
                                                               fmt: str) -> None:
    rows = [{"id": i, "text": f"row {i} " + "x" * 50} for i in range(20_000)]
    _write_all_formats(tmp_path, "big", rows)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "big.parquet", row_group_size=5000)
    source = FileSource()
    source.block_size, source.batch_rows = 128 * 1024, 4096
    table, _, sizes = read(plain({"path": str(tmp_path / f"big.{fmt}")}), source=source)
    assert table.num_rows == 20_000
    assert len(sizes) >= 5
    assert max(sizes) <= 4096 if fmt == "parquet" else max(sizes) < 5000
    assert table.column("id").to_pylist() == list(range(20_000))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_stopped_read_resumes_after_its_last_checkpoint(tmp_path: Path, fmt: str) -> None:
    for part in range(3):
        rows = [{"id": part * 10_000 + i} for i in range(10_000)]
        _write_all_formats(tmp_path, f"p{part}", rows)
        pq.write_table(pa.Table.from_pylist(rows), tmp_path / f"p{part}.parquet",
                       row_group_size=1000)
    config = plain({"path": str(tmp_path / f"p*.{fmt}")})
    source = FileSource()
    source.checkpoint_rows, source.block_size, source.batch_rows = 2500, 16 * 1024, 1000
    full, states, _ = read(config, source=source)
    assert full.column("id").to_pylist() == list(range(30_000))
    inside = [s for s in states if s.get("file") == f"p1.{fmt}"]
    assert inside
    assert inside[0]["files_done"] == [f"p0.{fmt}"]
    stop = inside[0]  # the run "stopped" after this state was committed
    sent_before = 10_000 + stop["rows"]
    rest, rest_states, _ = read(config, stop, source=source)
    assert rest.column("id").to_pylist() == list(range(sent_before, 30_000))
    assert rest_states[-1] == {"complete": True}
    done, _, _ = read(config, {"complete": True}, source=source)
    assert done.num_rows == 0


def test_incremental_reads_only_new_and_changed_files(tmp_path: Path) -> None:
    _write_all_formats(tmp_path, "a", [{"id": 1}])
    _write_all_formats(tmp_path, "b", [{"id": 2}])
    config = {"path": str(tmp_path / "*.csv")}
    first, states, _ = read(config, mode=SyncMode.incremental)
    assert first.column("id").to_pylist() == [1, 2]
    cursor = states[-1]
    assert set(cursor["files"]) == {"a.csv", "b.csv"}
    again, _, _ = read(config, cursor, mode=SyncMode.incremental)
    assert again.num_rows == 0
    _write_all_formats(tmp_path, "c", [{"id": 3}])
    later = (tmp_path / "a.csv").stat().st_mtime_ns + 5_000_000_000
    os.utime(tmp_path / "a.csv", ns=(later, later))
    changed, _, _ = read(config, cursor, mode=SyncMode.incremental)
    assert sorted(changed.column("id").to_pylist()) == [1, 3]


def test_a_path_matching_no_file_is_a_config_error_naming_path(tmp_path: Path) -> None:
    for path in (str(tmp_path / "none_*.csv"), str(tmp_path / "missing.csv")):
        with pytest.raises(ConfigInvalid) as info:
            FileSource().discover({"path": path})
        assert [e.path for e in info.value.errors] == ["path"]
        result = FileSource().check({"path": path})
        assert not result.ok
        assert "path" in result.message


def test_a_schema_override_for_an_unknown_column_names_it(tmp_path: Path) -> None:
    _write_all_formats(tmp_path, "a", [{"id": 1}])
    with pytest.raises(ConfigInvalid) as info:
        FileSource().discover({"path": str(tmp_path / "a.csv"), "schema": {"nope": "integer"}})
    assert [e.path for e in info.value.errors] == ["schema.nope"]
    with pytest.raises(ConfigInvalid):
        FileSource().discover({"path": str(tmp_path / "a.csv"), "schema": {"id": "decimal"}})


# ---- destination -----------------------------------------------------------------------
def _catalog(schema: pa.Schema, *, name: str = "items", sync_id: str = "s1",
             mode: DestinationSyncMode = DestinationSyncMode.overwrite,
             resume: bool = False) -> ConfiguredCatalog:
    return ConfiguredCatalog((ConfiguredStream(Stream(name, schema), destination_sync_mode=mode,
                                               sync_id=sync_id, resume=resume),))


def _messages(table: pa.Table, *, every: int, name: str = "items",
              fail_after: int | None = None) -> Iterator[Message]:
    """Batches of ``every`` rows with a State after each; raises after ``fail_after``."""
    for i, batch in enumerate(table.to_batches(max_chunksize=every)):
        if fail_after is not None and i == fail_after:
            raise RuntimeError("source failed")
        yield RecordBatch(name, batch)
        yield State(name, {"offset": i})


def _write(folder: Path, fmt: str, catalog: ConfiguredCatalog,
           messages: Iterable[Message]) -> list[State]:
    return list(FileDestination().write({"path": str(folder), "format": fmt}, catalog,
                                         messages))


def _numbers(n: int) -> pa.Table:
    return pa.table({"id": pa.array(range(n), pa.int64()),
                     "label": [f"n{i}" for i in range(n)]})


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_each_sync_writes_checksummed_parts_a_manifest_and_a_pointer(tmp_path: Path,
                                                                     fmt: str) -> None:
    table = _numbers(250)
    echoed = _write(tmp_path, fmt, _catalog(table.schema), _messages(table, every=100))
    assert [s.data for s in echoed] == [{"offset": 0}, {"offset": 1}, {"offset": 2}]
    folder = tmp_path / "items" / "s1"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [p["file"] for p in manifest["parts"]] == [f"part-0000{i}.{fmt}" for i in range(3)]
    assert [p["rows"] for p in manifest["parts"]] == [100, 100, 50]
    assert manifest["rows"] == 250
    for part in manifest["parts"]:
        data = (folder / part["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == part["sha256"]
        assert len(data) == part["bytes"]
    assert manifest["destination_sync_mode"] == "overwrite"
    assert [c["name"] for c in manifest["schema"]["columns"]] == ["id", "label"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["manifest.json", *(p["file"] for p in manifest["parts"])])
    latest = json.loads((tmp_path / "items" / "_latest.json").read_text())
    assert latest["syncs"] == ["s1"]
    assert latest["manifest"] == "s1/manifest.json"
    back, _, _ = read(plain({"path": str(folder / f"part-*.{fmt}")}))
    assert back.column("id").to_pylist() == list(range(250))


def test_parquet_keeps_every_canonical_type_exactly(tmp_path: Path) -> None:
    sent = type_table()
    _write(tmp_path, "parquet", _catalog(sent.schema, name="types"),
           [RecordBatch("types", b) for b in sent.to_batches()])
    (part,) = (tmp_path / "types" / "s1").glob("part-*.parquet")
    back = pq.read_table(part)
    assert back.schema == sent.schema
    assert comparable(back) == comparable(sent)
    via_source, _, _ = read(plain({"path": str(part)}))
    assert comparable(via_source) == comparable(sent)


def test_parquet_row_groups_gather_at_most_their_byte_budget(tmp_path: Path) -> None:
    """The writer holds a row group's batches until they weigh ``ROW_GROUP_BYTES`` (16 MiB):
    more rows per group cost the sync that much more memory. 27 MB of rows make two groups
    (one with the 32 MiB the budget was before)."""
    table = pa.table({"id": pa.array(range(200_000), pa.int64()),
                      "text": pa.array([f"{i:0120d}" for i in range(200_000)])})
    per_row = table.nbytes / table.num_rows
    _write(tmp_path, "parquet", _catalog(table.schema),
           [RecordBatch("items", b) for b in table.to_batches(max_chunksize=4096)])
    (part,) = (tmp_path / "items" / "s1").glob("part-*.parquet")
    meta = pq.ParquetFile(part).metadata
    groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(groups) == table.num_rows
    # a group closes with the batch that reaches the budget: at most one batch beyond it
    assert max(groups) <= ROW_GROUP_BYTES / per_row + 4096, groups
    assert len(groups) >= 2, groups


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_text_formats_use_the_documented_representations(tmp_path: Path) -> None:
    sent = type_table()
    for fmt in ("csv", "jsonl"):
        _write(tmp_path / fmt, fmt, _catalog(sent.schema, name="types"),
               [RecordBatch("types", sent.to_batches()[0])])
    csv_text = (tmp_path / "csv/types/s1/part-00000.csv").read_text(encoding="utf-8")
    header, first, second, nulls = csv_text.splitlines()[:4]
    assert first.startswith('1,"héllo wörld ✓ 日本",-2147483648,')
    assert ',"2024-02-29T18:29:59.123456+00:00","f81d4fae-7dec-11d0-a765-00a0c91e6bf6",' in first
    assert ',"AP8QCglc",2024-02-29,23:59:59.999999,' in first  # binary as base64
    assert second.startswith('2,"",0,')  # an empty string is a quoted ""
    assert ',"0.0000000000",' in second  # exact decimal text, never 1E-10
    assert nulls == "3" + "," * (sent.num_columns - 1)  # NULL is an empty, unquoted field
    lines = (tmp_path / "jsonl/types/s1/part-00000.jsonl").read_text().splitlines()
    one, two, three = (json.loads(x) for x in lines[:3])
    assert one["amount"] == 1234567890.12
    assert '"amount":1234567890.12,' in lines[0]
    assert '"wide":1234567890123456789012345678.0123456789,' in lines[0]
    assert one["f64"] == "NaN"
    assert one["tstz"] == "2024-02-29T18:29:59.123456+00:00"
    assert json.loads(one["doc"]) == {"a": [1, 2], "b": {"c": None}}
    assert one["clock"] == "23:59:59.999999"
    assert one["blob"] == "AP8QCglc"
    assert two["by"] == ""
    assert three["by"] is None
    assert three["uid"] is None


def test_csv_written_files_read_back_exactly_with_a_schema(tmp_path: Path) -> None:
    sent = type_table().drop_columns(["arr"])  # `schema` has no list type yet
    _write(tmp_path, "csv", _catalog(sent.schema, name="types"),
           [RecordBatch("types", b) for b in sent.to_batches()])
    schema = {"Mixed Case": "int", "naïve col": "smallint", "wide": "decimal(38,10)",
              "amount": "decimal(12,2)", "blob": "binary", "uid": "uuid", "doc": "json",
              "clock": "time", "ts": "timestamp", "tstz": "timestamptz"}
    back, _, _ = read(plain({"path": str(tmp_path / "types/s1/part-*.csv"),
                             "schema": schema}))
    assert comparable(back) == comparable(sent)


def test_overwrite_keeps_the_previous_set_until_the_new_one_completes(tmp_path: Path) -> None:
    old, new = _numbers(30), _numbers(300)
    _write(tmp_path, "parquet", _catalog(old.schema, sync_id="old"), _messages(old, every=10))
    latest = (tmp_path / "items" / "_latest.json").read_bytes()
    echoed: list[State] = []
    writing = FileDestination().write({"path": str(tmp_path)}, _catalog(new.schema, sync_id="new"),
                                      _messages(new, every=50, fail_after=3))
    with pytest.raises(RuntimeError, match="source failed"):
        echoed.extend(writing)
    assert len(echoed) == 3
    assert (tmp_path / "items" / "_latest.json").read_bytes() == latest
    old_parts = sorted((tmp_path / "items" / "old").glob("part-*.parquet"))
    assert sum(pq.read_metadata(p).num_rows for p in old_parts) == 30
    staged = tmp_path / "items" / "new"
    assert sorted(p.name for p in staged.iterdir()) == [
        "_progress.json", "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    _write(tmp_path, "parquet", _catalog(new.schema, sync_id="newer"), _messages(new, every=100))
    assert sorted(p.name for p in (tmp_path / "items").iterdir()) == ["_latest.json", "newer"]


def test_a_resumed_sync_keeps_committed_parts_and_numbers_on(tmp_path: Path) -> None:
    table = _numbers(100)
    with pytest.raises(RuntimeError):
        _write(tmp_path, "csv", _catalog(table.schema, sync_id="s1"),
               _messages(table, every=20, fail_after=2))
    folder = tmp_path / "items" / "s1"
    (folder / ".part-00002.csv.tmp").write_text("half a part")
    (folder / "part-00007.csv").write_text("renamed but never recorded")
    rest = table.slice(40)
    _write(tmp_path, "csv", _catalog(table.schema, sync_id="s1", resume=True),
           _messages(rest, every=30))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [p["file"] for p in manifest["parts"]] == [f"part-0000{i}.csv" for i in range(4)]
    assert not list(folder.glob(".*"))
    assert not (folder / "part-00007.csv").exists()
    back, _, _ = read(plain({"path": str(folder / "part-*.csv")}))
    assert back.column("id").to_pylist() == list(range(100))


def test_append_keeps_older_sets_and_lists_them_in_order(tmp_path: Path) -> None:
    table = _numbers(5)
    for sync_id in ("a", "b"):
        _write(tmp_path, "jsonl", _catalog(table.schema, sync_id=sync_id,
                                           mode=DestinationSyncMode.append),
               _messages(table, every=5))
    latest = json.loads((tmp_path / "items" / "_latest.json").read_text())
    assert latest["syncs"] == ["a", "b"]
    assert latest["sync_id"] == "b"
    back, _, _ = read(plain({"path": str(tmp_path / "items" / "*" / "part-*.jsonl")}))
    assert back.num_rows == 10


def test_append_dedup_is_refused_naming_the_stream(tmp_path: Path) -> None:
    table = _numbers(5)
    assert DestinationSyncMode.append_dedup not in FileDestination.capabilities \
        .destination_sync_modes
    with pytest.raises(InvalidInput) as info:
        _write(tmp_path, "parquet", _catalog(table.schema, mode=DestinationSyncMode.append_dedup),
               _messages(table, every=5))
    assert "items" in str(info.value)
    assert not (tmp_path / "items").exists()


def test_check_reports_a_bad_folder_without_raising(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert FileDestination().check({"path": str(tmp_path / "out")}).ok
    assert not FileDestination().check({"path": str(blocker / "sub")}).ok
    assert not FileDestination().check({"path": str(tmp_path), "format": "xml"}).ok


def test_discovered_catalog_offers_incremental_only_with_file_columns(tmp_path: Path) -> None:
    _write_all_formats(tmp_path, "a", [{"id": 1}])
    with_cols = FileSource().discover({"path": str(tmp_path / "a.parquet")})
    without = FileSource().discover(plain({"path": str(tmp_path / "a.parquet")}))
    assert with_cols.streams[0].default_cursor_field == (MODIFIED_COLUMN,)
    assert without.streams[0].supported_sync_modes == (SyncMode.full_refresh,)
    assert isinstance(without, Catalog)


def test_a_failed_sync_resumes_through_the_engine_without_duplicates(tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    (data / "a.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(100)))
    (data / "b.csv").write_text("id\n100\n101\nnot a number\n")
    source, destination = FileSource(), FileDestination()
    source.sample_bytes = 8  # types from the first row only, so b.csv fails late
    config = plain({"path": str(data / "*.csv"), "stream_name": "ids"})
    catalog = configure(source.discover(config), [StreamChoice("ids")])
    store = MemoryStateStore()
    out = {"path": str(tmp_path / "out"), "format": "csv"}
    failed = run(catalog, source, config, destination, out, store)
    assert failed.status == "failed"
    assert "b.csv, line 4" in str(failed.first_error())
    assert store.load()["ids"]["state"] == {"files_done": ["a.csv"]}
    (data / "b.csv").write_text("id\n100\n101\n102\n")
    done = run(catalog, source, config, destination, out, store)
    assert done.ok
    assert done.streams[0].resumed
    assert store.load()["ids"] == {"state": {"complete": True}}
    back, _, _ = read(plain({"path": str(tmp_path / "out" / "ids" / "*" / "part-*.csv")}))
    assert back.column("id").to_pylist() == list(range(103))

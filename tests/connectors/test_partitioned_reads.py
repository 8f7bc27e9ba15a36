"""Full refresh of one table as key ranges read at once, in one snapshot, resumable by range.

Sources are chosen by capability: every source with ``partitioned_reads`` runs these cases
against its real server.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sluiceway.connectors import registry
from sluiceway.connectors.base import Source
from sluiceway.connectors.partitioned import available_cores
from sluiceway.core.errors import ConfigInvalid, Fatal
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.pipeline import Options, SyncResult, run
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol.catalog import ConfiguredCatalog
from sluiceway.protocol.messages import Log, RecordBatch, State
from tests.helpers import row_checksum

ROWS = 60_000


@dataclass(frozen=True)
class Server:
    """How to make the test table on one source's server."""

    connector: str
    config_fixture: str
    conn_fixture: str
    ddl: dict[str, str]  # key kind -> CREATE TABLE t ... with columns id/k2/v
    fill: str  # INSERT of ``{n}`` rows, ids made by ``{id}`` from the row number ``{g}``
    ids: dict[str, str]  # key kind -> the id expression
    splits: frozenset[str]  # the key kinds read by several readers (others: by one)

    def execute(self, conn: Any, sql: str) -> list[tuple[Any, ...]]:
        if self.connector == "postgres":
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []


SERVERS = {
    "postgres": Server(
        "postgres", "pg_database", "pg_conn",
        {"int": "CREATE TABLE t (id bigint PRIMARY KEY, k2 int NOT NULL, v text)",
         "composite": "CREATE TABLE t (id bigint, k2 int, v text, PRIMARY KEY (k2, id))",
         "text": "CREATE TABLE t (id text COLLATE \"C\" PRIMARY KEY, k2 int NOT NULL, v text)"},
        "INSERT INTO t SELECT {id}, g % 7, repeat('x', 20) || g FROM generate_series(1, {n}) g",
        {"int": "g", "composite": "g", "text": "md5(g::text)"},
        frozenset({"int", "composite", "text"}),
    ),
    "mysql": Server(
        "mysql", "mysql_database", "mysql_conn",
        {"int": "CREATE TABLE t (id BIGINT PRIMARY KEY, k2 INT NOT NULL, v TEXT)",
         "composite": "CREATE TABLE t (id BIGINT, k2 INT, v TEXT, PRIMARY KEY (k2, id))",
         "text": "CREATE TABLE t (id VARCHAR(32) PRIMARY KEY, k2 INT NOT NULL, v TEXT)"},
        "INSERT INTO t SELECT {id}, seq % 7, CONCAT(REPEAT('x', 20), seq) FROM seq_1_to_{n}",
        {"int": "seq", "composite": "seq", "text": "MD5(seq)"},
        frozenset({"int"}),  # other keys are cut by a sample, which MySQL cannot take cheaply
    ),
}


def _sources() -> list[str]:
    return [name for name in SERVERS
            if registry.source(name).capabilities.partitioned_reads]


@pytest.fixture(params=_sources())
def server(request: pytest.FixtureRequest) -> tuple[Server, dict[str, Any], Any]:
    srv = SERVERS[request.param]
    config = request.getfixturevalue(srv.config_fixture)
    conn = request.getfixturevalue(srv.conn_fixture)
    return srv, config, conn


def _make(srv: Server, conn: Any, kind: str = "int", n: int = ROWS) -> None:
    srv.execute(conn, srv.ddl[kind])
    srv.execute(conn, srv.fill.format(id=srv.ids[kind], n=n))
    srv.execute(conn, "ANALYZE t" if srv.connector == "postgres" else "ANALYZE TABLE t")


def _source(readers_min_rows: int = 5_000) -> Callable[[str], Source]:
    def make(name: str) -> Source:
        src = registry.source(name)
        src.min_range_rows = readers_min_rows  # type: ignore[attr-defined]
        src.batch_bytes = 64 * 1024  # type: ignore[attr-defined]
        src.checkpoint_rows = 4_000
        return src
    return make


def _catalog(src: Source, config: dict[str, Any]) -> ConfiguredCatalog:
    return configure(src.discover(config), [StreamChoice("t")])


def _ids(batch: Any) -> list[tuple[Any, ...]]:
    return list(zip(batch.column("id").to_pylist(), batch.column("k2").to_pylist(),
                    strict=True))


def _in(ranges: list[dict[str, Any]], key: list[str], row: dict[str, Any]) -> bool:
    value = [row[k] for k in key]
    return any((r["after"] is None or value > r["after"])
               and (r["upto"] is None or value <= r["upto"]) for r in ranges)


@pytest.mark.parametrize(("kind", "readers"), [
    ("int", 1), ("int", 2), ("int", 4), ("composite", 3), ("text", 2)])
def test_parallel_read_returns_each_row_once_and_states_claim_only_rows_sent(
    server: tuple[Server, dict[str, Any], Any], kind: str, readers: int
) -> None:
    srv, config, conn = server
    _make(srv, conn, kind)
    cfg = dict(config, parallel_readers=readers)
    src = _source()(srv.connector)
    catalog = _catalog(src, cfg)
    everything = {tuple(r) for r in srv.execute(conn, "SELECT id, k2 FROM t")}
    sent: list[tuple[Any, ...]] = []
    states: list[dict[str, Any]] = []
    logs: list[str] = []
    for msg in src.read(cfg, catalog, None):
        if isinstance(msg, RecordBatch):
            sent.extend(_ids(msg.batch))
        elif isinstance(msg, State):
            states.append(msg.data)
            if "ranges" in msg.data:
                # what was sent and what the State leaves to read split the table exactly
                key = msg.data["key"]
                left = {r for r in everything
                        if _in(msg.data["ranges"], key, dict(zip(("id", "k2"), r,
                                                                 strict=True)))}
                assert not left & set(sent), "a State claims a row that was not sent"
                assert left | set(sent) == everything, "a State drops rows never sent"
        elif isinstance(msg, Log):
            logs.append(msg.message)
    assert len(sent) == len(everything) == ROWS
    assert set(sent) == everything
    assert states[-1] == {"complete": True}
    assert len(states) > 3  # checkpoints along the way, not only at the end
    used = readers if kind in srv.splits else 1
    assert any(f"{used} reader(s) in one snapshot" in m for m in logs), logs


def _read_logs(src: Source, cfg: dict[str, Any]) -> tuple[int, list[str]]:
    rows, logs = 0, []
    for msg in src.read(cfg, _catalog(src, cfg), None):
        if isinstance(msg, RecordBatch):
            rows += msg.batch.num_rows
        elif isinstance(msg, Log):
            logs.append(msg.message)
    return rows, logs


def test_without_parallel_readers_a_big_table_gets_a_reader_per_core(
    server: tuple[Server, dict[str, Any], Any], tmp_path: Path
) -> None:
    srv, config, conn = server
    _make(srv, conn)
    cores = available_cores()
    src = _source()(srv.connector)
    src.auto_min_rows = ROWS // 2  # type: ignore[attr-defined]
    rows, logs = _read_logs(src, config)
    assert rows == ROWS
    if cores > 1 and src.auto_readers:
        assert any(f"{cores} reader(s) in one snapshot" in m for m in logs), logs
    else:  # MySQL: the one connectorx stream is faster than its readers (see its source)
        assert not any("reader(s) in one snapshot" in m for m in logs), logs
    if not src.auto_readers:  # the rule itself, when a source turns it on
        src = _source()(srv.connector)
        src.auto_readers = True
        src.auto_min_rows = ROWS // 2  # type: ignore[attr-defined]
        rows, logs = _read_logs(src, config)
        assert rows == ROWS
        if cores > 1:
            assert any(f"{cores} reader(s) in one snapshot" in m for m in logs), logs
    # a table below the size keeps the one stream
    src = _source()(srv.connector)
    src.auto_min_rows = ROWS * 2  # type: ignore[attr-defined]
    rows, logs = _read_logs(src, config)
    assert rows == ROWS
    assert not any("reader(s) in one snapshot" in m for m in logs), logs
    # a destination that loads best in key order gets one stream too
    src = _source()(srv.connector)
    src.auto_min_rows = ROWS // 2  # type: ignore[attr-defined]
    lines: list[str] = []
    result = run(_catalog(src, config), src, config, registry.destination("duckdb"),
                 {"path": str(tmp_path / "ordered.duckdb")}, MemoryStateStore(),
                 Options(log=lambda _level, line: lines.append(line)))
    assert result.ok, result.streams
    assert result.streams[0].records == ROWS
    assert not any("reader(s) in one snapshot" in m for m in lines), lines


def test_rows_changed_during_the_read_come_as_the_snapshot_had_them(
    server: tuple[Server, dict[str, Any], Any]
) -> None:
    srv, config, conn = server
    _make(srv, conn)
    cfg = dict(config, parallel_readers=4)
    src = _source()(srv.connector)
    before = {tuple(r) for r in srv.execute(conn, "SELECT id, k2 FROM t")}
    messages = src.read(cfg, _catalog(src, cfg), None)
    sent: list[tuple[Any, ...]] = []
    first = next(m for m in messages if isinstance(m, RecordBatch))
    sent.extend(_ids(first.batch))
    # the first range's rows move to the last range's keys, a row is deleted, one is added:
    # a reader in another snapshot would read the moved rows twice
    srv.execute(conn, f"UPDATE t SET id = id + {10 * ROWS}, k2 = -1 WHERE id <= 3000")
    srv.execute(conn, "DELETE FROM t WHERE id = 30000")
    srv.execute(conn, f"INSERT INTO t VALUES ({20 * ROWS}, 0, 'new')")
    for msg in messages:
        if isinstance(msg, RecordBatch):
            sent.extend(_ids(msg.batch))
    assert len(sent) == ROWS
    assert set(sent) == before


def test_a_read_resumed_from_a_range_state_reads_only_what_it_names(
    server: tuple[Server, dict[str, Any], Any]
) -> None:
    srv, config, conn = server
    _make(srv, conn)
    cfg = dict(config, parallel_readers=2)
    src = _source()(srv.connector)
    state = {"key": ["id"], "ranges": [{"after": [100], "upto": [250]},
                                       {"after": [59_990], "upto": None}]}
    ids = [i for m in src.read(cfg, _catalog(src, cfg), {"t": state})
           if isinstance(m, RecordBatch) for i in m.batch.column("id").to_pylist()]
    assert sorted(ids) == [*range(101, 251), *range(59_991, ROWS + 1)]


def _sync(name: str, config: dict[str, Any], dst: dict[str, Any],
          store: MemoryStateStore) -> SyncResult:
    src = _source()(name)
    return run(_catalog(src, config), src, config, registry.destination("postgres"), dst,
               store, Options())


def test_a_range_state_on_a_table_that_lost_its_key_fails_instead_of_reading_twice(
    server: tuple[Server, dict[str, Any], Any]
) -> None:
    srv, config, conn = server
    srv.execute(conn, "CREATE TABLE t (id BIGINT, k2 INT, v TEXT)")
    srv.execute(conn, "INSERT INTO t VALUES (1, 1, 'a'), (2, 2, 'b')")
    src = _source()(srv.connector)
    cfg = dict(config, parallel_readers=2)
    state = {"key": ["id"], "ranges": [{"after": [1], "upto": None}]}
    with pytest.raises(Fatal, match="reset the stream's state"):
        list(src.read(cfg, _catalog(src, cfg), {"t": state}))


class _StopAfter(MemoryStateStore):
    """Dies on its n-th save: a sync stopped after some checkpoints were committed."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n
        self.saved: list[dict[str, Any] | None] = []

    def save(self, stream: str, record: dict[str, Any] | None) -> None:
        self.left -= 1
        if self.left < 0:
            raise KeyboardInterrupt("stopped after a committed checkpoint")
        self.saved.append(record)
        super().save(stream, record)


def test_a_stopped_parallel_overwrite_resumes_without_duplicates_or_gaps(
    server: tuple[Server, dict[str, Any], Any], pg_conn: Any, pg_database: dict[str, Any]
) -> None:
    srv, config, conn = server
    _make(srv, conn)
    cfg = dict(config, parallel_readers=3)
    dst = dict(pg_database, schema="copy")
    store = _StopAfter(6)  # the starting record, then five committed checkpoints
    with pytest.raises(KeyboardInterrupt):
        _sync(srv.connector, cfg, dst, store)
    stopped = store.load()["t"]
    # the destination committed one checkpoint past the one the store kept; a resume
    # starts from the destination's
    (record,), = pg_conn.execute("SELECT state FROM copy._sluiceway_state").fetchall()
    ranges = record["state"]["ranges"]
    assert any(r["after"] is not None for r in ranges), "no range was under way"
    resumed = MemoryStateStore({"t": stopped})
    result = _sync(srv.connector, cfg, dst, resumed)
    assert result.ok, result.streams
    assert result.streams[0].resumed
    left = sum(1 for r in srv.execute(conn, "SELECT id, k2 FROM t")
               if _in(ranges, ["id"], {"id": r[0], "k2": r[1]}))
    assert result.streams[0].records == left < ROWS  # only the unfinished ranges again
    copied = pg_conn.execute("SELECT id, k2, v FROM copy.t").fetchall()
    assert row_checksum(copied) == row_checksum(srv.execute(conn, "SELECT id, k2, v FROM t"))


@pytest.mark.parametrize("readers", [0, "two"])
def test_parallel_readers_must_be_a_positive_integer(readers: Any) -> None:
    for name in _sources():
        config = {"host": "127.0.0.1", "port": 1, "database": "d", "username": "u",
                  "parallel_readers": readers}
        with pytest.raises(ConfigInvalid) as err:
            registry.source(name).discover(config)
        assert [e.path for e in err.value.errors] == ["parallel_readers"]


def test_mysql_without_the_lock_privileges_reads_with_one_reader_and_says_so(
    mysql_database: dict[str, Any], mysql_conn: Any
) -> None:
    srv = SERVERS["mysql"]
    _make(srv, mysql_conn)
    user = f"sw_nr_{uuid.uuid4().hex[:8]}"
    with mysql_conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
        cur.execute(f"GRANT SELECT ON `{mysql_database['database']}`.* TO '{user}'@'%'")
    try:
        cfg = dict(mysql_database, username=user, password="pw", parallel_readers=3)
        src = _source()("mysql")
        ids: list[int] = []
        logs: list[str] = []
        for msg in src.read(cfg, _catalog(src, cfg), None):
            if isinstance(msg, RecordBatch):
                ids.extend(msg.batch.column("id").to_pylist())
            elif isinstance(msg, Log):
                logs.append(msg.message)
        assert sorted(ids) == list(range(1, ROWS + 1))
        assert any("one reader reads" in m and "RELOAD" in m for m in logs), logs
        assert any("1 reader(s) in one snapshot" in m for m in logs), logs
    finally:
        with mysql_conn.cursor() as cur:
            cur.execute(f"DROP USER '{user}'@'%'")


def test_mysql_reads_with_one_reader_when_a_writer_keeps_the_table_from_being_locked(
    mysql_database: dict[str, Any], mysql_conn: Any
) -> None:
    import pymysql

    srv = SERVERS["mysql"]
    _make(srv, mysql_conn)
    writer = pymysql.connect(host=mysql_database["host"], port=mysql_database["port"],
                             user=mysql_database["username"],
                             password=mysql_database["password"],
                             database=mysql_database["database"], autocommit=False)
    try:
        with writer.cursor() as cur:  # an open transaction that wrote to t
            cur.execute(f"INSERT INTO t VALUES ({10 * ROWS}, 0, 'uncommitted')")
        src = _source()("mysql")
        src.lock_seconds = 1  # type: ignore[attr-defined]
        cfg = dict(mysql_database, parallel_readers=2)
        ids: list[int] = []
        logs: list[str] = []
        for msg in src.read(cfg, _catalog(src, cfg), None):
            if isinstance(msg, RecordBatch):
                ids.extend(msg.batch.column("id").to_pylist())
            elif isinstance(msg, Log):
                logs.append(msg.message)
        assert sorted(ids) == list(range(1, ROWS + 1))
        assert any("one reader reads" in m and "a writer held" in m for m in logs), logs
    finally:
        writer.rollback()
        writer.close()

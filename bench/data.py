"""The benchmark's data: the ``events`` table in PostgreSQL and MariaDB, and how to check it.

Everything here talks to the servers through their command-line clients (``psql``,
``mariadb``), so this module imports no driver and also runs under the peers' interpreter.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from bench.measure import BackendCpu, Memory, TreeSampler

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
MY_HOST, MY_PORT, MY_USER = "127.0.0.1", 3306, "root"
#: databases are named ``<prefix>_src`` and ``<prefix>_dst``; set ``SW_BENCH_DB_PREFIX`` so that
#: two benchmarks on one server do not drop each other's databases
DB_PREFIX = os.environ.get("SW_BENCH_DB_PREFIX", "sw_bench")
if not re.fullmatch(r"[a-z_][a-z0-9_]{0,50}", DB_PREFIX):
    raise SystemExit(f"SW_BENCH_DB_PREFIX={DB_PREFIX!r}: use lower-case letters, digits and _")
SRC_DB = f"{DB_PREFIX}_src"
DST_DB = f"{DB_PREFIX}_dst"
TABLE = "events"
#: bump when the generator below changes, so that an old source table is rebuilt
GENERATION = 1

PG_COLUMNS = """
    id bigint NOT NULL,
    uid uuid NOT NULL,
    user_id integer NOT NULL,
    event_type text NOT NULL,
    amount numeric(12,2),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    payload jsonb,
    is_test boolean NOT NULL,
    note text,
    score double precision
"""

MY_COLUMNS = """
    id BIGINT NOT NULL,
    uid CHAR(36) NOT NULL,
    user_id INT NOT NULL,
    event_type VARCHAR(32) NOT NULL,
    amount DECIMAL(12,2),
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    payload JSON,
    is_test TINYINT(1) NOT NULL,
    note VARCHAR(255),
    score DOUBLE,
    PRIMARY KEY (id)
"""

EVENT_TYPES = ("page_view", "click", "search", "add_to_cart", "remove_from_cart", "checkout",
               "purchase", "refund", "signup", "login", "logout", "share")

# Every value is a function of the row number g, so that two builds give the same table.
GENERATE_SQL = """
INSERT INTO {table}
SELECT g,
       md5('uid' || g)::uuid,
       (g * 2654435761) % 1000003,
       (ARRAY[{event_types}])[1 + (g * 7) % 12],
       CASE WHEN g % 37 = 0 THEN NULL ELSE ((g * 104729) % 10000000) / 100.0 END,
       c.created_at,
       c.created_at + (g % 86400) * interval '1 second',
       CASE g % 3
         WHEN 0 THEN jsonb_build_object('source', 'web', 'v', g % 100, 'tags',
                                        jsonb_build_array('a', 'b'))
         WHEN 1 THEN jsonb_build_object('source', 'app', 'v', g % 100, 'ok', true,
                                        'ref', g * 3)
         ELSE jsonb_build_object('source', 'api', 'v', g % 100, 'ok', false,
                                 'ref', g * 3, 'lang', 'en')
       END,
       g % 20 = 0,
       CASE WHEN g % 11 = 0 THEN NULL
            ELSE left(CASE WHEN g % 97 = 0 THEN 'Grüße, café – ' ELSE '' END
                      || repeat(md5(g::text), 3), 20 + (g % 61)::int) END,
       CASE WHEN g % 53 = 0 THEN NULL ELSE ((g * 31) % 100000)::float8 / 7 END
FROM generate_series(1, {rows}::bigint) AS g,
     LATERAL (SELECT timestamptz '2024-01-01 00:00:00+00'
                     + ((g * 7919) % 31536000) * interval '1 second'
                     + ((g * 13) % 1000000) * interval '1 microsecond' AS created_at) AS c
"""

#: the source rows as MariaDB's LOAD DATA reads them (tab separated, \\N for NULL, UTC times)
MY_TEXT_COPY = (
    "COPY (SELECT id, uid, user_id, event_type, amount, created_at AT TIME ZONE 'UTC', "
    "updated_at AT TIME ZONE 'UTC', payload, is_test::int, note, score FROM {table}) TO STDOUT"
)


class BenchError(RuntimeError):
    """A step of the benchmark could not be set up or run."""


# --------------------------------------------------------------------------- clients


def psql(db: str, *args: str) -> list[str]:
    return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-p", str(PG_PORT),
            "-U", PG_USER, "-d", db, *args]


def mariadb(db: str | None, *args: str) -> list[str]:
    cmd = ["mariadb", "-h", MY_HOST, "-P", str(MY_PORT), "-u", MY_USER,
           "--default-character-set=utf8mb4"]
    return [*cmd, *args] + ([db] if db else [])


def pg_url(db: str, scheme: str = "postgresql", password: str = "") -> str:
    auth = f"{PG_USER}:{password}" if password else PG_USER
    return f"{scheme}://{auth}@{PG_HOST}:{PG_PORT}/{db}"


def my_url(db: str, scheme: str = "mysql") -> str:
    return f"{scheme}://{MY_USER}@{MY_HOST}:{MY_PORT}/{db}"


def _check(cmd: list[str], stdin: str | None = None) -> str:
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def pg_query(db: str, sql: str) -> list[list[str]]:
    out = _check(psql(db, "-A", "-t", "-F", "\t", "-c", sql))
    return [line.split("\t") for line in out.splitlines() if line]


def pg_exec(db: str, sql: str) -> None:
    _check(psql(db, "-c", sql))


def my_query(sql: str, db: str | None = None) -> list[list[str]]:
    out = _check(mariadb(db, "-N", "-B", "-e", sql))
    return [line.split("\t") for line in out.splitlines() if line]


def my_exec(sql: str, db: str | None = None) -> None:
    _check(mariadb(db, "-e", sql))


def available(tool: str) -> bool:
    return subprocess.run(["which", tool], capture_output=True, check=False).returncode == 0


# --------------------------------------------------------------------------- processes


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Finished:
    """How a process (or a shell-free pipeline of processes) ended."""

    seconds: float
    codes: list[int]
    memory: Memory
    stderr: str
    stdout: str = ""
    timed_out: bool = False
    #: CPU seconds (user + system) of the run's processes and their waited-for descendants
    cpu_s: float | None = None
    #: CPU seconds of the PostgreSQL backends serving the bench's databases meanwhile
    server_cpu_s: float | None = None

    @property
    def ok(self) -> bool:
        return not self.timed_out and all(c == 0 for c in self.codes)

    def error(self) -> str:
        if self.timed_out:
            return "timed out"
        lines = [ln.strip() for ln in _ANSI.sub("", self.stderr).splitlines() if ln.strip()]
        return f"exit codes {self.codes}: " + " | ".join(lines[-3:])


def run_pipeline(
    cmds: list[list[str]],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    capture_stdout: bool = False,
    terminal_stderr: bool = False,
    timeout: float = 3600.0,
) -> Finished:
    """Run ``cmds[0] | cmds[1] | ...`` through real OS pipes and time it.

    Memory is this run's own process tree (the pipeline's processes and all their
    descendants), sampled by :class:`bench.measure.TreeSampler`; never ``wait4``'s
    ``ru_maxrss``, which carries this process's own RSS into every child it spawns.

    ``terminal_stderr`` gives the last process a pseudo-terminal as its stderr (read and
    kept here), so that a command draws its progress as it would for a user at a terminal.
    """
    procs: list[subprocess.Popen[bytes]] = []
    errs = [tempfile.TemporaryFile() for _ in cmds]
    out = tempfile.TemporaryFile() if capture_stdout else None
    terminal = _Terminal(errs[-1]) if terminal_stderr else None
    started = time.perf_counter()
    upstream = None
    try:
        for i, cmd in enumerate(cmds):
            last = i == len(cmds) - 1
            sink = (out if out is not None else subprocess.DEVNULL) if last else subprocess.PIPE
            err: Any = terminal.slave if terminal is not None and last else errs[i]
            proc = subprocess.Popen(cmd, stdin=upstream or subprocess.DEVNULL, stdout=sink,
                                    stderr=err, env=env, cwd=cwd)
            if upstream is not None:
                upstream.close()  # only the two ends of the pipe may hold it open
            upstream = proc.stdout
            procs.append(proc)
    except OSError:
        for proc in procs:
            proc.kill()
        raise
    finally:
        if terminal is not None:
            terminal.started()
    timed_out = threading.Event()

    def kill_all() -> None:
        timed_out.set()
        for proc in procs:
            if proc.returncode is None:
                proc.kill()

    timer = threading.Timer(timeout, kill_all)
    timer.start()
    sampler = TreeSampler([p.pid for p in procs])
    backends = BackendCpu([SRC_DB, DST_DB])
    # the runs are sequential, so the children's usage grows by this run's processes only
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        for proc in procs:
            proc.wait()
    finally:
        timer.cancel()
        memory = sampler.stop()
        server_cpu = backends.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    seconds = time.perf_counter() - started
    if terminal is not None:
        terminal.drain()
    stderr = ""
    for err in errs:
        err.seek(0)
        stderr += err.read().decode(errors="replace")
        err.close()
    stdout = ""
    if out is not None:
        out.seek(0)
        stdout = out.read().decode(errors="replace")
        out.close()
    return Finished(seconds, [p.returncode for p in procs], memory, stderr, stdout,
                    timed_out.is_set(), cpu, server_cpu)


class _Terminal:
    """A pseudo-terminal whose output is copied into ``sink`` by a thread."""

    def __init__(self, sink: IO[bytes]) -> None:
        self._sink = sink
        self._master, self.slave = os.openpty()
        self._thread = threading.Thread(target=self._copy, name="pty-reader", daemon=True)
        self._thread.start()

    def started(self) -> None:
        """The child holds the slave now; once it exits, reading the master ends."""
        os.close(self.slave)

    def _copy(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 1 << 16)
            except OSError:  # EIO: every holder of the slave side has closed it
                return
            if not chunk:
                return
            self._sink.write(chunk)

    def drain(self) -> None:
        self._thread.join()
        os.close(self._master)


# --------------------------------------------------------------------------- checksums


@dataclass(frozen=True)
class Checksum:
    rows: int
    sum_amount: Decimal
    distinct_uid: int
    sum_id: int
    max_created_epoch: int
    note_chars: int

    @classmethod
    def parse(cls, row: list[str] | tuple[object, ...]) -> Checksum:
        vals = ["0" if v is None or v == "" or v == "NULL" else str(v) for v in row]
        return cls(int(vals[0]), Decimal(vals[1]).quantize(Decimal("0.01")), int(vals[2]),
                   int(Decimal(vals[3])), int(Decimal(vals[4])), int(Decimal(vals[5])))

    def differences(self, other: Checksum) -> list[str]:
        out = []
        for name in self.__dataclass_fields__:
            want, got = getattr(self, name), getattr(other, name)
            if want != got:
                out.append(f"{name}: got {got}, want {want}")
        return out


PG_CHECKSUM = (
    "SELECT count(*), coalesce(sum(amount::numeric), 0), count(DISTINCT uid::text), "
    "coalesce(sum(id::bigint), 0), coalesce(floor(extract(epoch FROM max(created_at))), 0), "
    "coalesce(sum(char_length(note)), 0) FROM {table}"
)
MY_CHECKSUM = (
    "SET time_zone = '+00:00'; "
    "SELECT COUNT(*), COALESCE(SUM(amount), 0), COUNT(DISTINCT uid), COALESCE(SUM(id), 0), "
    "COALESCE(FLOOR(UNIX_TIMESTAMP(MAX(created_at))), 0), "
    "COALESCE(SUM(CHAR_LENGTH(note)), 0) FROM {table}"
)
DUCK_CHECKSUM = (
    "SELECT count(*), coalesce(sum(amount::DECIMAL(18,2)), 0), count(DISTINCT uid::VARCHAR), "
    "coalesce(sum(id::BIGINT), 0), coalesce(floor(epoch(max(created_at))), 0), "
    "coalesce(sum(length(note)), 0) FROM {table}"
)


@dataclass(frozen=True)
class Target:
    """Where a tool's copy of ``events`` landed, for :func:`checksum`."""

    kind: str  # "postgres" | "mysql" | "duckdb" | "parquet"
    database: str = ""  # PG/MariaDB database, or the DuckDB file
    table: str = TABLE
    schema: str = ""  # PG/DuckDB schema (empty: any schema holding the table)
    folder: str = ""  # parquet: files under it, recursively
    extras: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "parquet":
            return f"parquet:{self.folder}"
        where = ".".join(p for p in (self.database, self.schema, self.table) if p)
        return f"{self.kind}:{where}"


def quote(name: str, mark: str = '"') -> str:
    return mark + name.replace(mark, mark * 2) + mark


def checksum(target: Target) -> Checksum:
    if target.kind == "postgres":
        table = quote(target.table)
        if target.schema:
            table = f"{quote(target.schema)}.{table}"
        rows = pg_query(target.database, PG_CHECKSUM.format(table=table))
        return Checksum.parse(rows[0])
    if target.kind == "mysql":
        table = f"{quote(target.database, '`')}.{quote(target.table, '`')}"
        rows = my_query(MY_CHECKSUM.format(table=table))
        return Checksum.parse(rows[-1])
    if target.kind in ("duckdb", "parquet"):
        return _duck_checksum(target)
    raise BenchError(f"unknown target kind {target.kind!r}")


def _duck_checksum(target: Target) -> Checksum:
    import duckdb  # the parent's interpreter has it (a Sluiceway dependency)

    if target.kind == "parquet":
        files = sorted(str(p) for p in Path(target.folder).rglob("*.parquet"))
        if not files:
            raise BenchError(f"no parquet files under {target.folder}")
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            table = "read_parquet(" + repr(files) + ", union_by_name = true)"
            row = con.execute(DUCK_CHECKSUM.format(table=table)).fetchone()
        finally:
            con.close()
        assert row is not None
        return Checksum.parse(tuple(row))
    con = duckdb.connect(target.database, read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        schemas = [r[0] for r in con.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = ?",
            [target.table]).fetchall()]
        if target.schema:
            schemas = [s for s in schemas if s == target.schema]
        if not schemas:
            raise BenchError(f"no table {target.table!r} in {target.database}")
        table = f"{quote(schemas[0])}.{quote(target.table)}"
        row = con.execute(DUCK_CHECKSUM.format(table=table)).fetchone()
    finally:
        con.close()
    assert row is not None
    return Checksum.parse(tuple(row))


def verify(target: Target, expected: Checksum) -> tuple[bool, str]:
    """Compare a tool's result with the source; never raises."""
    try:
        got = checksum(target)
    except Exception as exc:
        return False, f"cannot check {target.describe()}: {exc}"
    diff = expected.differences(got)
    if diff:
        return False, f"{target.describe()}: " + "; ".join(diff)
    return True, ""


# --------------------------------------------------------------------------- databases


def pg_recreate_db(db: str) -> None:
    pg_exec("postgres", f"DROP DATABASE IF EXISTS {quote(db)} WITH (FORCE)")
    pg_exec("postgres", f"CREATE DATABASE {quote(db)}")


def pg_drop_db(db: str) -> None:
    pg_exec("postgres", f"DROP DATABASE IF EXISTS {quote(db)} WITH (FORCE)")


def pg_create_table(db: str, table: str = TABLE, primary_key: bool = True) -> None:
    key = ", PRIMARY KEY (id)" if primary_key else ""
    pg_exec(db, f"CREATE TABLE {quote(table)} ({PG_COLUMNS}{key})")


def my_recreate_db(*dbs: str) -> None:
    for db in dbs:
        name = quote(db, "`")
        my_exec(f"DROP DATABASE IF EXISTS {name}; "
                f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")


def my_drop_db(*dbs: str) -> None:
    for db in dbs:
        my_exec(f"DROP DATABASE IF EXISTS {quote(db, '`')}")


def my_create_table(db: str, table: str = TABLE) -> None:
    my_exec(f"CREATE TABLE {quote(table, '`')} ({MY_COLUMNS}) ENGINE=InnoDB", db)


def pg_to_my_commands(src_db: str, dst_db: str, table: str = TABLE) -> list[list[str]]:
    """``psql`` text COPY piped into ``LOAD DATA LOCAL INFILE`` (the target table exists)."""
    load = (f"LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE {quote(table, '`')} "
            "CHARACTER SET utf8mb4")
    return [psql(src_db, "-c", MY_TEXT_COPY.format(table=quote(TABLE))),
            mariadb(dst_db, "--local-infile=1", "-e", load)]


@dataclass(frozen=True)
class Source:
    rows: int
    text_bytes: int  # size of the table as PostgreSQL text COPY
    expected: Checksum


def _marker(rows: int, text_bytes: int | None = None) -> str:
    out = f"sluiceway-bench gen={GENERATION} rows={rows}"
    return out + (f" text_bytes={text_bytes}" if text_bytes is not None else "")


def _pg_source_marker() -> str | None:
    exists = pg_query("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{SRC_DB}'")
    if not exists:
        return None
    rows = pg_query(SRC_DB, f"SELECT obj_description('public.{TABLE}'::regclass, 'pg_class')"
                    f" FROM pg_tables WHERE schemaname = 'public' AND tablename = '{TABLE}'")
    return rows[0][0] if rows else None


def _text_copy_bytes() -> int:
    """Bytes of ``COPY events TO STDOUT`` (text format), counted as they stream by."""
    proc = subprocess.Popen(psql(SRC_DB, "-c", f"COPY {TABLE} TO STDOUT"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    total = 0
    while chunk := proc.stdout.read(1 << 20):
        total += len(chunk)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise BenchError(f"text COPY failed: {err.decode(errors='replace')}")
    return total


def ensure_pg_source(rows: int, log: Callable[[str], None] = print) -> Source:
    """Build ``sw_bench_src.public.events`` with ``rows`` rows unless it is already there."""
    marker = _pg_source_marker()
    count = None
    if marker and marker.startswith(_marker(rows) + " "):
        count = int(pg_query(SRC_DB, f"SELECT count(*) FROM {TABLE}")[0][0])
    if count != rows or marker is None:
        log(f"creating PostgreSQL {SRC_DB}.{TABLE} with {rows:,} rows")
        started = time.perf_counter()
        pg_recreate_db(SRC_DB)
        pg_create_table(SRC_DB, primary_key=False)  # the key is added after the load
        types = ", ".join(f"'{t}'" for t in EVENT_TYPES)
        pg_exec(SRC_DB, GENERATE_SQL.format(table=TABLE, rows=rows, event_types=types))
        pg_exec(SRC_DB, f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id)")
        # set hint bits and the visibility map now, so no timed reader pays for them
        pg_exec(SRC_DB, f"VACUUM (FREEZE, ANALYZE) {TABLE}")
        text_bytes = _text_copy_bytes()
        pg_exec(SRC_DB, f"COMMENT ON TABLE {TABLE} IS '{_marker(rows, text_bytes)}'")
        log(f"  built in {time.perf_counter() - started:.1f}s")
        marker = _marker(rows, text_bytes)
    text_bytes = int(marker.rsplit("text_bytes=", 1)[1])
    expected = checksum(Target("postgres", SRC_DB, TABLE, "public"))
    if expected.rows != rows:
        raise BenchError(f"{SRC_DB}.{TABLE} has {expected.rows} rows, not {rows}")
    return Source(rows, text_bytes, expected)


def ensure_my_source(source: Source, log: Callable[[str], None] = print) -> None:
    """Build MariaDB ``sw_bench_src.events`` from the PostgreSQL one unless it matches."""
    try:
        got = checksum(Target("mysql", SRC_DB, TABLE))
    except BenchError:
        got = None
    if got == source.expected:
        return
    log(f"loading MariaDB {SRC_DB}.{TABLE} from PostgreSQL ({source.rows:,} rows)")
    my_recreate_db(SRC_DB)
    my_create_table(SRC_DB)
    done = run_pipeline(pg_to_my_commands(SRC_DB, SRC_DB))
    if not done.ok:
        raise BenchError(f"loading MariaDB failed: {done.error()}")
    ok, why = verify(Target("mysql", SRC_DB, TABLE), source.expected)
    if not ok:
        raise BenchError(f"MariaDB source does not match PostgreSQL: {why}")
    log(f"  loaded in {done.seconds:.1f}s")


def drop_all() -> None:
    pg_drop_db(SRC_DB)
    pg_drop_db(DST_DB)
    if available("mariadb"):
        my_drop_db(SRC_DB, DST_DB)

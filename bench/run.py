"""Sluiceway against the databases' own bulk paths and against Sling and dlt, in one run.

    python -m bench.run [--rows N] [--routes pg-pg,pg-parquet,...] [--repeat K]
                        [--skip-peers] [--keep] [--json PATH] [--peer-python PATH]

Every timed run is its own process tree (peak RSS per run), writes into a destination that
was dropped and recreated just before, and is checked against the source (row count, sum of
amount, distinct uid, sum of id, latest created_at, characters of note). See bench/README.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data, peers  # noqa: E402
from bench.measure import Memory, high_water_kb  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PEER_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
NO_MEMORY = Memory(None, None, 0)
#: the tools of a route, in report order: the engine in a child process, then the command
CLI_TOOL = "sluiceway run"
#: what --tools chooses from: the limit rows, the engine in a child, the command, the peers
TOOL_KEYS = ("limits", "engine", "cli", "sling", "dlt", "duckdb")
SKIPPED_EXIT = 3  # the Sluiceway child's exit code when a connector is not importable yet


@dataclass(frozen=True)
class Route:
    key: str
    title: str
    source: str  # sluiceway source connector: postgres | mysql
    dest: str  # sluiceway destination connector: postgres | file | duckdb | mysql
    limit: str  # key of the floor this route is compared with


@dataclass(frozen=True)
class Floor:
    key: str
    tool: str
    needs_mysql: bool


ROUTES = {r.key: r for r in (
    Route("pg-pg", "postgres->postgres", "postgres", "postgres", "pg-copy"),
    Route("pg-parquet", "postgres->parquet", "postgres", "file", "pg-copy"),
    Route("pg-duckdb", "postgres->duckdb", "postgres", "duckdb", "pg-copy"),
    Route("mysql-pg", "mysql->postgres", "mysql", "postgres", "mysql-read"),
    Route("pg-mysql", "postgres->mysql", "postgres", "mysql", "pg-mysql-load"),
)}

FLOORS = {f.key: f for f in (
    Floor("pg-copy", "limit: psql COPY binary | psql COPY FROM", False),
    Floor("pg-read", "floor: psql COPY binary > /dev/null", False),
    Floor("mysql-read", "floor: mariadb --batch --quick > /dev/null", True),
    Floor("pg-mysql-load", "limit: psql COPY text | mariadb LOAD DATA", True),
)}


@dataclass
class Outcome:
    """One timed run."""

    status: str  # ok | FAILED | skipped
    seconds: float = 0.0
    memory: Memory = NO_MEMORY
    verified: str = "n/a"  # yes | no | n/a
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    cpu_s: float | None = None  # the run's own processes (see data.Finished)
    server_cpu_s: float | None = None  # the PostgreSQL backends meanwhile


@dataclass
class Row:
    """A (route, tool) line of the report: the median of its runs."""

    route: str
    tool: str
    setting: str = ""
    status: str = "ok"  # ok | FAILED | skipped | not installed
    runs: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    hwm_mb: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    server_cpu_s: list[float] = field(default_factory=list)
    verified: str = "n/a"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float | None:
        return statistics.median(self.runs) if self.runs and self.status == "ok" else None

    def add(self, out: Outcome) -> None:
        if out.status == "skipped":
            self.status, self.note = "skipped", out.note
            return
        self.runs.append(out.seconds)
        if out.memory.peak_mb is not None:
            self.rss_mb.append(out.memory.peak_mb)
        if out.memory.hwm_mb is not None:
            self.hwm_mb.append(out.memory.hwm_mb)
        if out.cpu_s is not None:
            self.cpu_s.append(out.cpu_s)
        if out.server_cpu_s is not None:
            self.server_cpu_s.append(out.server_cpu_s)
        self.extra.update(out.extra)
        if out.status != "ok":
            self.status, self.verified = "FAILED", out.verified
            self.note = self.note or out.note
        elif self.status == "ok":
            self.verified = out.verified


# --------------------------------------------------------------------------- Sluiceway child


def sluiceway_configs(route: Route, workdir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    pg = {"host": data.PG_HOST, "port": data.PG_PORT, "username": data.PG_USER,
          "ssl_mode": "disable"}
    my = {"host": data.MY_HOST, "port": data.MY_PORT, "username": data.MY_USER, "password": "",
          "ssl_mode": "disabled"}
    if route.source == "postgres":
        src = {**pg, "database": data.SRC_DB, "schemas": ["public"]}
    else:
        src = {**my, "database": data.SRC_DB}
    dst: dict[str, Any]
    if route.dest == "postgres":
        dst = {**pg, "database": data.DST_DB, "schema": "public"}
    elif route.dest == "mysql":
        dst = {**my, "database": data.DST_DB}
    elif route.dest == "duckdb":
        dst = {"path": str(workdir / "sluiceway.duckdb")}
    else:
        dst = {"path": str(workdir / "sluiceway_parquet"), "format": "parquet"}
    return src, dst


def sluiceway_target(route: Route, workdir: Path) -> data.Target:
    if route.dest == "postgres":
        return data.Target("postgres", data.DST_DB, data.TABLE, "public")
    if route.dest == "mysql":
        return data.Target("mysql", data.DST_DB, data.TABLE)
    if route.dest == "duckdb":
        return data.Target("duckdb", str(workdir / "sluiceway.duckdb"), data.TABLE)
    return data.Target("parquet", folder=str(workdir / "sluiceway_parquet"))


def child(route_key: str, workdir: Path, readers: int | None = None) -> int:
    """Run one Sluiceway sync in this process and print its outcome as one JSON line."""
    route = ROUTES[route_key]
    src_cfg, dst_cfg = sluiceway_configs(route, workdir)
    if readers:
        src_cfg["parallel_readers"] = readers
    try:
        from sluiceway.connectors import registry
        from sluiceway.engine.checkpoint import MemoryStateStore
        from sluiceway.engine.pipeline import Options, run
        from sluiceway.engine.plan import StreamChoice, configure

        source = registry.source(route.source)
        destination = registry.destination(route.dest)
        if readers == 0:  # one stream, as with parallel_readers unset on a small table
            source.auto_readers = False
    except (ImportError, AttributeError) as exc:
        print(json.dumps({"status": "skipped",
                          "error": f"connector not importable yet: {type(exc).__name__}: {exc}"}))
        return SKIPPED_EXIT
    started = time.perf_counter()
    catalog = source.discover(src_cfg)
    names = [s.name for s in catalog.streams]
    stream = next((n for n in names if n == data.TABLE or n.endswith("." + data.TABLE)), None)
    if stream is None:
        print(json.dumps({"status": "failed", "error": f"no {data.TABLE!r} stream in {names}"}))
        return 1
    configured = configure(catalog, [StreamChoice(stream, destination_name=data.TABLE)])
    discovered = time.perf_counter()
    result = run(configured, source, src_cfg, destination, dst_cfg, MemoryStateStore(),
                 Options())
    done = time.perf_counter()
    st = result.streams[0]
    print(json.dumps({"status": result.status, "records": st.records, "arrow_bytes": st.bytes,
                      "discover_seconds": round(discovered - started, 3),
                      "sync_seconds": round(done - discovered, 3),
                      "own_hwm_mb": round((high_water_kb(os.getpid()) or 0) / 1024, 1),
                      "error": st.error}))
    return 0 if result.ok else 1


def pipeline_file(route: Route, workdir: Path) -> Path:
    """The route as a pipeline file for ``sluiceway run`` (full refresh + overwrite)."""
    import yaml

    src_cfg, dst_cfg = sluiceway_configs(route, workdir)
    body = {"name": f"bench-{route.key}",
            "source": {"connector": route.source, "config": src_cfg},
            "destination": {"connector": route.dest, "config": dst_cfg},
            "streams": [{"name": data.TABLE, "sync_mode": "full_refresh",
                         "destination_sync_mode": "overwrite"}]}
    path = workdir / "pipeline.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


# --------------------------------------------------------------------------- the runs


class Bench:
    def __init__(self, args: argparse.Namespace, source: data.Source, workdir: Path,
                 available: dict[str, peers.Peer]) -> None:
        self.args = args
        self.source = source
        self.workdir = workdir
        self.peers = available

    def fresh_dir(self, name: str) -> Path:
        path = self.workdir / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def reset(self, dest: str) -> None:
        if dest == "postgres":
            data.pg_recreate_db(data.DST_DB)
        elif dest == "mysql":
            data.my_recreate_db(data.DST_DB)
            data.my_drop_db(peers.DLT_DATASET)
        self.settle()

    @staticmethod
    def settle() -> None:
        """Every timed run starts with PostgreSQL's dirty pages written: a run's 2M rows
        write about 600 MB of WAL, and the checkpoint that starts would otherwise fall
        into whichever run comes next."""
        data.pg_exec("postgres", "CHECKPOINT")

    def timed(self, job: peers.Job) -> Outcome:
        done = data.run_pipeline(job.cmds, env=job.env, cwd=job.cwd, timeout=self.args.timeout)
        if not done.ok:
            return _outcome("FAILED", done, "no", done.error())
        return self.checked(done, job.target)

    def checked(self, done: data.Finished, target: data.Target) -> Outcome:
        """The run's outcome once its result is compared with the source."""
        ok, why = data.verify(target, self.source.expected)
        if not ok:
            return _outcome("FAILED", done, "no", why)
        return _outcome("ok", done, "yes")

    # floors ------------------------------------------------------------------------------
    def floor(self, key: str) -> Outcome:
        src = data.SRC_DB
        if key == "pg-copy":
            self.reset("postgres")
            data.pg_create_table(data.DST_DB)
            cmds = [data.psql(src, "-c", f"COPY {data.TABLE} TO STDOUT (FORMAT binary)"),
                    data.psql(data.DST_DB, "-c", f"COPY {data.TABLE} FROM STDIN (FORMAT binary)")]
            target = data.Target("postgres", data.DST_DB, data.TABLE, "public")
            return self.timed(peers.Job(cmds, dict(os.environ), target))
        if key == "pg-mysql-load":
            self.reset("mysql")
            data.my_create_table(data.DST_DB)
            target = data.Target("mysql", data.DST_DB, data.TABLE)
            job = peers.Job(data.pg_to_my_commands(src, data.DST_DB), dict(os.environ), target)
            return self.timed(job)
        if key == "pg-read":
            cmd = data.psql(src, "-c", f"COPY {data.TABLE} TO STDOUT (FORMAT binary)")
        else:
            cmd = data.mariadb(src, "--batch", "--quick", "-e", f"SELECT * FROM {data.TABLE}")
        self.settle()
        done = data.run_pipeline([cmd], timeout=self.args.timeout)
        if not done.ok:
            return _outcome("FAILED", done, "no", done.error())
        return _outcome("ok", done, "n/a")

    # tools -------------------------------------------------------------------------------
    def sluiceway(self, route: Route, readers: int | None = None,
                  src: str | None = None) -> Outcome:
        """One Sluiceway run; ``readers``: its source's parallel_readers; ``src``: the
        folder whose ``sluiceway`` package to run instead of this one (a baseline)."""
        self.reset(route.dest)
        workdir = self.fresh_dir(f"{route.key}-sluiceway")
        cmd = [sys.executable, "-m", "bench.run", "--child", route.key,
               "--workdir", str(workdir)]
        if readers is not None:
            cmd += ["--child-readers", str(readers)]
        env = dict(os.environ)
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
        job = peers.Job([cmd], env, sluiceway_target(route, workdir))
        done = data.run_pipeline(job.cmds, env=job.env, cwd=job.cwd, capture_stdout=True,
                                 timeout=self.args.timeout)
        report = _last_json(done.stdout)
        if done.codes == [SKIPPED_EXIT] and report.get("status") == "skipped":
            return Outcome("skipped", note=str(report.get("error")))
        if not done.ok:
            why = report.get("error") or done.error()
            return _outcome("FAILED", done, "no", str(why), report)
        out = self.checked(done, job.target)
        out.extra = {k: v for k, v in report.items() if k not in ("status", "error")}
        self.cleanup(workdir)
        return out

    def sluiceway_cli(self, route: Route, src: str | None = None) -> Outcome:
        """``sluiceway run pipeline.yaml`` as a user runs it at a terminal (progress drawn);
        ``src``: the folder whose ``sluiceway`` package to run instead (a baseline)."""
        self.reset(route.dest)
        workdir = self.fresh_dir(f"{route.key}-sluiceway-run")
        cmd = [sys.executable, "-m", "sluiceway.cli.main", "run",
               str(pipeline_file(route, workdir))]
        env = dict(os.environ, SLUICEWAY_DATA_DIR=str(workdir / "data"))
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
        done = data.run_pipeline([cmd], env=env, cwd=workdir, terminal_stderr=True,
                                 timeout=self.args.timeout)
        if not done.ok:
            return _outcome("FAILED", done, "no", done.error())
        out = self.checked(done, sluiceway_target(route, workdir))
        self.cleanup(workdir)
        return out

    def peer(self, name: str, route: Route) -> Outcome:
        peer = self.peers[name]
        self.reset(route.dest)
        workdir = self.fresh_dir(f"{route.key}-{name}")
        if name == "sling":
            job = peers.sling_job(peer, route.source, route.dest, workdir)
        elif name == "duckdb":
            job = peers.duckdb_job(peer, self.args.peer_python, route.dest, workdir)
        else:
            job = peers.dlt_job(self.args.peer_python, route.source, route.dest, workdir)
        out = self.timed(job)
        self.cleanup(workdir)
        return out

    def cleanup(self, workdir: Path) -> None:
        if not self.args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _outcome(status: str, done: data.Finished, verified: str, note: str = "",
             extra: dict[str, Any] | None = None) -> Outcome:
    return Outcome(status, done.seconds, done.memory, verified, note, extra or {},
                   done.cpu_s, done.server_cpu_s)


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


# --------------------------------------------------------------------------- report


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else format(value, spec) + suffix


PEERS = ("sling", "dlt", "duckdb")


def table_rows(rows: list[Row], routes: list[Route], source: data.Source) -> list[dict[str, Any]]:
    """The report's lines, with throughput and ratios, in display order."""
    by_key = {(r.route, r.tool): r for r in rows}
    tools = list(dict.fromkeys(r.tool for r in rows if r.route != "floor"))
    floor_rows = {k: by_key.get(("floor", f.tool)) for k, f in FLOORS.items()}
    out: list[dict[str, Any]] = []
    shown: set[str] = set()
    for route in routes:
        limit = floor_rows.get(route.limit)
        lines: list[tuple[str, Row | None]] = [("limit", limit)]
        if route.limit == "pg-copy" and "pg-read" not in shown:
            lines.append(("floor", floor_rows.get("pg-read")))
            shown.add("pg-read")
        lines += [("tool", by_key.get((route.key, t))) for t in tools]
        peer_s = {t: (by_key.get((route.key, t)) or Row("", "")).seconds for t in PEERS}
        limit_s = limit.seconds if limit else None
        for kind, row in lines:
            if row is None:
                continue
            s = row.seconds
            line: dict[str, Any] = {
                "route": route.title, "route_key": route.key, "tool": row.tool,
                "setting": row.setting, "status": row.status, "seconds": s, "runs": row.runs,
                "rows_per_s": source.rows / s if s else None,
                "mb_per_s": source.text_bytes / 1e6 / s if s else None,
                "peak_rss_mb": max(row.rss_mb) if row.rss_mb else None,
                "hwm_sum_mb": max(row.hwm_mb) if row.hwm_mb else None,
                "cpu_s": statistics.median(row.cpu_s) if row.cpu_s else None,
                "server_cpu_s": (statistics.median(row.server_cpu_s) if row.server_cpu_s
                                 else None),
                "cpu_runs": row.cpu_s, "server_cpu_runs": row.server_cpu_s,
                "x_limit": s / limit_s if s and limit_s else None,
                "verified": row.verified, "note": row.note, "extra": row.extra,
                "kind": kind,
            }
            for peer in PEERS:
                theirs = peer_s[peer]
                mine = row.tool == peer
                line[f"vs_{peer}"] = theirs / s if s and theirs and not mine else None
            out.append(line)
    return out


def print_report(lines: list[dict[str, Any]], source: data.Source,
                 peer_info: dict[str, peers.Peer]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=200)
    title = (f"{source.rows:,} rows, {source.text_bytes / 1e6:,.0f} MB as PostgreSQL text COPY "
             "(MB/s uses that size)")
    table = Table(title=title, show_lines=False)
    for name, justify in (("route", "left"), ("tool", "left"), ("seconds", "right"),
                          ("rows/s", "right"), ("MB/s", "right"), ("CPU s", "right"),
                          ("pg CPU s", "right"), ("peak RSS MB", "right"),
                          ("x limit", "right"), ("vs sling", "right"), ("vs dlt", "right"),
                          ("vs duckdb", "right"), ("verified", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    last_route = None
    for ln in lines:
        if last_route is not None and ln["route"] != last_route:
            table.add_section()
        last_route = ln["route"]
        if ln["status"] in ("skipped", "not installed"):
            table.add_row(ln["route"], ln["tool"], "-", "-", "-", "-", "-", "-", "-", "-",
                          "-", "-", ln["status"])
            continue
        failed = ln["status"] != "ok"
        verified = "FAILED" if failed else ln["verified"]
        seconds = "FAILED" if failed else _fmt(ln["seconds"], ".2f")
        table.add_row(
            ln["route"], ln["tool"], seconds, _fmt(ln["rows_per_s"], ",.0f"),
            _fmt(ln["mb_per_s"], ",.0f"), _fmt(ln["cpu_s"], ".1f"),
            _fmt(ln["server_cpu_s"], ".1f"), _fmt(ln["peak_rss_mb"], ",.0f"),
            _fmt(ln["x_limit"], ".2f", "x"), _fmt(ln["vs_sling"], ".2f", "x"),
            _fmt(ln["vs_dlt"], ".2f", "x"), _fmt(ln["vs_duckdb"], ".2f", "x"), verified)
    console.print(table)
    console.print("x limit: seconds / the route's limit row (lower is better). "
                  "vs sling / dlt / duckdb: the peer's seconds / this row's seconds "
                  "(above 1 = this row is faster).")
    for p in peer_info.values():
        state = p.missing or f"{p.version}: {p.setting}"
        console.print(f"{p.name}: {state}", markup=False, highlight=False)
    seen: set[tuple[str, str]] = set()
    for ln in lines:
        key = (ln["route"] if ln["kind"] == "tool" else "", ln["tool"])
        if not ln["note"] or key in seen:
            continue
        seen.add(key)
        where = f"{ln['route']} / {ln['tool']}" if ln["kind"] == "tool" else ln["tool"]
        console.print(f"{where}: {ln['status']}: {ln['note']}", markup=False, highlight=False)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of events")
    parser.add_argument("--routes", default=",".join(ROUTES),
                        help=f"comma list of {', '.join(ROUTES)}")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; median reported")
    parser.add_argument("--skip-peers", action="store_true", help="do not run Sling and dlt")
    parser.add_argument("--tools", default=",".join(TOOL_KEYS),
                        help=f"comma list of {', '.join(TOOL_KEYS)} (default: all)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases and output files afterwards")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--peer-python", default=None,
                        help="interpreter with the peers installed "
                             "(default: .venv-bench/bin/python if present, else this one)")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds before one run is killed")
    parser.add_argument("--readers", default="",
                        help="comma list of parallel_readers for the source, one Sluiceway "
                             "row each: a number, 'default' (unset: the source chooses) or "
                             "'stream' (one stream, no key ranges); default: 'default'")
    parser.add_argument("--baseline-src", default=None,
                        help="also run the sluiceway package found in this folder (e.g. an "
                             "earlier commit's src/), as the row 'sluiceway (baseline)'")
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-readers", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer_python is None:
        args.peer_python = str(DEFAULT_PEER_PYTHON if DEFAULT_PEER_PYTHON.exists()
                               else Path(sys.executable))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args.child, args.workdir, args.child_readers)
    wanted = [r.strip() for r in args.routes.split(",") if r.strip()]
    unknown = [r for r in wanted if r not in ROUTES]
    if unknown:
        print(f"unknown routes {unknown}; choose from {', '.join(ROUTES)}", file=sys.stderr)
        return 2
    routes = [ROUTES[r] for r in wanted]
    readers = [None if n.strip() == "default" else 0 if n.strip() == "stream" else int(n)
               for n in args.readers.split(",") if n.strip()]
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} cpus"
          + ("  (busy machine: figures will be noisy)" if load > 1.5 else ""))

    mysql_ok = data.available("mariadb")
    if mysql_ok:
        try:
            data.my_query("SELECT 1")
        except data.BenchError as exc:
            mysql_ok = False
            print(f"MariaDB not reachable, mysql routes skipped: {exc}")
    source = data.ensure_pg_source(args.rows)
    if mysql_ok and any("mysql" in (r.source, r.dest) for r in routes):
        try:
            data.ensure_my_source(source)
        except data.BenchError as exc:
            mysql_ok = False
            print(f"MariaDB source could not be built, mysql routes skipped: {exc}")
    peer_info = {} if args.skip_peers else peers.detect(args.peer_python)

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sw-bench-"))
    bench = Bench(args, source, workdir, peer_info)
    rows: dict[tuple[str, str], Row] = {}

    def row(route: str, tool: str, setting: str = "") -> Row:
        return rows.setdefault((route, tool), Row(route, tool, setting))

    tools = {t.strip() for t in args.tools.split(",")}
    floors = [k for k in FLOORS if any(r.limit == k for r in routes)] if "limits" in tools else []
    if "pg-copy" in floors:
        floors.insert(floors.index("pg-copy") + 1, "pg-read")
    steps: list[tuple[Row, Callable[[], Outcome]]] = []
    for key in floors:
        r = row("floor", FLOORS[key].tool)
        if FLOORS[key].needs_mysql and not mysql_ok:
            r.status, r.note = "skipped", "MariaDB not reachable"
            continue
        steps.append((r, functools.partial(bench.floor, key)))
    for route in routes:
        needs_mysql = "mysql" in (route.source, route.dest)
        runs: list[tuple[str, int | None, str | None]] = [
            ("sluiceway, default readers" if n is None else "sluiceway, one stream"
             if n == 0 else f"sluiceway, {n} reader{'s' if n > 1 else ''}", n, None)
            for n in readers
        ] or [("sluiceway", None, None)]
        if args.baseline_src:
            runs.append(("sluiceway (baseline)", None, args.baseline_src))
        if "engine" in tools:
            for tool, n, src in runs:
                r = row(route.key, tool, "full_refresh + overwrite, default Options()")
                if needs_mysql and not mysql_ok:
                    r.status, r.note = "skipped", "MariaDB not reachable"
                else:
                    steps.append((r, functools.partial(bench.sluiceway, route, n, src)))
        if "cli" in tools:
            for tool, src in [(CLI_TOOL, None)] + (
                    [(f"{CLI_TOOL} (baseline)", args.baseline_src)] if args.baseline_src else []):
                r = row(route.key, tool, "sluiceway run pipeline.yaml, at a terminal")
                if needs_mysql and not mysql_ok:
                    r.status, r.note = "skipped", "MariaDB not reachable"
                else:
                    steps.append((r, functools.partial(bench.sluiceway_cli, route, src)))
        for name, peer in peer_info.items():
            if name not in tools or route.key not in peers.PEER_ROUTES.get(name, (route.key,)):
                continue
            r = row(route.key, name, peer.setting)
            if peer.missing:
                r.status, r.note = "not installed", peer.missing
            elif needs_mysql and not mysql_ok:
                r.status, r.note = "skipped", "MariaDB not reachable"
            else:
                steps.append((r, functools.partial(bench.peer, name, route)))

    try:
        for rep in range(args.repeat):
            for r, step in steps:
                if r.status == "skipped":
                    continue
                try:
                    out = step()
                except data.BenchError as exc:
                    out = Outcome("FAILED", verified="no", note=str(exc))
                r.add(out)
                label = "" if args.repeat == 1 else f" (run {rep + 1}/{args.repeat})"
                what = f"{out.seconds:7.2f}s" if out.status != "skipped" else "skipped"
                if out.cpu_s is not None:
                    what += f" cpu {out.cpu_s:5.1f}s"
                if out.server_cpu_s is not None:
                    what += f" pg {out.server_cpu_s:5.1f}s"
                what += f" load {os.getloadavg()[0]:.1f}"
                print(f"  {r.route:<10} {r.tool:<44} {what}  {out.status}"
                      f"{': ' + out.note[:300] if out.note else ''}{label}", flush=True)
    finally:
        if not args.keep:
            data.drop_all()
            if mysql_ok:
                data.my_drop_db(peers.DLT_DATASET)
            if not args.workdir:
                shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept databases {data.SRC_DB}, {data.DST_DB} and files in {workdir}")

    lines = table_rows(list(rows.values()), routes, source)
    print_report(lines, source, peer_info)
    if args.json:
        report = {
            "rows": source.rows, "text_copy_bytes": source.text_bytes,
            "mb_definition": "MB = 1e6 bytes of the table as PostgreSQL text COPY",
            "expected": {k: str(v) for k, v in asdict(source.expected).items()},
            "repeat": args.repeat, "load_average_at_start": load,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "peers": {k: asdict(v) for k, v in peer_info.items()},
            "results": lines,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=str))
        print(f"wrote {args.json}")
    return 0 if all(ln["status"] in ("ok", "skipped", "not installed") for ln in lines) else 1


if __name__ == "__main__":
    sys.exit(main())

"""How the peers, Sling and dlt, are run on each route, and where their results land.

Both run in their own process: Sling as the binary that the ``sling-linux-amd64`` wheel
carries (its ``sling`` wrapper package downloads the binary, which fails offline), dlt as
``python -m bench.peers dlt ...`` under the peers' interpreter (``.venv-bench`` when present).
This module imports only the standard library at import time, so it runs under either venv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
INSTALL_HINT = "not installed (pip install -e '.[bench]')"
DLT_DATASET = "dlt_bench"
SLING_TABLE = "events_sling"

SLING_SETTING = ("sling binary, `sling run --mode full-refresh`, SLING_DUCKDB_COMPUTE=false, "
                 "default options otherwise")
DUCKDB_SETTING = ("DuckDB's postgres extension (from PyPI, LOADed from its file): "
                  "COPY (FROM postgres_scan(...)) TO parquet / CREATE TABLE AS, default "
                  "threads (parallel ctid-range reads)")
#: the routes each peer can run (absent: all)
PEER_ROUTES = {"duckdb": ("pg-parquet", "pg-duckdb")}
DLT_SETTING = ("dlt sql_table(backend='connectorx') + loader_file_format='parquet' "
               "(PostgreSQL destination loads parquet through ADBC COPY), replace")

# dlt's PostgreSQL credentials want a password; the server trusts local connections, so any
# password does
_DLT_PG_PASSWORD = "bench"


@dataclass(frozen=True)
class Peer:
    name: str
    setting: str
    version: str = ""
    missing: str = ""  # why it cannot run ("" when it can)
    binary: str = ""  # sling: the executable
    duckdb_cli: str = ""  # sling: the DuckDB CLI it drives (from the duckdb-cli wheel)
    duckdb_extensions: tuple[str, ...] = ()  # ...and extension files (duckdb-extension-*)
    extension: str = ""  # duckdb: the postgres extension file it LOADs


@dataclass(frozen=True)
class Job:
    """One peer run: the commands to time, their environment, and where the rows land."""

    cmds: list[list[str]]
    env: dict[str, str]
    target: data.Target
    cwd: Path = ROOT


def _sling_package() -> str:
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    return f"sling_{platform.system().lower()}_{arch}"


def _probe(python: str, code: str) -> tuple[bool, str]:
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True,
                              check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return done.returncode == 0, (done.stdout if done.returncode == 0 else done.stderr).strip()


# The DuckDB CLI of the duckdb-cli wheel and the extension files of duckdb-extension-* wheels
_DUCKDB_CLI_PROBE = """
import importlib.util, json, pathlib, sys
spec = importlib.util.find_spec("duckdb_cli")
cli = pathlib.Path(spec.origin).parent / "duckdb" if spec and spec.origin else None
dirs = [pathlib.Path(p) for p in sys.path if p.endswith("site-packages")]
pattern = "duckdb_extension_*/extensions/v*/*.duckdb_extension"
exts = sorted(str(f) for d in dirs for f in d.glob(pattern))
print(json.dumps({"cli": str(cli) if cli and cli.is_file() else "", "extensions": exts}))
"""


# DuckDB and the file of its postgres extension from a duckdb-ext-postgres (duckdb_ext/...)
# or duckdb-extension-postgres (duckdb_extension_postgres/...) wheel of the same version
_DUCKDB_PG_PROBE = """
import json, pathlib, sys
import duckdb
version = duckdb.__version__
dirs = [pathlib.Path(p) for p in sys.path if p.endswith("site-packages")]
found = [f for d in dirs for pattern in (
    f"duckdb_ext/extensions/v{version}/*/postgres_scanner.duckdb_extension",
    f"duckdb_extension_postgres*/extensions/v{version}/postgres*.duckdb_extension")
    for f in d.glob(pattern)]
print(json.dumps({"version": version, "extension": str(found[0]) if found else ""}))
"""


def detect(peer_python: str) -> dict[str, Peer]:
    """Which peers can run, with their versions, without running them."""
    peers: dict[str, Peer] = {}
    package = _sling_package()
    ok, out = _probe(peer_python, (
        "import importlib.util, pathlib; "
        f"spec = importlib.util.find_spec({package!r}); "
        "print(pathlib.Path(spec.origin).parent if spec and spec.origin else '')"))
    folder = Path(out) if ok and out else None
    binary = folder / "bin" / package.replace("_", "-") if folder else None
    if binary is None or not binary.is_file():
        peers["sling"] = Peer("sling", SLING_SETTING, missing=INSTALL_HINT)
    else:
        version_file = binary.parent / "VERSION"
        version = version_file.read_text().strip() if version_file.is_file() else "?"
        ok, out = _probe(peer_python, _DUCKDB_CLI_PROBE)
        found: dict[str, Any] = json.loads(out) if ok else {"cli": "", "extensions": []}
        peers["sling"] = Peer("sling", SLING_SETTING, version, binary=str(binary),
                              duckdb_cli=found["cli"],
                              duckdb_extensions=tuple(found["extensions"]))
    ok, out = _probe(peer_python, _DUCKDB_PG_PROBE)
    found_pg: dict[str, str] = json.loads(out.splitlines()[-1]) if ok else {}
    if found_pg.get("extension"):
        peers["duckdb"] = Peer("duckdb", DUCKDB_SETTING, found_pg["version"],
                               extension=found_pg["extension"])
    else:
        peers["duckdb"] = Peer("duckdb", DUCKDB_SETTING, missing=(
            "not installed (pip install duckdb==1.4.4 duckdb-ext-postgres==1.4.4.*, or the "
            "duckdb-extension-postgres wheel of the installed duckdb)"))
    ok, out = _probe(peer_python, "import dlt, connectorx; print(dlt.__version__)")
    if ok:
        peers["dlt"] = Peer("dlt", DLT_SETTING, out.splitlines()[-1])
    else:
        peers["dlt"] = Peer("dlt", DLT_SETTING, missing=INSTALL_HINT)
    return peers


# --------------------------------------------------------------------------- Sling

def _sling_url(kind: str, db: str) -> str:
    if kind == "postgres":
        return data.pg_url(db) + "?sslmode=disable"
    return data.my_url(db)


def sling_job(peer: Peer, source: str, dest: str, workdir: Path) -> Job:
    env = dict(os.environ, SLING_DISABLE_TELEMETRY="true", SLING_DUCKDB_COMPUTE="false",
               SLING_HOME_DIR=str(workdir / "sling_home"),
               SW_BENCH_SRC=_sling_url(source, data.SRC_DB))
    stream = f"public.{data.TABLE}" if source == "postgres" else f"{data.SRC_DB}.{data.TABLE}"
    cmd = [peer.binary, "run", "--src-conn", "SW_BENCH_SRC", "--src-stream", stream]
    if dest == "file":
        folder = workdir / "sling_parquet"
        folder.mkdir(parents=True, exist_ok=True)
        cmd += ["--tgt-object", (folder / f"{data.TABLE}.parquet").as_uri()]
        target = data.Target("parquet", folder=str(folder))
    elif dest == "duckdb":
        if peer.duckdb_cli:
            env.update(_duckdb_cli_env(peer, workdir / "sling_home"))
        path = workdir / "sling.duckdb"
        env["SW_BENCH_DST"] = f"duckdb://{path}"
        cmd += ["--tgt-conn", "SW_BENCH_DST", "--tgt-object", f"main.{SLING_TABLE}"]
        target = data.Target("duckdb", str(path), SLING_TABLE)
    elif dest == "postgres":
        env["SW_BENCH_DST"] = _sling_url("postgres", data.DST_DB)
        cmd += ["--tgt-conn", "SW_BENCH_DST", "--tgt-object", f"public.{SLING_TABLE}"]
        target = data.Target("postgres", data.DST_DB, SLING_TABLE, "public")
    else:
        env["SW_BENCH_DST"] = _sling_url("mysql", data.DST_DB)
        cmd += ["--tgt-conn", "SW_BENCH_DST", "--tgt-object", f"{data.DST_DB}.{SLING_TABLE}"]
        target = data.Target("mysql", data.DST_DB, SLING_TABLE)
    cmd += ["--mode", "full-refresh"]
    return Job([cmd], env, target)


def _duckdb_cli_env(peer: Peer, home: Path) -> dict[str, str]:
    """Point Sling at the DuckDB CLI and extensions that pip installed.

    Sling drives the DuckDB CLI, which it downloads unless DUCKDB_PATH names one; the CLI
    in turn downloads its json extension unless it finds it under ``$HOME/.duckdb``.
    """
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    for ext in map(Path, peer.duckdb_extensions):
        folder = home / ".duckdb" / "extensions" / ext.parent.name / f"linux_{arch}"
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / ext.name).exists():
            (folder / ext.name).symlink_to(ext)
    done = subprocess.run([peer.duckdb_cli, "--version"], capture_output=True, text=True,
                          check=False)
    version = done.stdout.split()[0].lstrip("v") if done.stdout.split() else ""
    env = {"DUCKDB_PATH": peer.duckdb_cli, "HOME": str(home)}
    if version:
        env["DUCKDB_VERSION"] = version
    return env


# --------------------------------------------------------------------------- DuckDB


def duckdb_job(peer: Peer, peer_python: str, dest: str, workdir: Path) -> Job:
    cmd = [peer_python, "-m", "bench.peers", "duckdb", "--source", "postgres", "--dest", dest,
           "--workdir", str(workdir), "--extension", peer.extension]
    if dest == "duckdb":
        target = data.Target("duckdb", str(workdir / "duck.duckdb"), data.TABLE)
    else:
        target = data.Target("parquet", folder=str(workdir / "duck_parquet"))
    return Job([cmd], dict(os.environ), target)


def run_duckdb(dest: str, workdir: Path, extension: str) -> None:
    """The DuckDB child: its postgres extension reads the table, DuckDB writes it."""
    import duckdb

    dsn = f"host={data.PG_HOST} port={data.PG_PORT} user={data.PG_USER} dbname={data.SRC_DB}"
    scan = f"postgres_scan('{dsn}', 'public', '{data.TABLE}')"
    if dest == "duckdb":
        con = duckdb.connect(str(workdir / "duck.duckdb"))
    else:
        con = duckdb.connect()
    # DuckDB finds an extension's entry point by its file's name: the duckdb-extension-
    # postgres wheel names the file postgres.duckdb_extension, the extension inside is
    # postgres_scanner (loaded as it is, it fails: no 'postgres_duckdb_cpp_init')
    named = workdir / "postgres_scanner.duckdb_extension"
    if Path(extension).name != named.name:
        if not named.is_symlink():  # resolved: a relative path would point from workdir
            named.symlink_to(Path(extension).resolve())
        extension = str(named)
    con.execute(f"LOAD '{extension}'")
    if dest == "duckdb":
        con.execute(f"CREATE TABLE {data.TABLE} AS FROM {scan}")
    else:
        folder = workdir / "duck_parquet"
        folder.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY (FROM {scan}) TO '{folder / (data.TABLE + '.parquet')}' "
                    "(FORMAT parquet)")
    con.close()
    print(json.dumps({"status": "succeeded", "duckdb": duckdb.__version__}))


# --------------------------------------------------------------------------- dlt

def dlt_target(dest: str, workdir: Path) -> data.Target:
    if dest == "postgres":
        return data.Target("postgres", data.DST_DB, data.TABLE, DLT_DATASET)
    if dest == "duckdb":
        return data.Target("duckdb", str(workdir / "dlt.duckdb"), data.TABLE, DLT_DATASET)
    if dest == "file":
        return data.Target("parquet", folder=str(workdir / "dlt_files" / DLT_DATASET / data.TABLE))
    return data.Target("mysql", DLT_DATASET, data.TABLE)


def dlt_job(peer_python: str, source: str, dest: str, workdir: Path) -> Job:
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false",
               DLT_DATA_DIR=str(workdir / "dlt_home"))
    cmd = [peer_python, "-m", "bench.peers", "dlt", "--source", source, "--dest", dest,
           "--workdir", str(workdir)]
    return Job([cmd], env, dlt_target(dest, workdir))


def run_dlt(source: str, dest: str, workdir: Path) -> None:
    """The dlt child: one pipeline run, the way dlt's docs recommend for speed."""
    import dlt
    from dlt.sources.sql_database import sql_table

    if source == "postgres":
        # SQLAlchemy (for reflection) through psycopg2; ConnectorX reads the rows
        url = data.pg_url(data.SRC_DB, "postgresql+psycopg2", password=_DLT_PG_PASSWORD)
        table = sql_table(credentials=url,
                          table=data.TABLE, schema="public", backend="connectorx")
    else:
        table = sql_table(credentials=data.my_url(data.SRC_DB, "mysql+pymysql"),
                          table=data.TABLE, backend="connectorx")
    if dest == "postgres":
        destination = dlt.destinations.postgres(
            credentials=data.pg_url(data.DST_DB, password=_DLT_PG_PASSWORD))
    elif dest == "duckdb":
        destination = dlt.destinations.duckdb(credentials=str(workdir / "dlt.duckdb"))
    elif dest == "file":
        destination = dlt.destinations.filesystem(bucket_url=(workdir / "dlt_files").as_uri())
    else:
        # the dataset becomes a MariaDB database of its own
        destination = dlt.destinations.sqlalchemy(
            credentials=data.my_url(data.DST_DB, "mysql+pymysql"))
    pipeline = dlt.pipeline(pipeline_name=f"sw_bench_{source}_{dest}", destination=destination,
                            dataset_name=DLT_DATASET,
                            pipelines_dir=str(workdir / "dlt_pipelines"))
    info = pipeline.run(table, write_disposition="replace", loader_file_format="parquet")
    info.raise_on_failed_jobs()
    print(json.dumps({"status": "succeeded", "dlt": dlt.__version__}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bench peer child (used by bench.run)")
    parser.add_argument("peer", choices=["dlt", "duckdb"])
    parser.add_argument("--source", required=True, choices=["postgres", "mysql"])
    parser.add_argument("--dest", required=True, choices=["postgres", "file", "duckdb", "mysql"])
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--extension", default="")
    args = parser.parse_args(argv)
    if args.peer == "duckdb":
        run_duckdb(args.dest, args.workdir, args.extension)
    else:
        run_dlt(args.source, args.dest, args.workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time a route: entities from a PostgreSQL table, through transformers, into another
PostgreSQL table, every entity a task in PostgreSQL metadata, with change detection on.

    python -m bench.routes [--rows 1000000] [--profile] [--keep]

It makes two fresh PostgreSQL databases (127.0.0.1:5432, user ``postgres``; named after
``SW_BENCH_DB_PREFIX``, as :mod:`bench.run`'s are, and dropped afterwards): the metadata
(migrated by the app) and the data, whose table ``orders`` it fills with ``--rows`` rows
(``id``, ``sku``, ``name``, ``qty``, ``price``; every tenth order has ``qty = 0``).
Through the platform API (in process, no socket) it saves the route ``orders``:
the incoming ``orders`` (identifier ``id``), the transformers ``rename`` (``name`` ->
``customer``), ``jsonata`` (``$uppercase(sku) & "/" & id`` into ``code``) and ``filter``
(``qty > 0``, which drops 10 %), the outgoing ``orders_out`` upserted on ``id``, and change
detection in the storage ``seen``. Then it runs the route twice, each time in a worker
process of its own (the job system's inline executor, as ``sluiceway worker`` runs a job):
the first run writes every entity, the second finds none changed. For each run it prints
the wall time (the worker's, from its start to its end), the entities per second, the tasks
and rows written, the CPU time of the worker (its rate per CPU-second tells what the
machine's load hides) and of the PostgreSQL backends that served it, and the peak RSS of the
worker's process tree (sampled, :mod:`bench.measure`).

The PostgreSQL backends serving the run are given the benchmark's own priority when the
system allows it (run it as ``nice -n -10 python -m bench.routes`` on a busy machine).
``--profile`` runs each run under cProfile and prints the functions that took longest (the
chunks are then read and transformed in the run's own thread, so that it sees them).
The issue's aims: at least 20,000 entities/s, peak RSS under 300 MB, the second run at three
times the first's rate. A benchmark, not a test; the machine's load average is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.data import DB_PREFIX  # noqa: E402
from bench.measure import TreeSampler  # noqa: E402
from sluiceway.bootstrap import create_app  # noqa: E402
from sluiceway.core.settings import Settings  # noqa: E402
from sluiceway.jobs.executors.inline import InlineExecutor  # noqa: E402
from sluiceway.jobs.kinds import route  # noqa: E402
from sluiceway.services.platform import Platform  # noqa: E402
from sluiceway.store.db import Database  # noqa: E402
from sluiceway.store.models import Attempt, Job, Task  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = os.environ.get("SLUICEWAY_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway database's admin
ADMIN = ("admin", ADMIN_PASSWORD)
URL = "/api/v1/di/configurations"


@contextmanager
def _database(kind: str) -> Iterator[str]:
    """A fresh database's name."""
    name = f"{DB_PREFIX}_route_{kind}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fill(dbname: str, rows: int) -> None:
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={dbname}",
                         autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, sku text NOT NULL, "
                     "name text NOT NULL, qty integer NOT NULL, price double precision)")
        conn.execute("INSERT INTO orders SELECT g, 'sku-' || g, 'customer ' || (g %% 5000), "
                     "CASE WHEN g %% 10 = 0 THEN 0 ELSE g %% 7 + 1 END, (g %% 1000) / 8.0 "
                     "FROM generate_series(1, %s) g", (rows,))
        conn.execute("VACUUM ANALYZE orders")


def _save(client: TestClient, type_: str, identifier: str, prototype: str,
          parameters: dict[str, Any]) -> None:
    r = client.post(URL, params={"space": "default"}, auth=ADMIN, json={
        "type": type_, "identifier": identifier, "name": identifier,
        "object": {"prototype": prototype, "parameters": parameters}})
    if r.status_code != 200:
        raise SystemExit(f"saving {type_} {identifier}: {r.status_code} {r.text}")


def _route(client: TestClient, data: str) -> None:
    connection = {"host": "127.0.0.1", "port": 5432, "database": data,
                  "username": "postgres"}
    _save(client, "storage", "seen", "storage", {"ttlSeconds": None})
    _save(client, "incoming-configuration", "orders-in", "postgres", {
        "configuration": connection, "stream": "orders", "identifierField": "id"})
    _save(client, "outgoing-configuration", "orders-out", "postgres", {
        "configuration": {**connection, "schema": "public"}, "stream": "orders_out",
        "key": ["id"]})
    _save(client, "transformer", "customer", "rename", {"mapping": {"name": "customer"}})
    _save(client, "transformer", "code", "jsonata",
          {"expression": '$uppercase(sku) & "/" & id', "target": "code"})
    _save(client, "transformer", "in-stock", "filter",
          {"conditions": [{"key": "qty", "op": "gt", "value": 0}]})
    _save(client, "route-configuration", "orders", "route", {
        "incoming": "orders-in", "outgoing": "orders-out",
        "transformers": ["customer", "code", "in-stock"],
        "changeDetection": {"storage": "seen"}})


class BackendCpu:
    """The CPU time of the PostgreSQL backends serving some databases, sampled from
    ``/proc`` (Linux, the server on this machine) until :meth:`stop`. Each backend is given
    this process's priority (``nice``) when the system allows it, so that a benchmark run
    under ``nice -n -10`` on a busy machine has its database work at that priority too."""

    def __init__(self, databases: list[str], interval: float = 0.5) -> None:
        self.databases, self.interval = databases, interval
        self.seconds: dict[int, float] = {}
        self.priority = os.getpriority(os.PRIO_PROCESS, 0)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            while True:
                pids = [r[0] for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)",
                    (self.databases,)).fetchall()]
                for pid in pids:
                    if pid not in self.seconds:
                        with contextlib.suppress(OSError):
                            os.setpriority(os.PRIO_PROCESS, pid, self.priority)
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
                if self._done.wait(self.interval):
                    return

    def stop(self) -> float | None:
        self._done.set()
        self._thread.join()
        return sum(self.seconds.values()) if sys.platform.startswith("linux") else None


def _worker(profile: bool) -> None:
    """Run the due jobs in this process (the settings come from the environment)."""
    settings = Settings()
    db = Database(settings.database_url)
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        # cProfile sees one thread: the chunks are read and transformed in the loop's
        route._ahead = iter  # type: ignore[assignment]
        profiler.enable()
    InlineExecutor(settings, db).run_pending()
    if profiler is not None:
        profiler.disable()
        for order, count in (("cumulative", 35), ("tottime", 25)):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(count)
            print(out.getvalue())
        out = io.StringIO()  # who waits on the metadata and data databases
        pstats.Stats(profiler, stream=out).print_callers(r"psycopg.*\(wait\)|execute_send")
        print(out.getvalue())


def _run(client: TestClient, p: Platform, profile: bool, databases: list[str],
         ) -> dict[str, Any]:
    r = client.post("/api/v1/queue/publish", params={"space": "default"}, auth=ADMIN, json={
        "job": {"queue": "default", "priority": 0,
                "commands": [{"command": "route:run", "arguments": {"route": "orders"}}]}})
    if r.status_code != 200:
        raise SystemExit(f"publishing the route: {r.status_code} {r.text}")
    with p.db.session() as s:
        tasks_before = int(s.scalar(select(func.count(Task.id))) or 0)
    env = {**os.environ, "SLUICEWAY_DATABASE_URL": p.settings.database_url,
           "SLUICEWAY_DATA_DIR": str(p.settings.data_dir),
           "SLUICEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD, "SLUICEWAY_LEASE_SECONDS": "60",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    start = time.perf_counter()
    worker = subprocess.Popen([sys.executable, "-m", "bench.routes", "--worker",
                               *(["--profile"] if profile else [])], env=env)
    sampler = TreeSampler([worker.pid], interval=0.2)
    backends = BackendCpu(databases)
    _, status, usage = os.wait4(worker.pid, 0)
    worker.returncode = code = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    memory = sampler.stop()
    server = backends.stop()
    with p.db.session() as s:
        job = s.scalars(select(Job).where(Job.config_type == "route")
                        .order_by(Job.id.desc())).first()
        tasks = int(s.scalar(select(func.count(Task.id))) or 0) - tasks_before
        attempt = s.scalars(select(Attempt).where(Attempt.job_id == (job.id if job else 0))
                            .order_by(Attempt.id.desc())).first()
        job_seconds = (attempt.ended_at - attempt.created_at
                       if attempt is not None and attempt.ended_at else None)
    if code != 0 or job is None or job.status != "succeeded":
        raise SystemExit(f"the route run did not succeed: {job and job.status} "
                         f"{job and job.error}")
    return {"seconds": seconds, "job_seconds": job_seconds,
            "cpu": usage.ru_utime + usage.ru_stime, "server_cpu": server,
            "output": dict(job.output or {}), "tasks": tasks,
            "peak_mb": memory.peak_mb, "hwm_mb": memory.hwm_mb}


def _rows_out(data: str) -> int:
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={data}") as conn:
        row = conn.execute("SELECT count(*) FROM orders_out").fetchone()
        return int(row[0]) if row else 0


def _report(name: str, rows: int, got: dict[str, Any], written: int) -> float:
    rate = rows / got["seconds"]
    out = got["output"]
    peak = "n/a" if got["peak_mb"] is None else f"{got['peak_mb']:.0f} MB"
    job = got["job_seconds"]
    print(f"{name}: {got['seconds']:.1f} s ({job or 0:.1f} s in the job, the rest the "
          f"worker's start), {rate:,.0f} entities/s; read {out.get('read')}, "
          f"finished {out.get('finished')}, skipped {out.get('skipped')}, failed "
          f"{out.get('failed')}, unchanged {out.get('unchanged')}; {got['tasks']} tasks "
          f"recorded, {written} rows in orders_out; peak RSS {peak}; the worker's CPU "
          f"{got['cpu']:.1f} s ({rows / got['cpu']:,.0f} entities per CPU-second), the "
          f"PostgreSQL backends' {got['server_cpu'] or 0:.1f} s", flush=True)
    return rate


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; the figures of both runs (``first``, ``second``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--profile", action="store_true", help="cProfile both runs")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args.profile)
        return {}
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} "
          f"{os.getloadavg()[2]:.1f}, {os.cpu_count()} CPUs, {args.rows:,} entities",
          flush=True)
    with _database("meta") as meta, _database("data") as data, \
            tempfile.TemporaryDirectory() as tmp:
        _fill(data, args.rows)
        settings = Settings(data_dir=Path(tmp) / "data", database_url=f"{PG_URL}/{meta}",
                            admin_password=ADMIN_PASSWORD, lease_seconds=60)
        app = create_app(settings, run_jobs=False)
        try:
            with TestClient(app) as client:
                p: Platform = client.app.state.platform  # type: ignore[attr-defined]
                _route(client, data)
                first = _run(client, p, args.profile, [meta, data])
                rate = _report("first run", args.rows, first, _rows_out(data))
                second = _run(client, p, args.profile, [meta, data])
                again = _report("second run (no change)", args.rows, second,
                                _rows_out(data))
                print(f"second/first rate: {again / rate:.2f}x; load average now "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
                return {"first": first, "second": second, "rows_out": _rows_out(data)}
        finally:
            app.state.platform.close()


if __name__ == "__main__":
    main()

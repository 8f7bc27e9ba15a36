"""Time the web UI's pages over a big space: many connections and many jobs.

    python -m bench.ui_pages [--connections 1000] [--jobs 100] [--actors 50] [--repeat 11]
                             [--backends postgresql]

For each metadata backend (a fresh PostgreSQL database on 127.0.0.1:5432, user
``postgres``, dropped afterwards; or a SQLite file) it makes ``--connections`` connections
(as :mod:`bench.connections_list` does) with ``--jobs`` finished sync jobs each (one attempt
each, inserted in bulk), signs in through the sign-in form and times each main page in
process (ASGI, no socket): the first call, then the median and 90th percentile wall time
and the page's size. A benchmark, not a test; the issue's aim is every page under 300 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from bench.connections_list import AUTH, _metadata, _populate, _time  # noqa: E402
from sluiceway.bootstrap import create_app  # noqa: E402
from sluiceway.core.settings import Settings  # noqa: E402
from sluiceway.jobs import ledger, run_days  # noqa: E402
from sluiceway.store.db import now  # noqa: E402
from sluiceway.store.models import Actor, Connection, Job  # noqa: E402


def _jobs(client: TestClient, ws: str, per_connection: int) -> int:
    """``per_connection - 1`` more finished sync jobs per connection, in bulk, one attempt
    each (the populate step made one); how many jobs there are then."""
    db = client.app.state.platform.db  # type: ignore[attr-defined]
    t = now() - 29 * 86_400
    with db.session() as s:
        ids = list(s.scalars(select(Connection.id)))
        rows = [{"workspace_id": ws, "config_type": "sync", "scope": cid,
                 "status": "failed" if k % 10 == 9 else "succeeded", "priority": 0,
                 "input": {}, "max_attempts": 3, "cancel_requested": False, "progress": 1.0,
                 "scheduled_at": t, "created_at": t + k * 600, "updated_at": t + k * 600 + 30}
                for cid in ids for k in range(per_connection - 1)]
        for i in range(0, len(rows), 5000):
            s.execute(insert(Job), rows[i:i + 5000])
        s.execute(text(
            "INSERT INTO attempts (job_id, number, status, records_synced, bytes_synced, "
            "created_at, updated_at, ended_at) SELECT j.id, 1, j.status, 1000, 100000, "
            "j.created_at, j.updated_at, j.updated_at FROM jobs j WHERE NOT EXISTS "
            "(SELECT 1 FROM attempts a WHERE a.job_id = j.id)"))
        total = int(s.scalar(text("SELECT count(*) FROM jobs")) or 0)
        run_days.rebuild(s)  # what the ledger adds to when an attempt ends, for these rows
    if db.dialect == "postgresql":  # the statistics a server that grew this big would have
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return total


def _end_a_run(client: TestClient, ws: str, connection_id: str) -> None:
    """One more sync of a connection, started and ended through the ledger (no worker):
    what a page reads after a run ended."""
    p = client.app.state.platform  # type: ignore[attr-defined]
    job = ledger.enqueue_in(p.db, workspace_id=ws, config_type="sync", scope=connection_id,
                            max_attempts=1)
    attempt = ledger.claim(p.db, "bench", None, 60.0, job_id=job.id)
    assert attempt is not None
    ledger.finish(p.db, attempt.id, "succeeded", settings=p.settings, records=10, bytes_=10)


def _sign_in(client: TestClient) -> None:
    page = client.get("/ui/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    r = client.post("/ui/login", data={"csrf": token.group(1), "login": AUTH[0],
                                       "password": AUTH[1]}, follow_redirects=False)
    if r.status_code != 303:
        raise SystemExit(f"sign-in answered {r.status_code}")


def _getter(client: TestClient, path: str):  # type: ignore[no-untyped-def]
    def call() -> bytes:
        r = client.get(path, follow_redirects=False)
        if r.status_code != 200:
            raise SystemExit(f"{path} answered {r.status_code}: {r.text[:300]}")
        return r.content
    return call


def run(backend: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="sw-bench-") as tmp, \
            _metadata(backend, Path(tmp)) as url:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=url,
                            admin_password=AUTH[1])
        app = create_app(settings, run_jobs=False)
        with TestClient(app) as client:
            t0 = time.perf_counter()
            ws = _populate(client, args.connections, args.actors, 1)
            jobs = _jobs(client, ws, args.jobs)
            print(f"{backend}: {args.connections} connections, {jobs} jobs made in "
                  f"{time.perf_counter() - t0:.1f} s")
            db = client.app.state.platform.db  # type: ignore[attr-defined]
            with db.session() as s:
                conn = s.scalars(select(Connection.id).limit(1)).one()
                source = s.scalars(select(Actor.id).where(Actor.kind == "source")
                                   .limit(1)).one()
                job = s.scalars(select(Job.id).where(Job.scope == conn)
                                .order_by(Job.id.desc()).limit(1)).one()
            _sign_in(client)
            pages = [("overview", "/ui/"), ("overview, page 10", "/ui/?p=10"),
                     ("overview, search", "/ui/?q=connection+99"),
                     ("connection", f"/ui/connections/{conn}"),
                     ("connection, progress part", f"/ui/connections/{conn}/progress"),
                     ("job log", f"/ui/connections/{conn}/jobs/{job}"),
                     ("sources", "/ui/sources"), ("source", f"/ui/sources/{source}"),
                     ("new connection (no discover)", "/ui/connections/new"),
                     ("exports", "/ui/exports"), ("imports", "/ui/imports"),
                     ("dumps", "/ui/dumps"), ("backups", "/ui/backups"),
                     ("configurations", "/ui/configurations"), ("tasks", "/ui/tasks"),
                     ("storages", "/ui/storages"), ("users", "/ui/admin/users"),
                     ("variables", "/ui/admin/variables"), ("audit trail", "/ui/admin/audit"),
                     ("processes", "/ui/processes"), ("logs", "/ui/logs"),
                     ("logs, search", "/ui/logs?q=level:error"),
                     ("platform", "/ui/admin/platform"), ("workers", "/ui/admin/workers"),
                     ("statistics", "/ui/statistics"), ("search", "/ui/search?q=connection"),
                     ("system administrators", "/ui/admin/system-administrators")]
            for title, path in pages:
                first, median, p90, _, size = _time(_getter(client, path), args.repeat)
                print(f"  {title:30s} first {first * 1000:6.1f} ms  median "
                      f"{median * 1000:6.1f} ms  p90 {p90 * 1000:6.1f} ms  "
                      f"{size / 1e3:7.1f} KB")
            after = []
            for _ in range(3):  # the chart's days are read again once a run has ended
                _end_a_run(client, ws, conn)
                t1 = time.perf_counter()
                _getter(client, "/ui/")()
                after.append(time.perf_counter() - t1)
            print(f"  {'overview after a run ended':30s} "
                  + "  ".join(f"{t * 1000:6.1f} ms" for t in after))
            print(f"  load average at the end: {os.getloadavg()}")
        app.state.platform.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=100, help="sync jobs per connection")
    ap.add_argument("--actors", type=int, default=50,
                    help="sources (and destinations) the connections share")
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--backends", default="postgresql")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    for backend in args.backends.split(","):
        run(backend, args)


if __name__ == "__main__":
    main()

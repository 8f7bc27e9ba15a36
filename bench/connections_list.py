"""Time the Airbyte face's connection listings over many connections in one workspace.

    python -m bench.connections_list [--connections 1000] [--actors N] [--jobs 3]
                                     [--repeat 21] [--backends sqlite,postgresql]

For each metadata backend (a SQLite file; a fresh PostgreSQL database on 127.0.0.1:5432,
user ``postgres``, dropped afterwards) it makes one connection through the API (so the
catalog is a real discovered one), copies it to ``--connections`` connections over
``--actors`` sources and as many destinations (each its own sealed config) with ``--jobs``
finished sync jobs each, then times ``connections/list``, ``web_backend/connections/list``
and a 100-connection page of each ``list_paginated`` in process (ASGI, no socket) and prints
the median wall time, its 90th percentile, the median CPU time of the process (server and
client; steadier than wall time on a shared machine) and the size of each answer. A
benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402

from sluiceway.bootstrap import create_app  # noqa: E402
from sluiceway.core.settings import Settings  # noqa: E402
from sluiceway.store.db import now  # noqa: E402
from sluiceway.store.models import Actor, Attempt, Connection, Job  # noqa: E402

AUTH = ("admin", "bench-admin-password")
PG = os.environ.get("SLUICEWAY_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


@contextmanager
def _metadata(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'meta.db'}"
        return
    import psycopg

    name = f"sw_bench_meta_{uuid.uuid4().hex[:8]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    r = client.post(f"/api/v1{path}", json=body, auth=AUTH)
    if r.status_code != 200:
        raise SystemExit(f"{path} answered {r.status_code}: {r.text}")
    return r.json()


def _definition(client: TestClient, kind: str, repository: str) -> str:
    listed = _post(client, f"/{kind}_definitions/list", {})[f"{kind}Definitions"]
    return str(next(d[f"{kind}DefinitionId"] for d in listed
                    if d["dockerRepository"] == repository))


def _populate(client: TestClient, connections: int, actors: int, jobs: int) -> str:
    ws = _post(client, "/workspaces/get_by_slug", {"slug": "default"})["workspaceId"]
    src = _post(client, "/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": _definition(client, "source", "sample"),
        "connectionConfiguration": {"rows": 10}, "name": "events"})
    dst = _post(client, "/destinations/create", {
        "workspaceId": ws, "destinationDefinitionId": _definition(client, "destination",
                                                                  "duckdb"),
        "connectionConfiguration": {"path": "lake.duckdb"}, "name": "lake"})
    first = _post(client, "/connections/create", {
        "sourceId": src["sourceId"], "destinationId": dst["destinationId"],
        "syncMode": "full_refresh", "status": "active"})
    db = client.app.state.platform.db  # type: ignore[attr-defined]
    with db.session() as s:
        template = s.get_one(Connection, first["connectionId"])
        src_row = s.get_one(Actor, src["sourceId"])
        dst_row = s.get_one(Actor, dst["destinationId"])
        sources = [src_row.id] + [_copy(s, src_row, i) for i in range(1, actors)]
        dests = [dst_row.id] + [_copy(s, dst_row, i) for i in range(1, actors)]
        t = now()
        for i in range(1, connections):
            s.add(Connection(workspace_id=ws, source_id=sources[i % actors],
                             destination_id=dests[i % actors], name=f"connection {i}",
                             sync_mode="full_refresh", catalog=template.catalog,
                             status="active", created_at=t + i, updated_at=t + i))
        s.flush()
        ids = list(s.scalars(Connection.__table__.select().with_only_columns(
            Connection.id)))
        for cid in ids:
            for k in range(jobs):
                job = Job(workspace_id=ws, config_type="sync", scope=cid,
                          status="succeeded" if k < jobs - 1 else "failed", priority=0,
                          input={}, max_attempts=3, cancel_requested=False, progress=1.0,
                          scheduled_at=t, created_at=t + k, updated_at=t + k)
                s.add(job)
                s.flush()
                s.add(Attempt(job_id=job.id, number=1, status=job.status, records_synced=10,
                              bytes_synced=100, created_at=t + k, updated_at=t + k,
                              ended_at=t + k))
    return str(ws)


def _copy(s: Any, actor: Actor, i: int) -> str:
    row = Actor(workspace_id=actor.workspace_id, definition_id=actor.definition_id,
                kind=actor.kind, name=f"{actor.name} {i}", config=dict(actor.config))
    s.add(row)
    s.flush()
    return row.id


def _time(call: Callable[[], bytes], repeat: int
          ) -> tuple[float, float, float, float, int]:
    """The first call's wall time (nothing rendered yet), then the median and 90th
    percentile wall time, the median CPU time (of this process: the server's thread and the
    client's), and the answer's size."""
    t0 = time.perf_counter()
    size = len(call())
    first = time.perf_counter() - t0
    runs, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        call()
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    runs.sort()
    return (first, statistics.median(runs), runs[max(int(len(runs) * 0.9) - 1, 0)],
            statistics.median(cpu), size)


def _caller(client: TestClient, path: str, body: dict[str, Any]) -> Callable[[], bytes]:
    def call() -> bytes:
        r = client.post(f"/api/v1{path}", json=body, auth=AUTH)
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
            ws = _populate(client, args.connections, args.actors or args.connections,
                           args.jobs)
            print(f"{backend}: {args.connections} connections made in "
                  f"{time.perf_counter() - t0:.1f} s")
            page = {"workspaceIds": [ws], "pageSize": 100, "rowOffset": 500}
            cases = [("connections/list", "/connections/list", {"workspaceId": ws}),
                     ("web_backend/connections/list", "/web_backend/connections/list",
                      {"workspaceId": ws}),
                     ("connections/list_paginated (100)", "/connections/list_paginated", page),
                     ("web_backend/connections/list_paginated (100)",
                      "/web_backend/connections/list_paginated", page)]
            for title, path, body in cases:
                if args.only and args.only not in path:
                    continue
                first, median, p90, cpu, size = _time(_caller(client, path, body),
                                                      args.repeat)
                print(f"  {title:44s} first {first * 1000:6.1f} ms  median "
                      f"{median * 1000:6.1f} ms  p90 {p90 * 1000:6.1f} ms  cpu "
                      f"{cpu * 1000:6.1f} ms  {size / 1e6:5.2f} MB")
        app.state.platform.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--actors", type=int, default=0,
                    help="sources (and destinations) the connections share; 0: one each")
    ap.add_argument("--jobs", type=int, default=3, help="finished sync jobs per connection")
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--only", default="", help="time only paths containing this text")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    for backend in args.backends.split(","):
        run(backend, args)


if __name__ == "__main__":
    main()

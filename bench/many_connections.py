"""Many connections: the scheduler, the claim and the ledger's heartbeats at scale.

    python -m bench.many_connections [--connections 1000] [--attempts 500] [--syncs 10]
                                     [--backends sqlite,postgresql] [--periods 10,5,2,1,0.5]

For each metadata backend (a SQLite file; a fresh PostgreSQL database on 127.0.0.1:5432,
user ``postgres``, dropped afterwards) it makes one connection through the API (the
``sample`` source, 10 rows, into a SQLite file) and copies it to ``--connections``
connections on a 5-minute schedule, each with its own destination file, then measures:

1. **Scheduler.** Every connection's slot is set to one instant a few seconds ahead (the
   worst case: all due at once) and the server's scheduler loop (``JobRuntime``, default
   ``tick_seconds``, an executor that runs nothing) is started: how late after the slot
   each run is enqueued (p50, p99, max). Then direct passes with an injected clock: the
   next slot (every connection due again, after its run ended) and a pass with nothing due.
2. **Claim latency.** A ``LocalExecutor`` with free workers; ``--syncs`` syncs enqueued one
   at a time, woken as the API does, then not woken (another process enqueued: the
   executor's poll finds it): seconds from enqueue to claim (the attempt ``running``) and
   to the sync's end.
3. **Ledger rates (PostgreSQL only).** ``claims/s``: 1, 2, 4 and 8 claiming processes
   draining a backlog of one due sync per connection (p50/p99 of each claim).
   ``heartbeats/s``: ``--attempts`` running attempts simulated by threads in 4 processes,
   each calling ``ledger.heartbeat`` every P seconds and, in between, ``cancel_requested``
   every ``min(P, 1)`` second (what the runner does), for each P of ``--periods``:
   the achieved rates and p50/p99 of each call. The limit is the first P whose heartbeat
   p99 is over 3x that of the longest period or whose rate falls under 90% of the offered.

A benchmark, not a test. On a shared machine, read it with the load average it prints.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# the simulating processes import this module: what they do not need is imported in run()
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from sluiceway.core.settings import Settings  # noqa: E402
from sluiceway.jobs import ledger  # noqa: E402
from sluiceway.jobs.executors.local import LocalExecutor  # noqa: E402
from sluiceway.jobs.runtime import JobRuntime  # noqa: E402
from sluiceway.jobs.scheduler import Scheduler  # noqa: E402
from sluiceway.store.db import Database, now  # noqa: E402
from sluiceway.store.models import Actor, Attempt, Connection, Job  # noqa: E402

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PERIOD = 300.0  # the 5-minute schedule
#: processes that simulate the running attempts (their threads share each one's pool)
BEAT_PROCESSES = 4
#: metadata connections each simulating process keeps (PostgreSQL's max_connections is
#: 100 by default; a real attempt is its own process with its own pool)
BEAT_POOL = 12


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * q), len(ordered) - 1)]


def _ms(values: Sequence[float]) -> str:
    return (f"p50 {_pct(values, 0.5) * 1000:7.1f} ms  p99 {_pct(values, 0.99) * 1000:7.1f} ms"
            f"  max {max(values, default=float('nan')) * 1000:7.1f} ms")


# ---- the connections ---------------------------------------------------------------------

def _populate(client: TestClient, n: int) -> tuple[str, list[str]]:
    """One connection through the API, copied to ``n`` scheduled ones (rows), each with its
    own destination file; returns the workspace and the connection ids."""
    from bench.connections_list import _definition, _post

    ws = _post(client, "/workspaces/get_by_slug", {"slug": "default"})["workspaceId"]
    src = _post(client, "/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": _definition(client, "source", "sample"),
        "connectionConfiguration": {"rows": 10}, "name": "events"})
    dst = _post(client, "/destinations/create", {
        "workspaceId": ws, "destinationDefinitionId": _definition(client, "destination",
                                                                  "sqlite"),
        "connectionConfiguration": {"path": "c0.sqlite"}, "name": "c0"})
    first = _post(client, "/connections/create", {
        "sourceId": src["sourceId"], "destinationId": dst["destinationId"],
        "syncMode": "full_refresh", "status": "active"})
    db: Database = client.app.state.platform.db  # type: ignore[attr-defined]
    with db.session() as s:
        template = s.get_one(Connection, first["connectionId"])
        dst_row = s.get_one(Actor, dst["destinationId"])
        template.schedule_units, template.schedule_time_unit = 5, "minutes"
        folder = Path(str(dst_row.config["path"])).parent
        t = now()
        actors = [Actor(workspace_id=ws, definition_id=dst_row.definition_id,
                        kind="destination", name=f"c{i}",
                        config=dict(dst_row.config, path=str(folder / f"c{i}.sqlite")))
                  for i in range(1, n)]
        s.add_all(actors)
        s.flush()
        s.add_all([Connection(workspace_id=ws, source_id=src["sourceId"],
                              destination_id=a.id, name=f"connection {i}",
                              sync_mode="full_refresh", catalog=template.catalog,
                              status="active", schedule_units=5, schedule_time_unit="minutes",
                              created_at=t, updated_at=t)
                   for i, a in enumerate(actors, 1)])
        s.flush()
        ids = list(s.scalars(select(Connection.id).order_by(Connection.id)))
    return str(ws), ids


def _end_all(db: Database) -> None:
    """Every job and attempt that has not ended ends ``succeeded`` (as if the runs were
    over), so that the next slot fires again and the next measure starts from idle."""
    t = now()
    with db.session() as s:
        s.execute(update(Attempt).where(Attempt.status.in_(("queued", "running")))
                  .values(status="succeeded", ended_at=t, updated_at=t))
        s.execute(update(Job).where(Job.status.in_(ledger.ACTIVE))
                  .values(status="succeeded", updated_at=t))


# ---- 1. the scheduler ----------------------------------------------------------------------

class _Idle:
    """An executor that runs nothing (the scheduler alone is measured)."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def wake(self) -> None:
        pass


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _syncs(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Job)
                            .where(Job.config_type == "sync")) or 0)


def scheduler(settings: Settings, db: Database, ids: list[str]) -> dict[str, float]:
    n = len(ids)
    slot = now() + 3.0
    with db.session() as s:
        s.execute(update(Connection).values(next_run_at=slot))
    before = _syncs(db)
    seen: list[tuple[float, int]] = []  # (when, runs enqueued so far): visible, committed

    def all_enqueued() -> bool:
        seen.append((now(), _syncs(db) - before))
        return seen[-1][1] >= n

    runtime = JobRuntime(settings, db, _Idle())
    runtime.start()
    try:
        _wait(all_enqueued, 120, f"{n} scheduled runs")
    finally:
        runtime.stop()
    # each run is late by the first look that saw it (looks are 20 ms apart)
    late: list[float] = []
    for when, count in seen:
        late.extend([when - slot] * (count - len(late)))
    print(f"  scheduler loop (tick {settings.tick_seconds:g} s), {n} connections due at one "
          f"slot: enqueued {len(late)}, lateness {_ms(late)}", flush=True)
    _end_all(db)
    sched = Scheduler(settings, db)
    t0 = time.perf_counter()
    fired = sched.tick(slot + PERIOD + 0.5)  # the next slot of the 5-minute series
    full = time.perf_counter() - t0
    t0 = time.perf_counter()
    idle = sched.tick(slot + PERIOD + 1.0)
    empty = time.perf_counter() - t0
    print(f"  direct pass, all {len(fired)} due again: {full * 1000:.0f} ms "
          f"({len(fired) / full:.0f} enqueues/s); a pass with {len(idle)} due: "
          f"{empty * 1000:.1f} ms", flush=True)
    _end_all(db)
    return {"late_p50": _pct(late, 0.5), "late_p99": _pct(late, 0.99),
            "late_max": max(late, default=float("nan")), "pass_s": full, "idle_pass_s": empty}


# ---- 2. claim latency with the local executor ------------------------------------------------

def _attempt(db: Database, job_id: int) -> Attempt | None:
    with db.session() as s:
        return s.scalars(select(Attempt).where(Attempt.job_id == job_id)
                         .order_by(Attempt.number.desc()).limit(1)).first()


def claim_latency(settings: Settings, db: Database, ws: str, ids: list[str], syncs: int,
                  ) -> dict[str, float]:
    executor = LocalExecutor(settings, db)
    executor.start()
    out: dict[str, float] = {}
    try:
        for woken in (True, False):
            to_claim: list[float] = []
            to_end: list[float] = []
            for conn in ids[:syncs]:
                job = ledger.enqueue_in(db, workspace_id=ws, config_type="sync", scope=conn,
                                        max_attempts=1, unicity=f"sync:{conn}")
                t0 = time.perf_counter()
                if woken:
                    executor.wake()
                claimed: list[float] = []

                def running(job_id: int = job.id, seen: list[float] = claimed) -> bool:
                    a = _attempt(db, job_id)
                    if a is not None and a.status != ledger.QUEUED and not seen:
                        seen.append(time.perf_counter())
                    return a is not None and a.ended_at is not None

                _wait(running, 120, f"sync job {job.id}")
                to_claim.append(claimed[0] - t0)
                to_end.append(time.perf_counter() - t0)
                a = _attempt(db, job.id)
                if a is None or a.status != "succeeded":
                    raise SystemExit(f"sync job {job.id} did not succeed: "
                                     f"{a.error if a else 'no attempt'}")
                _wait(lambda: not executor.running(), 30, "a free worker")
            how = "woken (enqueued by this server)" if woken else "not woken (poll)"
            print(f"  local executor, {syncs} syncs, {how}: enqueue -> claimed "
                  f"{_ms(to_claim)}; -> sync ended p50 {_pct(to_end, 0.5):.2f} s", flush=True)
            key = "woken" if woken else "poll"
            out[f"claim_{key}_p99"] = _pct(to_claim, 0.99)
            out[f"end_{key}_p50"] = _pct(to_end, 0.5)
    finally:
        executor.stop()
    return out


# ---- 3. ledger rates: claims and heartbeats --------------------------------------------------

@dataclass
class _Start:
    """How the parent starts its simulating processes at one instant, once every one of
    them has imported and connected (a spawned process takes seconds to start)."""

    ready: Any
    go: Any
    at: Any

    @classmethod
    def make(cls, mp: Any) -> _Start:
        return cls(mp.Queue(), mp.Event(), mp.Value("d", 0.0))

    def wait(self) -> float:
        """In a child: say it is ready, wait for the start; returns the start time."""
        self.ready.put(os.getpid())
        self.go.wait()
        return float(self.at.value)

    def release(self, children: int, delay: float = 0.5) -> float:
        """In the parent: wait until every child is ready, start them ``delay`` s ahead."""
        for _ in range(children):
            self.ready.get(timeout=300)
        self.at.value = time.time() + delay
        self.go.set()
        return float(self.at.value)


def _claimer(url: str, lease: float, start: _Start, results: Any) -> None:
    """One claiming process: claim due jobs until none is due; sends the latencies and
    the time of its first and last claim."""
    db = Database(url, pool_size=1, max_overflow=0)
    lat: list[float] = []
    db.ping()
    go = start.wait()
    time.sleep(max(go - time.time(), 0.0))
    first = time.time()
    try:
        while True:
            t0 = time.perf_counter()
            attempt = ledger.claim(db, f"bench-{os.getpid()}", os.getpid(), lease)
            if attempt is None:
                break
            lat.append(time.perf_counter() - t0)
    finally:
        db.dispose()
        results.put((first, time.time(), lat))


def claims(url: str, db: Database, ws: str, ids: list[str], lease: float,
           levels: Sequence[int] = (1, 2, 4, 8)) -> list[dict[str, float]]:
    mp = multiprocessing.get_context("spawn")
    rows = []
    for procs in levels:
        _end_all(db)
        with db.claim() as s:
            ledger.enqueue_many(s, [ledger.NewJob(workspace_id=ws, config_type="sync",
                                                  scope=c, max_attempts=1,
                                                  unicity=f"sync:{c}") for c in ids])
        results = mp.Queue()
        start = _Start.make(mp)
        workers = [mp.Process(target=_claimer, args=(url, lease, start, results))
                   for _ in range(procs)]
        for w in workers:
            w.start()
        start.release(procs)
        lat: list[float] = []
        firsts, lasts = [], []
        for _ in workers:
            first, last, got = results.get()
            firsts.append(first)
            lasts.append(last)
            lat.extend(got)
        for w in workers:
            w.join()
        wall = max(lasts) - min(firsts)
        rate = len(lat) / wall
        print(f"  claims, {procs} claiming processes: {len(lat)} in {wall:.2f} s = "
              f"{rate:6.0f} claims/s, {_ms(lat)}", flush=True)
        rows.append({"processes": procs, "rate": rate, "p50": _pct(lat, 0.5),
                     "p99": _pct(lat, 0.99)})
    return rows


def _beater(url: str, attempt_ids: list[int], job_ids: list[int], period: float,
            lease: float, start: _Start, seconds: float, results: Any) -> None:
    """One process of simulated attempts: a thread each, as the runner's heartbeat thread:
    a heartbeat every ``period``, a look for a cancel every ``min(period, 1)`` between."""
    db = Database(url, pool_size=BEAT_POOL, max_overflow=0)
    beats: list[float] = []
    looks: list[float] = []
    lock = threading.Lock()
    look = min(period, 1.0)
    db.ping()
    go = start.wait()

    def attempt(attempt_id: int, job_id: int) -> None:
        mine_b: list[float] = []
        mine_l: list[float] = []
        phase = random.random() * period
        next_beat = go + phase
        tick = go + phase % look
        end = go + seconds
        while tick < end:
            time.sleep(max(tick - time.time(), 0.0))
            t0 = time.perf_counter()
            if time.time() >= next_beat - look / 2:
                ledger.heartbeat(db, attempt_id, lease, records=10, bytes_=100,
                                 progress=0.5)
                mine_b.append(time.perf_counter() - t0)
                next_beat += period
            else:
                ledger.cancel_requested(db, job_id)
                mine_l.append(time.perf_counter() - t0)
            tick += look
        with lock:
            beats.extend(mine_b)
            looks.extend(mine_l)

    threads = [threading.Thread(target=attempt, args=(a, j), daemon=True)
               for a, j in zip(attempt_ids, job_ids, strict=True)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    db.dispose()
    results.put((beats, looks, time.time() - go))


def heartbeats(url: str, db: Database, ws: str, ids: list[str], attempts: int, lease: float,
               periods: Sequence[float]) -> list[dict[str, float]]:
    _end_all(db)
    conns = ids[:attempts]
    with db.claim() as s:
        ledger.enqueue_many(s, [ledger.NewJob(workspace_id=ws, config_type="sync", scope=c,
                                              max_attempts=1, unicity=f"sync:{c}")
                                for c in conns])
    running: list[tuple[int, int]] = []
    for _ in conns:
        a = ledger.claim(db, "bench", os.getpid(), lease * 100)
        if a is None:
            break
        running.append((a.id, a.job_id))
    if len(running) < attempts:
        raise SystemExit(f"only {len(running)} of {attempts} attempts could be claimed")
    mp = multiprocessing.get_context("spawn")
    rows = []
    base: float | None = None
    for period in sorted(periods, reverse=True):
        seconds = max(2.5 * period, 8.0)
        results = mp.Queue()
        start = _Start.make(mp)
        chunks = [running[i::BEAT_PROCESSES] for i in range(BEAT_PROCESSES)]
        procs = [mp.Process(target=_beater, args=(url, [a for a, _ in c], [j for _, j in c],
                                                  period, lease * 100, start, seconds,
                                                  results))
                 for c in chunks]
        for p in procs:
            p.start()
        start.release(len(procs))
        beats: list[float] = []
        looks: list[float] = []
        wall = seconds  # until the last call ended: calls that fall behind stretch it
        for _ in procs:
            b, lk, took = results.get()
            beats.extend(b)
            looks.extend(lk)
            wall = max(wall, took)
        for p in procs:
            p.join()
        offered = attempts / period
        rate = len(beats) / wall
        reads = len(looks) / wall
        p99 = _pct(beats, 0.99)
        base = p99 if base is None else base
        limit = p99 > 3 * base or rate < 0.9 * offered
        print(f"  heartbeats of {attempts} attempts every {period:g} s: offered "
              f"{offered:6.0f}/s, done {rate:6.0f}/s, {_ms(beats)}; cancel looks "
              f"{reads:5.0f}/s p99 {_pct(looks, 0.99) * 1000:.1f} ms"
              f"{'  <- limit' if limit else ''}", flush=True)
        rows.append({"period": period, "offered": offered, "rate": rate,
                     "p50": _pct(beats, 0.5), "p99": p99, "reads": reads,
                     "reads_p99": _pct(looks, 0.99)})
    _end_all(db)
    return rows


# ---- the run ---------------------------------------------------------------------------------

@dataclass
class Options:
    connections: int
    attempts: int
    syncs: int
    periods: list[float]
    skip: set[str]


def run(backend: str, opts: Options) -> None:
    from fastapi.testclient import TestClient

    from bench.connections_list import AUTH, _metadata
    from sluiceway.bootstrap import create_app

    with tempfile.TemporaryDirectory(prefix="sw-bench-") as tmp, \
            _metadata(backend, Path(tmp)) as url:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=url,
                            admin_password=SecretStr(AUTH[1]), workers=2)
        app = create_app(settings, run_jobs=False)
        with TestClient(app) as client:
            t0 = time.perf_counter()
            ws, ids = _populate(client, opts.connections)
            print(f"{backend}: {len(ids)} connections made in {time.perf_counter() - t0:.1f} s"
                  f" (load average {os.getloadavg()[0]:.1f})")
            db: Database = app.state.platform.db
            if "scheduler" not in opts.skip:
                scheduler(settings, db, ids)
            if "claim" not in opts.skip and opts.syncs:
                claim_latency(settings, db, ws, ids, opts.syncs)
            if backend == "postgresql":
                if "claims" not in opts.skip:
                    claims(url, db, ws, ids, settings.lease_seconds)
                if "heartbeats" not in opts.skip and opts.attempts:
                    heartbeats(url, db, ws, ids, min(opts.attempts, len(ids)),
                               settings.lease_seconds, opts.periods)
        app.state.platform.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--attempts", type=int, default=500,
                    help="running attempts whose heartbeats are simulated (PostgreSQL)")
    ap.add_argument("--syncs", type=int, default=10,
                    help="syncs run by the local executor for the claim latency")
    ap.add_argument("--periods", default="10,5,2,1,0.75,0.5",
                    help="heartbeat periods in seconds (10: the default lease of 30 s / 3)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--skip", default="",
                    help="parts to leave out: scheduler, claim, claims, heartbeats")
    args = ap.parse_args()
    opts = Options(args.connections, args.attempts, args.syncs,
                   [float(p) for p in args.periods.split(",") if p],
                   {p for p in args.skip.split(",") if p})
    print(f"load average at start: {os.getloadavg()}, {os.cpu_count()} cores")
    for backend in args.backends.split(","):
        run(backend, opts)


if __name__ == "__main__":
    main()

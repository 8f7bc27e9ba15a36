"""How fast ``/api/v1/health`` answers while a flood of wrong passwords arrives.

    python -m bench.login_flood [--requests 200] [--budget-ms 100] [--database-url URL]

Starts a real ``sluiceway serve`` process (SQLite metadata in a temporary folder unless
``--database-url`` is given), then for each scenario fires ``--requests`` concurrent
wrong-password requests with httpx while another thread samples ``GET /api/v1/health``
on a connection of its own, and prints the health latency (p50/p99/max) next to the flood's
answers (401: the password was checked; 429: refused by the throttle before any hashing).

Scenarios:
  idle       no flood: the baseline
  one-name   every guess is for ``admin`` from one address
  spread     every guess names another user from another address (``X-Forwarded-For``,
             which uvicorn trusts from 127.0.0.1), so the per-name and per-address limits do
             not apply and only the bounded hashing pool stands between the flood and the
             event loop

Exit status 1 when a scenario's p99 is over ``--budget-ms``. A benchmark, not a test: the
numbers depend on the machine, which should be otherwise idle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway server's password


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        env = dict(os.environ, SLUICEWAY_DATA_DIR=str(data_dir), SLUICEWAY_PORT=str(self.port),
                   SLUICEWAY_ADMIN_PASSWORD=ADMIN_PASSWORD)
        if database_url:
            env["SLUICEWAY_DATABASE_URL"] = database_url
        self.log = open(data_dir.parent / "server.log", "wb")  # noqa: SIM115 - closed in stop
        self.proc = subprocess.Popen([sys.executable, "-m", "sluiceway.cli.main", "serve"],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("the server did not start; see " + self.log.name)
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@dataclass
class Result:
    scenario: str
    samples: list[float]
    answers: Counter[int]
    flood_seconds: float

    def pct(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def _sample_health(base: str, stop: threading.Event,
                   out: list[tuple[float, float]], minimum: int) -> None:
    """(wall-clock start, seconds) of each health request until ``stop``, at least
    ``minimum`` of them."""
    with httpx.Client(base_url=base, timeout=30) as c:
        c.get("/health")  # open the connection before timing
        while not stop.is_set() or len(out) < minimum:
            at, started = time.time(), time.perf_counter()
            c.get("/health").raise_for_status()
            out.append((at, time.perf_counter() - started))
            time.sleep(0.002)


async def _flood(base: str, scenario: str, n: int) -> dict[str, object]:
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as c:
        async def one(i: int) -> int:
            if scenario == "one-name":
                user, headers = "admin", {}
            else:
                user = f"user-{i}"
                headers = {"X-Forwarded-For": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"}
            r = await c.post("/source_definitions/list", auth=(user, f"wrong-{i}"),
                             headers=headers)
            return r.status_code

        await c.get("/health")  # the client is ready: only the flood is timed
        start = time.time()
        codes = await asyncio.gather(*(one(i) for i in range(n)))
        return {"answers": Counter(codes), "start": start, "end": time.time()}


def run_scenario(server: Server, scenario: str, n: int) -> Result:
    """Sample health in a thread of this process while the flood comes from another process
    (so that the flood's client work does not delay the samples); keep the samples that
    started while the flood's requests were open (or all of them for ``idle``)."""
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_health, args=(server.base, stop, samples, 50))
    sampler.start()
    answers: Counter[int] = Counter()
    start, end = 0.0, float("inf")
    try:
        if scenario != "idle":
            done = subprocess.run(
                [sys.executable, "-m", "bench.login_flood", "--flood", scenario,
                 "--base", server.base, "--requests", str(n)],
                capture_output=True, text=True, check=True,
                cwd=Path(__file__).resolve().parent.parent)
            got = json.loads(done.stdout)
            answers = Counter({int(k): v for k, v in got["answers"].items()})
            start, end = got["start"], got["end"]
    finally:
        stop.set()
        sampler.join()
    inside = [secs for at, secs in samples if start <= at <= end]
    return Result(scenario, inside, answers, 0.0 if scenario == "idle" else end - start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--budget-ms", type=float, default=100.0)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--flood", choices=["one-name", "spread"], help=argparse.SUPPRESS)
    ap.add_argument("--base", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.flood:  # the child that sends the flood and prints its answers as JSON
        print(json.dumps(asyncio.run(_flood(args.base, args.flood, args.requests))))
        return 0
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="sw-login-flood-") as tmp:
        server = Server(Path(tmp) / "data", args.database_url)
        try:
            results = [run_scenario(server, s, args.requests)
                       for s in ("idle", "one-name", "spread")]
        finally:
            server.stop()
    over = False
    print(f"{'scenario':<10} {'samples':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'flood s':>8}  flood answers")
    for r in results:
        over |= r.pct(0.99) > args.budget_ms
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(r.answers.items())) or "-"
        print(f"{r.scenario:<10} {len(r.samples):>7} {r.pct(0.5):>8.1f} {r.pct(0.99):>8.1f} "
              f"{max(r.samples) * 1000:>8.1f} {r.flood_seconds:>8.2f}  {answers}")
    print(f"health p99 budget {args.budget_ms:.0f} ms: {'EXCEEDED' if over else 'met'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

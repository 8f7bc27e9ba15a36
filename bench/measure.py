"""The peak memory of one run's own process tree.

Why not ``wait4()``/``getrusage()``: ``ru_maxrss`` of ``RUSAGE_CHILDREN`` is the largest of
every child this process has waited for so far, and even a single child's ``ru_maxrss``
(``wait4(pid)``) starts at the RSS its parent had when it spawned it (Linux keeps the
high-water mark of the forked image across ``exec``). A runner that grew to 449 MB checking
results therefore saw 449 MB for every later child, whatever it did. Neither counts the
grandchildren either (the DuckDB CLI that Sling starts, a pipe's second process).

So the tree is sampled instead, every :attr:`TreeSampler.interval` seconds:

- ``peak_mb``: the largest sum of the resident sets of the root processes and all their
  descendants at one instant (what the machine had to hold at once);
- ``hwm_mb``: the sum, over every process seen, of its own high-water mark (``VmHWM`` of
  ``/proc/<pid>/status``, which starts afresh at ``exec``) as last read. It catches a peak
  that fell between two samples, and is an upper bound when processes peak at different
  times. Linux only; ``None`` elsewhere.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIB = 2**20


@dataclass(frozen=True)
class Memory:
    """What :class:`TreeSampler` saw; ``None`` figures were not measured."""

    peak_mb: float | None
    hwm_mb: float | None
    processes: int


def high_water_kb(pid: int) -> int | None:
    """``VmHWM`` of a live process in KiB (Linux), ``None`` when unreadable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


class TreeSampler:
    """Samples the memory of some processes and their descendants in a thread.

    Start it right after the processes are spawned, :meth:`stop` it once they are waited for.
    Without psutil nothing is measured (every figure ``None``) rather than a wrong figure.
    """

    interval = 0.05

    def __init__(self, pids: list[int], interval: float | None = None) -> None:
        self.interval = interval if interval is not None else self.interval
        self._peak = 0
        self._hwm_kb: dict[int, int] = {}
        self._seen: set[int] = set()
        self._sampled = threading.Condition()
        self.samples = 0
        try:
            import psutil
        except ImportError:
            self._psutil: Any = None
            return
        self._psutil = psutil
        self._roots: list[Any] = []
        for pid in pids:
            try:
                self._roots.append(psutil.Process(pid))
            except psutil.Error:
                pass
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._sample()
            if self._done.wait(self.interval):
                return

    def _sample(self) -> None:
        error = self._psutil.Error
        total, now = 0, set()
        for root in self._roots:
            try:
                family = [root, *root.children(recursive=True)]
            except error:
                continue
            for proc in family:
                if proc.pid in now:
                    continue
                try:
                    rss = proc.memory_info().rss
                except error:
                    continue
                now.add(proc.pid)
                total += rss
                hwm = high_water_kb(proc.pid)
                if hwm is not None:
                    self._hwm_kb[proc.pid] = max(self._hwm_kb.get(proc.pid, 0), hwm)
        self._seen |= now
        self._peak = max(self._peak, total)
        with self._sampled:
            self.samples += 1
            self._sampled.notify_all()

    def wait_samples(self, more: int, timeout: float = 30.0) -> bool:
        """Block until ``more`` samples have been taken from now; False on timeout."""
        with self._sampled:
            target = self.samples + more
            return self._sampled.wait_for(lambda: self.samples >= target, timeout)

    def stop(self) -> Memory:
        if self._psutil is None:
            return Memory(None, None, 0)
        self._done.set()
        self._thread.join()
        hwm = sum(self._hwm_kb.values()) * 1024 / MIB if self._hwm_kb else None
        return Memory(self._peak / MIB, hwm, len(self._seen))


def _cpu_seconds(pid: int, tick: int) -> float | None:
    """User + system CPU seconds of a live process (``/proc/<pid>/stat``), None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / tick


class BackendCpu:
    """The CPU seconds of the PostgreSQL backends serving some databases, while a run lasts.

    A backend's process title is ``postgres: [<cluster_name>:] <user> <database> <client>
    <activity>`` (``update_process_title``, on by default), so the server's own processes
    are found in ``/proc`` without a connection. Each is sampled every :attr:`interval` s; a
    backend's last fraction of an interval before it exits is not counted. Linux only
    (``seconds`` is None elsewhere)."""

    interval = 0.1

    def __init__(self, databases: list[str]) -> None:
        self._names = {db.encode() for db in databases}
        self._seconds: dict[int, float] = {}
        self._skip: set[int] = set()
        self._done = threading.Event()
        self._linux = Path("/proc/self/stat").exists()
        self._tick = os.sysconf("SC_CLK_TCK") if self._linux else 100
        self._thread = threading.Thread(target=self._run, name="backend-cpu", daemon=True)
        if self._linux:
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._sample()
            if self._done.wait(self.interval):
                self._sample()
                return

    def _sample(self) -> None:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if pid in self._skip:
                continue
            if pid not in self._seconds:
                try:
                    if Path(f"/proc/{pid}/comm").read_bytes().strip() != b"postgres":
                        self._skip.add(pid)
                        continue
                    # a backend just forked has no title yet: looked at again next time
                    title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].split()
                except OSError:
                    continue
                if not title or title[0] != b"postgres:" or not self._names & set(title[2:4]):
                    continue
            cpu = _cpu_seconds(pid, self._tick)
            if cpu is not None:
                self._seconds[pid] = cpu

    def stop(self) -> float | None:
        if not self._linux:
            return None
        self._done.set()
        self._thread.join()
        return sum(self._seconds.values())

"""A sync's progress at a terminal: per stream its phase (reading, loading, merging), rows,
speed, and the percentage and time left when the source estimated its rows."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID, TextColumn, TimeElapsedColumn

#: seconds of reading before a speed (and so a time left) is shown: the first batch
#: arrives in microseconds and would show an absurd rate
SETTLE_SECONDS = 1.0
#: redraws a second: each costs a few ms of the sync's CPU (rich renders the whole line);
#: at 10 a second (rich's default) that was 0.17 CPU-seconds per 10 s of sync
REFRESH_PER_SECOND = 4


@dataclass
class _Stream:
    task: TaskID
    started: float = field(default_factory=time.monotonic)
    phase: str = "reading"
    rows: int = 0
    bytes: int = 0
    estimate: int | None = None


class SyncProgress:
    """Callbacks for a sync (``rows``, ``estimate``, ``phase``) drawn as one line a stream."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), TextColumn("{task.fields[phase]:<9}"),
            TextColumn("{task.fields[pct]:>4}"), TextColumn("{task.fields[rows]:>12,} rows"),
            TextColumn("{task.fields[mbs]:>11}"), TextColumn("{task.fields[eta]:>9}"),
            TimeElapsedColumn(), console=console, transient=False,
            refresh_per_second=REFRESH_PER_SECOND)
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> SyncProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.__exit__(kind, exc, tb)

    def _stream(self, name: str) -> _Stream:
        with self._lock:
            if name not in self._streams:
                task = self._progress.add_task(name, total=None, phase="reading", pct="",
                                               rows=0, mbs="", eta="")
                self._streams[name] = _Stream(task)
            return self._streams[name]

    def phase(self, stream: str, phase: str) -> None:
        s = self._stream(stream)
        s.phase = phase
        self._draw(s)

    def estimate(self, stream: str, rows: int) -> None:
        s = self._stream(stream)
        s.estimate = max(1, rows)
        self._draw(s)

    def rows(self, stream: str, rows: int, nbytes: int) -> None:
        s = self._stream(stream)
        s.rows, s.bytes = rows, nbytes
        self._draw(s)

    def _draw(self, s: _Stream) -> None:
        self._progress.update(s.task, **figures(s.phase, s.rows, s.bytes, s.estimate,
                                                time.monotonic() - s.started))


def figures(phase: str, rows: int, nbytes: int, estimate: int | None,
            seconds: float) -> dict[str, Any]:
    """What a stream's line shows: phase, percentage, rows, MB/s and time left.

    The percentage stays below 100 until the stream ends (an estimate can be short); speed
    and time left show only after :data:`SETTLE_SECONDS` of reading, and the time left only
    while reading (a destination's merge has no estimate)."""
    done = phase in ("succeeded", "failed", "cancelled")
    pct = ""
    if done and phase == "succeeded":
        pct = "100%"
    elif estimate:
        pct = f"{min(99, int(100 * rows / estimate))}%"
    mbs = eta = ""
    if seconds >= SETTLE_SECONDS and rows:
        mbs = f"{nbytes / seconds / 1e6:,.1f} MB/s"
        if estimate and phase == "reading" and rows < estimate:
            left = (estimate - rows) / (rows / seconds)
            eta = f"eta {int(left) // 60}:{int(left) % 60:02d}"
    return {"phase": phase, "pct": pct, "rows": rows, "mbs": mbs, "eta": eta}

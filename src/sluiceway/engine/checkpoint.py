"""Where per-stream state lives between syncs.

A stream's record is ``{"state": <last state the destination committed>, "pending":
{"sync_id": ...}}``; ``pending`` is present while a sync of that stream is unfinished, so
that the next attempt resumes the same sync (and its staged data) instead of starting over.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Protocol


class StateStore(Protocol):
    def load(self) -> dict[str, dict[str, Any]]: ...

    def save(self, stream: str, record: dict[str, Any] | None) -> None: ...


class MemoryStateStore:
    def __init__(self, initial: dict[str, dict[str, Any]] | None = None) -> None:
        self.records: dict[str, dict[str, Any]] = dict(initial or {})
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(self.records))  # type: ignore[no-any-return]

    def save(self, stream: str, record: dict[str, Any] | None) -> None:
        with self._lock:
            if record is None:
                self.records.pop(stream, None)
            else:
                self.records[stream] = json.loads(json.dumps(record))


class FileStateStore(MemoryStateStore):
    """A JSON file replaced atomically (write, fsync, rename) on every save."""

    def __init__(self, path: Path) -> None:
        self.path = path
        initial = json.loads(path.read_text()) if path.exists() else {}
        super().__init__(initial.get("streams", {}))

    def save(self, stream: str, record: dict[str, Any] | None) -> None:
        super().save(stream, record)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"version": 1, "streams": self.records}, fh, indent=1, default=str)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)

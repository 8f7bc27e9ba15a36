"""How many check and discover calls each workspace runs at once, in this process."""

from __future__ import annotations

import threading

from sluiceway.core.errors import TooManyRequests


class WorkspaceGate:
    """Counts running calls per workspace; refuses one past the cap (one per server)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}

    def enter(self, workspace_id: str, cap: int, retry_after: int) -> None:
        with self._lock:
            n = self._running.get(workspace_id, 0)
            if n >= cap:
                raise TooManyRequests(
                    f"this workspace already runs {n} check or discover calls (the most at "
                    f"once: SLUICEWAY_CHECK_CONCURRENCY_PER_WORKSPACE={cap}); retry after "
                    f"{retry_after} seconds", retry_after)
            self._running[workspace_id] = n + 1

    def leave(self, workspace_id: str) -> None:
        with self._lock:
            n = self._running.get(workspace_id, 0) - 1
            if n > 0:
                self._running[workspace_id] = n
            else:
                self._running.pop(workspace_id, None)

"""What runs claimed attempts."""

from __future__ import annotations

from typing import Protocol


class Executor(Protocol):
    def start(self) -> None:
        """Begin claiming and running due attempts."""

    def stop(self) -> None:
        """Stop claiming; end what runs (its attempts stay retryable) and wait."""

    def wake(self) -> None:
        """Look at the ledger now (a job was just enqueued)."""

"""Job kinds by ``Job.config_type``: each runs one attempt and returns the job's output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds import reset_connection, sync

KindFn = Callable[[AttemptContext], dict[str, Any]]

KINDS: dict[str, KindFn] = {
    "sync": sync.run,
    "reset_connection": reset_connection.run,
}

__all__ = ["KINDS", "KindFn"]

"""Executors: where claimed attempts run (this process, or local worker processes)."""

from __future__ import annotations

from sluiceway.jobs.executors.base import Executor
from sluiceway.jobs.executors.inline import InlineExecutor
from sluiceway.jobs.executors.local import LocalExecutor

__all__ = ["Executor", "InlineExecutor", "LocalExecutor"]

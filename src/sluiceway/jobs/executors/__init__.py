"""Executors: where claimed attempts run (this process, local worker processes, or Celery
workers on many machines)."""

from __future__ import annotations

from sluiceway.core.settings import Settings
from sluiceway.jobs.executors.base import Executor
from sluiceway.jobs.executors.inline import InlineExecutor
from sluiceway.jobs.executors.local import LocalExecutor
from sluiceway.store.db import Database

__all__ = ["Executor", "InlineExecutor", "LocalExecutor", "for_settings"]


def for_settings(settings: Settings, db: Database) -> Executor:
    """The executor ``settings.executor`` names."""
    if settings.executor == "celery":
        # Celery is an optional dependency: imported only by installations that use it
        from sluiceway.jobs.executors import celery

        return celery.CeleryExecutor(settings, db)
    return LocalExecutor(settings, db)

"""Executors: where claimed attempts run (this process, local worker processes, or Celery
workers on many machines)."""

from __future__ import annotations

from types import ModuleType

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.core.settings import Settings
from sluiceway.jobs.executors.base import Executor
from sluiceway.jobs.executors.inline import InlineExecutor
from sluiceway.jobs.executors.local import LocalExecutor
from sluiceway.store.db import Database

__all__ = ["Executor", "InlineExecutor", "LocalExecutor", "celery_module", "for_settings"]


def celery_module() -> ModuleType:
    """The celery executor's module; Celery is an optional dependency (the ``celery``
    extra), imported only by installations that use it."""
    try:
        from sluiceway.jobs.executors import celery
    except ImportError as exc:
        raise InvalidInput("cannot run jobs on Celery", [FieldError(
            "SLUICEWAY_EXECUTOR", "'celery' needs Celery: pip install 'sluiceway[celery]' "
            f"({exc})")]) from exc
    return celery


def for_settings(settings: Settings, db: Database) -> Executor:
    """The executor ``settings.executor`` names."""
    if settings.executor == "celery":
        executor: Executor = celery_module().CeleryExecutor(settings, db)
        return executor
    return LocalExecutor(settings, db)

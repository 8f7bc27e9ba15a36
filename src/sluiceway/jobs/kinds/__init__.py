"""Job kinds by ``Job.config_type``: each runs one attempt and returns the job's output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds import (
    backup,
    backup_export,
    backup_restore,
    dump,
    export,
    import_file,
    prune_artifacts,
    prune_storages,
    prune_tasks,
    reset_connection,
    route,
    sync,
)

KindFn = Callable[[AttemptContext], dict[str, Any]]

KINDS: dict[str, KindFn] = {
    "sync": sync.run,
    "reset_connection": reset_connection.run,
    "export": export.run,
    "import": import_file.run,
    "prune_artifacts": prune_artifacts.run,
    "prune_tasks": prune_tasks.run,
    "prune_storages": prune_storages.run,
    "dump": dump.run,
    "route": route.run,
    "backup": backup.run, "backup_export": backup_export.run, "backup_restore": backup_restore.run,
}

__all__ = ["KINDS", "KindFn"]

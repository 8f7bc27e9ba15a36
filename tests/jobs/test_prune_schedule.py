"""The server prunes route tasks past their retention by itself: its job runtime queues the
``prune_tasks`` job every ``prune_interval_seconds`` (an hour by default), which deletes
the tasks whose last change is older than ``task_retention_days`` (30 by default)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.bootstrap import create_app
from sluiceway.core.settings import Settings
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Job, Task, Workspace
from tests.api.conftest import make_settings
from tests.helpers import wait_until


def test_tasks_are_kept_30_days_by_default() -> None:
    assert Settings.model_fields["task_retention_days"].default == 30


def test_the_server_queues_the_pruning_of_old_tasks_by_itself(tmp_path: Path,
                                                               metadata_url: str) -> None:
    settings = make_settings(tmp_path, metadata_url, prune_interval_seconds=0.5,
                             task_retention_days=30)
    app = create_app(settings)  # a server: its job runtime runs
    with TestClient(app):
        p: Platform = app.state.platform
        t = now()
        with p.db.claim() as s:  # the writer's lock, waited for (the runtime runs)
            ws = s.scalars(select(Workspace.id).where(Workspace.slug == "default")).one()
            for identifier, age_days in (("old", 31), ("recent", 29)):
                updated = t - age_days * 86400
                s.add(Task(workspace_id=ws, route="orders", entity_type="orders",
                           entity_identifier=identifier, status="finished", entity={},
                           log=[], attempts=1, created_at=updated, updated_at=updated))

        def left() -> list[str | None]:
            with p.db.session() as s:
                return list(s.scalars(select(Task.entity_identifier)))

        def pruned_one() -> bool:
            with p.db.session() as s:
                jobs = s.scalars(select(Job).where(Job.config_type == "prune_tasks",
                                                   Job.status == "succeeded")).all()
            return any((j.output or {}).get("pruned") == 1 for j in jobs)

        wait_until(pruned_one, timeout=60, what="a prune_tasks job that pruned the old task")
        assert left() == ["recent"]
    app.state.platform.close()

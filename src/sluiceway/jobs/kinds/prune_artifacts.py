"""``prune_artifacts``: delete expired artifacts, file and row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sluiceway.artifacts import ArtifactStore
from sluiceway.jobs.context import AttemptContext
from sluiceway.store.db import now
from sluiceway.store.models import Artifact


def run(ctx: AttemptContext) -> dict[str, Any]:
    files = ArtifactStore(ctx.settings.artifacts_dir)
    gone: list[str] = []
    with ctx.db.session() as s:
        for a in s.scalars(select(Artifact).where(Artifact.expires_at.is_not(None),
                                                  Artifact.expires_at < now())):
            files.delete(a.id)
            s.delete(a)
            gone.append(a.id)
            ctx.log("INFO", f"pruned {a.kind} {a.filename} ({a.id})")
    return {"pruned": gone}

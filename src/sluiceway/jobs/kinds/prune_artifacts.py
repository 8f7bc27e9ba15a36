"""``prune_artifacts``: delete expired artifacts, file and row, and the half-written files
(``.<id>.*.part``) a killed writer left behind a day ago or earlier."""

from __future__ import annotations

from pathlib import Path
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
    stale = _stale_parts(ctx.settings.artifacts_dir, now() - STALE_PART_SECONDS)
    for path in stale:
        path.unlink(missing_ok=True)
        ctx.log("INFO", f"removed an unfinished file {path.name}")
    return {"pruned": gone, "stale_parts": len(stale)}


#: a half-written file older than this belongs to a writer that is gone
STALE_PART_SECONDS = 24 * 3600.0


def _stale_parts(root: Path, before: float) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.glob("*/.*.part") if p.is_file() and p.stat().st_mtime < before]

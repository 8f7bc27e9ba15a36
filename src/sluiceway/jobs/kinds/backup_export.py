"""``backup_export``: a backup's files packed for download as a tar, a ZIP, or an AES-256
encrypted ZIP. The password reaches the job encrypted with the server's key and is wiped from
the job's input once used; the artifact keeps only its scrypt hash."""

from __future__ import annotations

from typing import Any

from sluiceway.artifacts import ArtifactStore, tar_plain, zip_encrypted, zip_plain
from sluiceway.core.errors import Fatal
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.artifact_rows import (
    forget_password,
    held_password,
    marking_failure,
    note,
)
from sluiceway.jobs.kinds.backup import extract, member_names, work_dir
from sluiceway.store.db import now
from sluiceway.store.models import Artifact


def run(ctx: AttemptContext) -> dict[str, Any]:
    try:
        return marking_failure(ctx, _run)
    finally:
        forget_password(ctx)


def _run(ctx: AttemptContext, artifact_id: str) -> dict[str, Any]:
    backup_id = str(ctx.input["backup_id"])
    fmt = str(ctx.input["format"])
    password = held_password(ctx, bool(ctx.input.get("with_password")))
    with ctx.db.session() as s:
        backup = s.get(Artifact, backup_id)
        if backup is None or backup.phase != "completed":
            raise Fatal(f"backup {backup_id} is gone or not complete")
    files = ArtifactStore(ctx.settings.artifacts_dir)
    note(ctx.db, artifact_id, phase="writing", error=None)
    ctx.log("INFO", f"export of backup {backup_id} as {fmt}"
                    + (" (encrypted)" if password else ""))
    with work_dir(ctx) as folder:
        names = member_names(files.key(backup_id))
        paths = extract(files.key(backup_id), names, folder)
        sources = list(zip(names, paths, strict=True))
        with files.writer(artifact_id) as w:
            dest = w.path_for_library()
            if fmt == "zip" and password:
                zip_encrypted(sources, dest, password)
            elif fmt == "zip":
                zip_plain(sources, dest)
            else:
                tar_plain(sources, dest)
    note(ctx.db, artifact_id, phase="completed", size=w.size, sha256=w.sha256,
         updated_at=now())
    ctx.progress(0, w.size)
    ctx.log("INFO", f"export written: {len(names)} files, {w.size} bytes, sha256 {w.sha256}")
    return {"artifact_id": artifact_id, "size": w.size, "sha256": w.sha256}

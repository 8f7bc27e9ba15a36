"""``backup_restore``: tables of a backup loaded back into destinations (each replacing the
table), and files of a backup written under a folder. The backup's ``restore.phase`` goes
``running`` -> ``completed`` (with ``error`` set when it failed)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sluiceway.artifacts import ArtifactStore
from sluiceway.connectors import registry
from sluiceway.core.errors import Cancelled, Fatal
from sluiceway.core.paths import confine
from sluiceway.engine import pipeline as engine
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.actors import load_actor
from sluiceway.jobs.kinds.backup import extract, work_dir
from sluiceway.jobs.kinds.sync import report
from sluiceway.protocol.catalog import DestinationSyncMode
from sluiceway.store.db import now
from sluiceway.store.models import Artifact


def _restore_state(ctx: AttemptContext, backup_id: str, **values: Any) -> None:
    with ctx.db.claim() as s:
        a = s.get(Artifact, backup_id)
        if a is None:
            raise Fatal(f"backup {backup_id} was deleted")
        meta = dict(a.meta or {})
        meta["restore"] = {**(meta.get("restore") or {}), **values}
        a.meta = meta


def run(ctx: AttemptContext) -> dict[str, Any]:
    backup_id = str(ctx.input["backup_id"])
    try:
        _restore_state(ctx, backup_id, phase="running", error=None)
        out = _run(ctx, backup_id)
    except BaseException as exc:
        _restore_state(ctx, backup_id, phase="completed", error=ctx.redact(str(exc))[:2000],
                       endedAt=now())
        raise
    _restore_state(ctx, backup_id, phase="completed", error=None, endedAt=now())
    return out


def _load_table(ctx: AttemptContext, parquet: Path, table: str,
                destination_id: str) -> dict[str, Any]:
    dest = load_actor(ctx, destination_id)
    config: dict[str, Any] = {"path": str(parquet), "format": "parquet",
                              "stream_name": table, "file_columns": False}
    source = registry.source("file")
    catalog = configure(source.discover(config), [StreamChoice(
        table, destination_sync_mode=DestinationSyncMode.overwrite)])
    ctx.log("INFO", f"restoring table {table!r} into {dest.connector} destination "
                    f"{destination_id} (replacing it)")
    target = registry.destination(dest.connector, ctx.settings.allowed_roots)
    result = engine.run(catalog, source, config, target,
                        dest.config, MemoryStateStore(), engine.Options(
                            buffer_bytes=ctx.settings.buffer_bytes, cancel=ctx.cancel,
                            log=ctx.log))
    return report(ctx, result)


def _restore_paths(ctx: AttemptContext, backup_file: Path, spec: dict[str, Any]) -> int:
    # checked again now: the folder may have become a symlink since the request
    target = confine(Path(str(spec["target"])), ctx.settings.allowed_roots,
                     "pathRestore.targetRestorePath")
    names = [str(n) for n in spec["names"]]
    if spec.get("clear") and target.is_dir():
        for child in target.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    target.mkdir(parents=True, exist_ok=True)
    extract(backup_file, names, target)
    ctx.log("INFO", f"restored {len(names)} file(s) to {target.name!r}")
    return len(names)


def _run(ctx: AttemptContext, backup_id: str) -> dict[str, Any]:
    inp = ctx.input
    backup_file = ArtifactStore(ctx.settings.artifacts_dir).key(backup_id)
    if not backup_file.is_file():
        raise Fatal(f"the file of backup {backup_id} is missing")
    tables: list[dict[str, Any]] = []
    records = 0
    with work_dir(ctx) as folder:
        for item in inp.get("database_restores") or []:
            if ctx.cancel.is_set():
                raise Cancelled("restore cancelled")
            (parquet,) = extract(backup_file, [str(item["file"])], folder)
            out = _load_table(ctx, parquet, str(item["table"]), str(item["target_id"]))
            records += int(out["records"])
            tables.append({"dump": item["dump"], "target": item["target_id"],
                           "records": out["records"]})
            parquet.unlink(missing_ok=True)
    files = 0
    if inp.get("path_restore"):
        files = _restore_paths(ctx, backup_file, dict(inp["path_restore"]))
    ctx.stats = {"tables": tables, "files": files, "records": records}
    return {"tables": tables, "files": files, "records": records}

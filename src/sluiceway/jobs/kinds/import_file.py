"""``import``: an uploaded CSV, JSON lines or Parquet file (an artifact) loaded into a table
of a destination, appended or replacing the table (an atomic swap)."""

from __future__ import annotations

from typing import Any

from sluiceway.artifacts import ArtifactStore
from sluiceway.connectors import registry
from sluiceway.core.errors import RecordRejected
from sluiceway.engine import pipeline as engine
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.actors import load_actor
from sluiceway.jobs.kinds.artifact_rows import note
from sluiceway.jobs.kinds.sync import report
from sluiceway.protocol.catalog import DestinationSyncMode


def run(ctx: AttemptContext) -> dict[str, Any]:
    artifact_id = str(ctx.input["artifact_id"])
    try:
        out = _run(ctx, artifact_id)
    except RecordRejected as exc:
        # the file's first bad row, where it is (file line) and why; nothing was loaded
        note(ctx.db, artifact_id, meta={"row_errors": [{
            "location": exc.location, "message": ctx.redact(exc.message)}]})
        raise
    note(ctx.db, artifact_id, meta={"rows": out["records"], "row_errors": []})
    return out


def _run(ctx: AttemptContext, artifact_id: str) -> dict[str, Any]:
    inp = ctx.input
    table = str(inp["table"])
    dest = load_actor(ctx, str(inp["destination_id"]))
    path = ArtifactStore(ctx.settings.artifacts_dir).key(artifact_id)
    src_config: dict[str, Any] = {"path": str(path), "format": inp["format"],
                                  "stream_name": table, "file_columns": False,
                                  **(inp.get("options") or {})}
    source = registry.source("file")
    mode = (DestinationSyncMode.overwrite if inp.get("mode") == "replace"
            else DestinationSyncMode.append)
    catalog = configure(source.discover(src_config), [StreamChoice(
        table, destination_sync_mode=mode)])
    ctx.log("INFO", f"import of {inp.get('filename')} into {dest.connector} table {table!r} "
                    f"({'replace' if mode is DestinationSyncMode.overwrite else 'append'})")
    result = engine.run(catalog, source, src_config, registry.destination(dest.connector),
                        dest.config, MemoryStateStore(), engine.Options(
                            buffer_bytes=ctx.settings.buffer_bytes, cancel=ctx.cancel,
                            log=ctx.log))
    return report(ctx, result)

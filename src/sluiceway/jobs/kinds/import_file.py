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

#: row errors kept on the import (the job log has each one too)
MAX_KEPT_ERRORS = 1000


def run(ctx: AttemptContext) -> dict[str, Any]:
    artifact_id = str(ctx.input["artifact_id"])
    skipped: list[dict[str, str]] = []
    try:
        out = _run(ctx, artifact_id, skipped)
    except RecordRejected as exc:
        # a bad row with bad_rows=fail (or too many with skip): where and why; in replace
        # mode the table is left as it was
        note(ctx.db, artifact_id, meta={"rows": 0, "row_errors": skipped[:MAX_KEPT_ERRORS] + [{
            "location": exc.location, "message": ctx.redact(exc.message)}]})
        raise
    note(ctx.db, artifact_id, meta={"rows": out["records"], "rejected_rows": len(skipped),
                                    "row_errors": skipped[:MAX_KEPT_ERRORS]})
    return {**out, "rejected_rows": len(skipped)}


def _run(ctx: AttemptContext, artifact_id: str, skipped: list[dict[str, str]],
         ) -> dict[str, Any]:
    inp = ctx.input
    table = str(inp["table"])
    dest = load_actor(ctx, str(inp["destination_id"]))
    path = ArtifactStore(ctx.settings.artifacts_dir).key(artifact_id)
    src_config: dict[str, Any] = {"path": str(path), "format": inp["format"],
                                  "stream_name": table, "file_columns": False,
                                  **(inp.get("options") or {})}
    if inp["format"] == "csv":
        src_config |= {"bad_rows": inp.get("bad_rows", "skip"),
                       "max_bad_rows": int(inp.get("max_bad_rows", 1000))}

    def rejected(_stream: str, location: str, reason: str) -> None:
        skipped.append({"location": location, "message": ctx.redact(reason)})
        ctx.log("WARN", f"row skipped: {location}: {reason}")

    source = registry.source("file")
    mode = (DestinationSyncMode.overwrite if inp.get("mode") == "replace"
            else DestinationSyncMode.append)
    catalog = configure(source.discover(src_config), [StreamChoice(
        table, destination_sync_mode=mode)])
    ctx.log("INFO", f"import of {inp.get('filename')} into {dest.connector} table {table!r} "
                    f"({'replace' if mode is DestinationSyncMode.overwrite else 'append'})")
    target = registry.destination(dest.connector, ctx.settings.allowed_roots)
    result = engine.run(catalog, source, src_config, target,
                        dest.config, MemoryStateStore(), engine.Options(
                            buffer_bytes=ctx.settings.buffer_bytes, cancel=ctx.cancel,
                            log=ctx.log, rejected=rejected))
    return report(ctx, result)

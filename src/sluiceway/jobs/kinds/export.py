"""``export``: one stream of a source (or of a destination, read back) into a file artifact,
with the chosen columns, a row filter and a format. The file is hashed while it is made and
the artifact row records size, SHA-256 and phase."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sluiceway.artifacts import ArtifactStore, zip_encrypted
from sluiceway.artifacts.formats import open_writer
from sluiceway.core.errors import Cancelled, UnknownStream
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.actors import load_actor, reader
from sluiceway.jobs.kinds.artifact_rows import (
    forget_password,
    held_password,
    marking_failure,
    note,
)
from sluiceway.protocol.messages import Estimate, RecordBatch
from sluiceway.store.db import now
from sluiceway.transforms.filter import compile_filter, select_columns


def _check_cancel(ctx: AttemptContext) -> None:
    if ctx.cancel.is_set():
        raise Cancelled("export cancelled")


def run(ctx: AttemptContext) -> dict[str, Any]:
    try:
        return marking_failure(ctx, _run)
    finally:
        forget_password(ctx)


def _run(ctx: AttemptContext, artifact_id: str) -> dict[str, Any]:
    inp = ctx.input
    actor = load_actor(ctx, str(inp["actor_id"]))
    source, config = reader(actor, roots=ctx.settings.allowed_roots)
    catalog = source.discover(config)
    stream = catalog.get(str(inp["stream"]))
    if stream is None:
        raise UnknownStream(str(inp["stream"]), [s.name for s in catalog.streams])
    columns = select_columns(inp.get("columns"), stream.schema)
    flt = compile_filter(inp["filter"], stream.schema) if inp.get("filter") else None
    configured = configure(catalog, [StreamChoice(
        stream.name, columns=tuple(columns) if columns else None)])
    schema = configured.streams[0].stream.schema
    ctx.log("INFO", f"export of {actor.kind} stream {stream.name!r} as {inp['format']}"
                    + (f", columns {columns}" if columns else "")
                    + (", filtered" if flt else ""))
    note(ctx.db, artifact_id, phase="writing", error=None)
    rows = read = 0
    files = ArtifactStore(ctx.settings.artifacts_dir)
    password = held_password(ctx, bool(inp.get("protected")))
    with files.writer(artifact_id) as w, tempfile.TemporaryDirectory(
            dir=ctx.settings.artifacts_dir, prefix=".export-") as work:
        plain = Path(work) / str(inp.get("inner_name") or "export")
        with open(plain if password else w.path_for_library(), "wb") as out:
            writer = open_writer(str(inp["format"]), out, schema)
            estimate = None
            for msg in source.read(config, configured, None):
                _check_cancel(ctx)
                if isinstance(msg, Estimate):
                    estimate = msg.rows
                if not isinstance(msg, RecordBatch):
                    continue
                batch = msg.batch
                read += batch.num_rows
                if flt is not None:
                    batch = flt(batch)
                if batch.num_rows:
                    writer.write(batch)
                    rows += batch.num_rows
                ctx.progress(rows, 0)
                if estimate:  # rows read against the source's estimate (filters drop some)
                    ctx.fraction = min(0.99, read / max(estimate, 1))
            writer.close()
        if password:  # an AES-encrypted ZIP holding the file
            zip_encrypted([(plain.name, plain)], w.path_for_library(), password)
    note(ctx.db, artifact_id, phase="completed", size=w.size, sha256=w.sha256,
           updated_at=now())
    ctx.progress(rows, w.size)
    ctx.log("INFO", f"export written: {rows} of {read} rows, {w.size} bytes, "
                    f"sha256 {w.sha256}")
    return {"artifact_id": artifact_id, "rows": rows, "rows_read": read, "size": w.size,
            "sha256": w.sha256}

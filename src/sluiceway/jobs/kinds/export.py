"""``export``: one stream of a source (or of a destination, read back) into a file artifact,
with the chosen columns, a row filter and a format, through the engine (see
:mod:`~sluiceway.jobs.kinds.to_artifact`). The file is hashed while it is made and
the artifact row records size, SHA-256 and phase."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from sluiceway.artifacts import ArtifactStore, zip_encrypted
from sluiceway.artifacts.formats import BatchWriter, open_writer
from sluiceway.core.errors import UnknownStream
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.actors import load_actor, reader
from sluiceway.jobs.kinds.artifact_rows import (
    forget_password,
    held_password,
    marking_failure,
    note,
)
from sluiceway.jobs.kinds.to_artifact import copy, filtering, into
from sluiceway.store.db import now
from sluiceway.transforms.filter import compile_filter, select_columns


class _Counted:
    """The export file's writer, counting the rows written into the attempt's progress."""

    def __init__(self, ctx: AttemptContext, writer: BatchWriter) -> None:
        self.ctx, self.writer, self.rows = ctx, writer, 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write(batch)
        self.rows += batch.num_rows
        self.ctx.progress(self.rows, 0)

    def close(self) -> None:
        self.writer.close()


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
    files = ArtifactStore(ctx.settings.artifacts_dir)
    password = held_password(ctx, bool(inp.get("protected")))
    estimate: list[int] = []

    def on_read(_: str, read: int, __: int) -> None:
        if estimate:  # rows read against the source's estimate (filters drop some)
            ctx.fraction = min(0.99, read / max(estimate[0], 1))

    with files.writer(artifact_id) as w, tempfile.TemporaryDirectory(
            dir=ctx.settings.artifacts_dir, prefix=".export-") as work:
        plain = Path(work) / str(inp.get("inner_name") or "export")
        with open(plain if password else w.path_for_library(), "wb") as out:
            sink = _Counted(ctx, open_writer(str(inp["format"]), out, schema))
            result = copy(ctx, "export", source, config, configured, into(sink),
                          transform=filtering(flt),
                          progress=on_read, estimate=lambda _, n: estimate.append(n))
        rows, read = sink.rows, result.streams[0].records
        if password:  # an AES-encrypted ZIP holding the file
            zip_encrypted([(plain.name, plain)], w.path_for_library(), password)
    note(ctx.db, artifact_id, phase="completed", size=w.size, sha256=w.sha256,
           updated_at=now())
    ctx.progress(rows, w.size)
    ctx.log("INFO", f"export written: {rows} of {read} rows, {w.size} bytes, "
                    f"sha256 {w.sha256}")
    return {"artifact_id": artifact_id, "rows": rows, "rows_read": read, "size": w.size,
            "sha256": w.sha256}

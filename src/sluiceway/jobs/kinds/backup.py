"""``backup``: a workspace's whole configuration and a data dump of its destinations, as one
tar artifact.

The tar holds ``config.json`` (the workspace, its live sources and destinations with their
configs *sealed* as stored, its connections with catalogs and schedules, their stream states,
and the list of dumps) and ``data/<destinationId>/<file>.parquet``, one file per table of a
destination that can be read back (:data:`READABLE_DESTINATIONS`). Members are read back
with :func:`read_config` and :func:`extract`, which accept only plain relative names.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select

from sluiceway.artifacts import ArtifactStore, tar_plain
from sluiceway.artifacts.formats import open_writer
from sluiceway.core.errors import Fatal, FieldError, InvalidInput, NotFound
from sluiceway.core.paths import within
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.actors import READABLE_DESTINATIONS, load_actor, reader
from sluiceway.jobs.kinds.artifact_rows import marking_failure, note
from sluiceway.jobs.kinds.to_artifact import copy, into
from sluiceway.store.db import Database, now
from sluiceway.store.models import (
    Actor,
    Artifact,
    Connection,
    ConnectorDefinition,
    StreamState,
    Workspace,
)

__all__ = ["CONFIG", "READABLE_DESTINATIONS", "extract", "member_names", "read_config",
           "run", "snapshot", "work_dir"]

CONFIG = "config.json"
FORMAT_VERSION = 1
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WORKSPACE_FIELDS = ("id", "customer_id", "name", "slug", "email", "initial_setup_complete",
                     "onboarding_complete", "anonymous_data_collection", "news",
                     "security_updates")
_CONNECTION_FIELDS = ("id", "source_id", "destination_id", "name", "sync_mode", "catalog",
                      "schedule_units", "schedule_time_unit", "status", "created_at")


@contextmanager
def work_dir(ctx: AttemptContext) -> Iterator[Path]:
    """A scratch folder in the data directory (same disk as the artifacts), removed after."""
    base = ctx.settings.data_dir / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="backup-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- the configuration ------------------------------------------------------------------

def snapshot(db: Database, workspace_id: str) -> dict[str, Any]:
    """The workspace's configuration as it is stored (secrets stay sealed)."""
    with db.session() as s:
        ws = s.get(Workspace, workspace_id)
        if ws is None:
            raise Fatal(f"workspace {workspace_id} does not exist")
        actors = []
        for a, d in s.execute(select(Actor, ConnectorDefinition)
                              .join(ConnectorDefinition,
                                    Actor.definition_id == ConnectorDefinition.id)
                              .where(Actor.workspace_id == workspace_id,
                                     Actor.tombstone.is_(False)).order_by(Actor.created_at)):
            actors.append({"id": a.id, "kind": a.kind, "name": a.name,
                           "definition_id": a.definition_id,
                           "connector": d.docker_repository, "config": a.config,
                           "created_at": a.created_at})
        connections = [{f: getattr(c, f) for f in _CONNECTION_FIELDS}
                       for c in s.scalars(select(Connection).where(
                           Connection.workspace_id == workspace_id,
                           Connection.status != "deprecated").order_by(Connection.created_at))]
        ids = [c["id"] for c in connections]
        states = [{"connection_id": st.connection_id, "stream": st.stream,
                   "record": st.record}
                  for st in s.scalars(select(StreamState).where(
                      StreamState.connection_id.in_(ids)).order_by(
                      StreamState.connection_id, StreamState.stream))] if ids else []
        return {"version": FORMAT_VERSION, "created_at": now(),
                "workspace": {f: getattr(ws, f) for f in _WORKSPACE_FIELDS},
                "actors": actors, "connections": connections, "stream_states": states}


# --- reading a backup file ----------------------------------------------------------------

def _plain_name(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and not name.startswith("/") and ".." not in parts and "\\" not in name


def member_names(path: Path) -> list[str]:
    """The regular files in a backup tar."""
    with tarfile.open(path) as tar:
        return [m.name for m in tar.getmembers() if m.isfile() and _plain_name(m.name)]


def read_config(path: Path) -> dict[str, Any]:
    with tarfile.open(path) as tar:
        try:
            member = tar.getmember(CONFIG)
        except KeyError:
            raise Fatal("the backup file has no config.json") from None
        f = tar.extractfile(member)
        if f is None:
            raise Fatal("the backup's config.json is not a file")
        with f:
            config: dict[str, Any] = json.load(f)
    return config


def extract(path: Path, names: list[str], target: Path) -> list[Path]:
    """Copy the named members (plain relative names) under ``target``; returns the files."""
    out = []
    with tarfile.open(path) as tar:
        for name in names:
            if not _plain_name(name):
                raise InvalidInput("invalid backup path", [FieldError(
                    "sourcePaths", "must be a relative path without '..'", name)])
            try:
                member = tar.getmember(name)
            except KeyError:
                raise NotFound(f"{name!r} is not in the backup", name) from None
            src = tar.extractfile(member)
            if src is None or not member.isfile():
                raise NotFound(f"{name!r} is not a file in the backup", name)
            dest = target.joinpath(*PurePosixPath(name).parts)
            if not within(dest, (target.resolve(),)):  # a symlink in the target leads out
                raise InvalidInput("invalid restore target", [FieldError(
                    "pathRestore.targetRestorePath", f"{name!r} would be written outside the "
                    "target folder through a symlink", name)])
            dest.parent.mkdir(parents=True, exist_ok=True)
            with src, dest.open("wb") as f:
                shutil.copyfileobj(src, f, 1024 * 1024)
            out.append(dest)
    return out


# --- the job --------------------------------------------------------------------------------

def run(ctx: AttemptContext) -> dict[str, Any]:
    return marking_failure(ctx, _run)


def _file_name(table: str, taken: set[str]) -> str:
    base = _SAFE.sub("_", table).strip("._") or "table"
    name, n = f"{base}.parquet", 1
    while name in taken:
        n += 1
        name = f"{base}-{n}.parquet"
    taken.add(name)
    return name


def _dump(ctx: AttemptContext, destination_id: str, folder: Path) -> list[dict[str, Any]]:
    actor = load_actor(ctx, destination_id)
    source, config = reader(actor, roots=ctx.settings.allowed_roots)
    catalog = source.discover(config)
    dumps: list[dict[str, Any]] = []
    taken: set[str] = set()
    for stream in catalog.streams:
        configured = configure(catalog, [StreamChoice(stream.name)])
        schema = configured.streams[0].stream.schema
        file = _file_name(stream.name, taken)
        arcname = f"data/{destination_id}/{file}"
        dest = folder.joinpath("data", destination_id, file)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("wb") as out:
            writer = open_writer("parquet", out, schema)
            copy(ctx, "backup", source, config, configured, into(writer))
        rows = writer.rows_written
        ctx.log("INFO", f"dumped {actor.connector} table {stream.name!r}: {rows} rows")
        dumps.append({"dump": f"{destination_id}/{stream.name}", "destinationId": destination_id,
                      "table": stream.name, "file": arcname, "rows": rows})
    return dumps


def _run(ctx: AttemptContext, artifact_id: str) -> dict[str, Any]:
    with ctx.db.session() as s:
        a = s.get(Artifact, artifact_id)
        if a is None:
            raise Fatal(f"backup {artifact_id} was deleted")
        workspace_id = a.workspace_id
    note(ctx.db, artifact_id, phase="writing", error=None)
    config = snapshot(ctx.db, workspace_id)
    destination_ids = list(ctx.input.get("destination_ids") or [])
    ctx.log("INFO", f"backup of workspace {workspace_id}: {len(config['actors'])} actors, "
                    f"{len(config['connections'])} connections, data of "
                    f"{len(destination_ids)} destination(s)")
    with work_dir(ctx) as folder:
        dumps: list[dict[str, Any]] = []
        for destination_id in destination_ids:
            dumps.extend(_dump(ctx, str(destination_id), folder))
        config["dumps"] = dumps
        (folder / CONFIG).write_text(json.dumps(config, sort_keys=True, indent=1))
        sources = [(CONFIG, folder / CONFIG)] + [(d["file"], folder.joinpath(
            *PurePosixPath(d["file"]).parts)) for d in dumps]
        with ArtifactStore(ctx.settings.artifacts_dir).writer(artifact_id) as w:
            tar_plain(sources, w.path_for_library())
    rows = sum(int(d["rows"]) for d in dumps)
    note(ctx.db, artifact_id, phase="completed", size=w.size, sha256=w.sha256,
         updated_at=now(), meta={"dumps": dumps, "completedAt": now()})
    ctx.progress(rows, w.size)
    ctx.log("INFO", f"backup written: {len(dumps)} table(s), {rows} rows, {w.size} bytes, "
                    f"sha256 {w.sha256}")
    return {"artifact_id": artifact_id, "tables": len(dumps), "rows": rows, "size": w.size,
            "sha256": w.sha256}

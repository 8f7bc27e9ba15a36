"""Workspace backups: a workspace's whole configuration and a data dump of its
destinations, exported for download, restored. (The backup family of the API, seed 003,
renders them in ``sluiceway.api.backups``.)

A backup is an ``Artifact`` of kind ``backup`` (its file: the tar the ``backup`` job writes,
see :mod:`sluiceway.jobs.kinds.backup`); its description, export link and restore state live
in ``meta``. Its phase is the artifact's: ``pending`` and ``writing`` while it is being
created, then ``completed`` or ``failed``. An export is an ``Artifact`` of kind
``backup_export`` named by the backup's ``meta["export"]``; when the pruner has removed it,
the export's phase is ``expired``. Inputs and errors name fields as the typed inputs here
do (``expiration_time``, ``path_restore.source_paths[0]``); a face renames them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from sluiceway.artifacts import hash_password
from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.jobs import ledger
from sluiceway.jobs.kinds.backup import (
    CONFIG,
    READABLE_DESTINATIONS,
    member_names,
    read_config,
)
from sluiceway.services import artifacts, audit, listing, policy, scope
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import (
    Actor,
    Artifact,
    Connection,
    ConnectorDefinition,
    StreamState,
    Workspace,
)

KIND = "backup"
EXPORT_KIND = "backup_export"
EXPORT_FORMATS = {"tar": "application/x-tar", "zip": "application/zip"}
MAX_LIMIT = listing.MAX_PAGE_SIZE
MAX_EXPIRY_SECONDS = 366 * 24 * 3600.0  # "no more than one year in the future"
#: the phases of a backup (its artifact's) and of an export while it is being made
MAKING = ("pending", "writing")
_CONNECTION_FIELDS = ("source_id", "destination_id", "name", "sync_mode", "catalog",
                      "schedule_units", "schedule_time_unit", "status")
_WORKSPACE_FLAGS = ("name", "email", "initial_setup_complete", "onboarding_complete",
                    "anonymous_data_collection", "news", "security_updates")


# --- views ------------------------------------------------------------------------------------
# A backup's export and restore are kept in its artifact's ``meta`` (written by this module
# and by the backup jobs, in the keys existing installations have); the views below are what
# leaves this module.

@dataclass(frozen=True)
class ExportView:
    """A backup's export: ``phase`` is ``pending``, ``writing``, ``completed``, ``failed`` or
    ``expired`` (the pruner removed the file, or its time is up)."""

    id: str
    format: str
    with_password: bool
    phase: str
    expires_at: float | None
    #: the file's checksum once it is complete
    sha256: str | None

    @property
    def making(self) -> bool:
        return self.phase in MAKING


@dataclass(frozen=True)
class DatabaseRestore:
    """One table of a backup (``<destinationId>/<table>``) into a destination."""

    database_backup_dump: str
    target_database_id: str


@dataclass(frozen=True)
class PathRestore:
    """Files of a backup into a folder (inside an allowed file root)."""

    source_paths: list[str]
    target_restore_path: str | None = None
    clear_target_path: bool = False


@dataclass(frozen=True)
class PathRestoreView:
    source_paths: tuple[str, ...]
    target_restore_path: str | None
    #: the folder the files go to, as the caller may see it
    determined_target_path: str
    clear_target_path: bool


@dataclass(frozen=True)
class RestoreView:
    """The last restore of a backup: ``phase`` is ``running`` or ``completed`` (``error``
    says why when it failed)."""

    phase: str
    database_restores: tuple[DatabaseRestore, ...]
    path_restore: PathRestoreView | None
    restore_configuration: bool
    error: str | None

    @property
    def running(self) -> bool:
        return self.phase == "running"


@dataclass(frozen=True)
class BackupView:
    """A backup: ``phase`` is its file's (``pending``, ``writing``, ``completed``,
    ``failed``, ``expired``)."""

    id: str
    workspace_id: str
    phase: str
    description: str | None
    requested_at: float
    completed_at: float | None
    expires_at: float | None
    export: ExportView | None
    restore: RestoreView | None
    #: the tables it holds, as ``<destinationId>/<table>``
    dumps: tuple[str, ...]
    #: the files it holds (what a path restore names): its configuration, then each
    #: table's file
    files: tuple[str, ...] = ()

    @property
    def creating(self) -> bool:
        return self.phase in MAKING

    @property
    def running(self) -> bool:
        """Being created, exported or restored."""
        return (self.creating or (self.export is not None and self.export.making)
                or (self.restore is not None and self.restore.running))

    @property
    def deletable(self) -> bool:
        return not self.running


def _export_view(info: Mapping[str, Any] | None, e: Artifact | None) -> ExportView | None:
    if not info:
        return None
    expired = e is None or e.phase == "expired" or (
        e.expires_at is not None and e.expires_at < now())
    phase = "expired" if expired or e is None else e.phase
    expires = e.expires_at if e is not None else info.get("expiresAt")
    return ExportView(id=str(info["id"]), format=str(info["format"]),
                      with_password=bool(info.get("withPassword")), phase=phase,
                      expires_at=float(expires) if expires is not None else None,
                      sha256=e.sha256 if e is not None and phase == "completed" else None)


def _restore_view(info: Mapping[str, Any] | None) -> RestoreView | None:
    if not info:
        return None
    path = info.get("pathRestore")
    return RestoreView(
        phase=str(info.get("phase") or "running"),
        database_restores=tuple(DatabaseRestore(str(d["databaseBackupDump"]),
                                                str(d["targetDatabaseId"]))
                                for d in info.get("databaseRestores") or []),
        path_restore=PathRestoreView(
            tuple(path.get("sourcePaths") or ()), path.get("targetRestorePath"),
            str(path.get("determinedTargetPath")), bool(path.get("clearTargetPath")),
        ) if path else None,
        restore_configuration=bool(info.get("restoreConfiguration")),
        error=info.get("error") or None)


def _view(a: Artifact, export_row: Artifact | None) -> BackupView:
    meta = dict(a.meta or {})
    completed = meta.get("completedAt")
    return BackupView(
        id=a.id, workspace_id=a.workspace_id, phase=a.phase,
        description=meta.get("description"), requested_at=a.created_at,
        completed_at=float(completed) if completed is not None else None,
        expires_at=a.expires_at, export=_export_view(meta.get("export"), export_row),
        restore=_restore_view(meta.get("restore")),
        dumps=tuple(str(d["dump"]) for d in meta.get("dumps") or []),
        files=(CONFIG, *(str(d["file"]) for d in meta.get("dumps") or [] if d.get("file")))
        if a.phase == "completed" else ())


@dataclass(frozen=True)
class _Backup:
    """A backup row, its export row (None: no export, or the pruner removed it) and its
    view, inside this module's transactions."""

    row: Artifact
    export_row: Artifact | None
    view: BackupView


def _load(s: Session, rows: list[Artifact]) -> list[_Backup]:
    ids = [str((a.meta or {}).get("export", {}).get("id")) for a in rows
           if (a.meta or {}).get("export")]
    exports = {e.id: e for e in s.scalars(select(Artifact).where(Artifact.id.in_(ids)))} \
        if ids else {}
    out = []
    for a in rows:
        e = exports.get(str((a.meta or {}).get("export", {}).get("id")))
        out.append(_Backup(a, e, _view(a, e)))
    return out


def _one(s: Session, caller: Caller, backup_id: str) -> _Backup:
    return _load(s, [_backup(s, caller, backup_id)])[0]


def _completed(s: Session, caller: Caller, backup_id: str, action: str) -> _Backup:
    """The caller's backup if it is complete (else 409: it cannot be ``action``); a caller
    who may not change it is refused first, whatever its phase."""
    b = _one(s, caller, backup_id)
    policy.require(caller, policy.CHANGE, b.view.workspace_id)
    if b.view.phase != "completed":
        raise Conflict(f"backup {backup_id} cannot be {action}: it is not complete (its "
                       f"phase is {b.view.phase})")
    return b


def _backup(s: Session, caller: Caller, backup_id: str) -> Artifact:
    a = s.get(Artifact, backup_id)
    if a is None or a.kind != KIND or not caller.can_see(a.workspace_id):
        raise NotFound(f"backup {backup_id} not found", backup_id)
    return a


def get_backup(p: Platform, caller: Caller, backup_id: str) -> BackupView:
    with p.db.session() as s:
        return _one(s, caller, backup_id).view


# --- listing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ListQuery:
    """Which backups of a workspace to list: ``search_term`` matches the id or the
    description; ``limit`` is 1 to :data:`MAX_LIMIT`."""

    search_term: str | None = None
    with_exports_only: bool = False
    newest_first: bool = False
    running_restores_only: bool = False
    running_backups_only: bool = False
    limit: int = 1000
    skip: int = 0


def list_backups(p: Platform, caller: Caller, project_id: str, q: ListQuery
                 ) -> tuple[list[BackupView], int]:
    """The page of backups and how many match in all."""
    with p.db.session() as s:
        ws = scope.workspace(s, caller, project_id)
        rows = list(s.scalars(select(Artifact).where(
            Artifact.workspace_id == ws.id, Artifact.kind == KIND).order_by(
            Artifact.created_at, Artifact.id)))
        views = [b.view for b in _load(s, rows)]
    term = (q.search_term or "").lower()
    out = []
    for v in views:
        if term and term not in v.id.lower() and term not in (v.description or "").lower():
            continue
        if q.with_exports_only and (v.export is None or v.export.phase == "expired"):
            continue
        if q.running_restores_only and (v.restore is None or not v.restore.running):
            continue
        if q.running_backups_only and not v.creating:
            continue
        out.append(v)
    if q.newest_first:
        out.reverse()
    return out[q.skip:q.skip + q.limit], len(out)


# --- create, update, delete ---------------------------------------------------------------------

def _expiry(at: float | None, default: float) -> float:
    if at is None:
        return now() + default
    if at <= now():
        raise InvalidInput("invalid backup", [FieldError(
            "expiration_time", "must be in the future", _shown_time(at))])
    if at > now() + MAX_EXPIRY_SECONDS:
        raise InvalidInput("invalid backup", [FieldError(
            "expiration_time", "must be no more than one year in the future",
            _shown_time(at))])
    return at


def _shown_time(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat().replace("+00:00", "Z")


def _description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 1000:
        raise InvalidInput("invalid backup", [FieldError(
            "description", "must be a text of at most 1000 characters")])
    return value


def _readable(s: Session, ws_id: str, only: list[str] | None) -> list[str]:
    rows = s.execute(select(Actor.id, ConnectorDefinition.docker_repository)
                     .join(ConnectorDefinition, Actor.definition_id == ConnectorDefinition.id)
                     .where(Actor.workspace_id == ws_id, Actor.kind == "destination",
                            Actor.tombstone.is_(False)).order_by(Actor.created_at)).all()
    connector = {str(i): str(c) for i, c in rows}
    if only is None:
        return [i for i, c in connector.items() if c in READABLE_DESTINATIONS]
    errors = []
    for n, d in enumerate(only):
        if d not in connector:
            errors.append(FieldError(f"destination_ids[{n}]",
                                     "is not a destination of this project", d))
        elif connector[d] not in READABLE_DESTINATIONS:
            errors.append(FieldError(f"destination_ids[{n}]", f"a {connector[d]} destination "
                                     "cannot be read back; readable ones: "
                                     + ", ".join(READABLE_DESTINATIONS), d))
    if errors:
        raise InvalidInput("invalid backup", errors)
    return list(dict.fromkeys(only))


def create_backup(p: Platform, caller: Caller, project_id: str, *,
                  description: str | None = None, expires_at: float | None = None,
                  destination_ids: list[str] | None = None) -> BackupView:
    """Queue a ``backup`` job; the backup is being created (``pending``) until it has run.
    ``expires_at`` (epoch seconds) defaults to now plus the artifact lifetime."""
    description = _description(description)
    expires = _expiry(expires_at, p.settings.artifact_ttl_seconds)
    with p.db.claim() as s:
        ws = scope.workspace(s, caller, project_id)
        policy.require(caller, policy.CHANGE, ws.id)
        dests = _readable(s, ws.id, destination_ids)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        art = Artifact(workspace_id=ws.id, kind=KIND, format="tar",
                       mime_type="application/x-tar", filename=f"backup-{stamp}.tar",
                       created_by=caller.user_id, phase="pending", expires_at=expires,
                       meta={"description": description, "destinationIds": dests})
        s.add(art)
        s.flush()
        job = ledger.enqueue(s, workspace_id=ws.id, config_type="backup", scope=art.id,
                             max_attempts=p.settings.job_attempts,
                             input={"artifact_id": art.id, "destination_ids": dests})
        art.job_id = job.id
        s.flush()
        audit.record(s, caller, "backup.create", "backup", f"backup {art.id} queued",
                     request={"id": art.id, "description": description,
                              "expires_at": expires_at, "destination_ids": dests},
                     workspace_id=ws.id)
        return _load(s, [art])[0].view


_UNSET: Any = object()


def update_backup(p: Platform, caller: Caller, backup_id: str, *,
                  description: Any = _UNSET, expires_at: float | None = None) -> None:
    """Change the description (None clears it) and/or the expiry (epoch seconds)."""
    desc = _description(description) if description is not _UNSET else _UNSET
    expires = _expiry(expires_at, 0.0) if expires_at is not None else None
    with p.db.claim() as s:
        a = _backup(s, caller, backup_id)
        policy.require(caller, policy.CHANGE, a.workspace_id)
        if desc is not _UNSET:
            a.meta = {**(a.meta or {}), "description": desc}
        if expires is not None:
            a.expires_at = expires
        audit.record(s, caller, "backup.update", "backup", f"backup {a.id} updated",
                     request={"id": a.id, "description": None if desc is _UNSET else desc,
                              "expires_at": expires_at},
                     workspace_id=a.workspace_id)


def _drop(p: Platform, s: Session, a: Artifact) -> None:
    artifacts.store(p).delete(a.id)
    s.delete(a)


def delete_backup(p: Platform, caller: Caller, backup_id: str) -> None:
    """Delete the backup, its file and its export; refused while it is not ``deletable``."""
    with p.db.claim() as s:
        b = _one(s, caller, backup_id)
        policy.require(caller, policy.CHANGE, b.view.workspace_id)
        if not b.view.deletable:
            raise Conflict(f"backup {backup_id} is not deletable while it is being created, "
                           "exported or restored")
        if b.export_row is not None:
            _drop(p, s, b.export_row)
        audit.record(s, caller, "backup.delete", "backup", f"backup {backup_id} deleted",
                     request={"id": backup_id}, workspace_id=b.view.workspace_id)
        _drop(p, s, b.row)


def database_dumps(p: Platform, caller: Caller, backup_id: str) -> list[str]:
    """The tables a backup holds, as ``<destinationId>/<table>``."""
    return list(get_backup(p, caller, backup_id).dumps)


# --- export -------------------------------------------------------------------------------------

def create_export(p: Platform, caller: Caller, backup_id: str, fmt: Any,
                  password: Any = None) -> BackupView:
    """Queue a ``backup_export`` job (a tar, a ZIP, or an AES-encrypted ZIP with a password);
    an earlier finished export of the backup is replaced."""
    errors = []
    if fmt not in EXPORT_FORMATS:
        errors.append(FieldError("format", f"must be one of {', '.join(EXPORT_FORMATS)}",
                                 fmt if isinstance(fmt, str) else None))
    if password is not None and (not isinstance(password, str) or not password):
        errors.append(FieldError("password", "must be a non-empty text"))
    elif password is not None and fmt == "tar":
        errors.append(FieldError("password", "only a zip export can be protected with a "
                                 "password; choose format zip"))
    if errors:
        raise InvalidInput("invalid export", errors)
    password_hash = hash_password(password) if password else None  # slow: before the lock
    with p.db.claim() as s:
        found = _completed(s, caller, backup_id, "exported")
        old = found.view.export
        if old is not None and old.making:
            raise Conflict(f"backup {backup_id} is already being exported")
        if found.export_row is not None:
            _drop(p, s, found.export_row)
        b = found.row
        e = Artifact(workspace_id=b.workspace_id, kind=EXPORT_KIND, format=fmt,
                     mime_type=EXPORT_FORMATS[fmt], filename=f"backup-{b.id}.{fmt}",
                     created_by=caller.user_id, phase="pending",
                     password_hash=password_hash,
                     expires_at=now() + p.settings.artifact_ttl_seconds,
                     meta={"backup_id": b.id})
        s.add(e)
        s.flush()
        job = ledger.enqueue(s, workspace_id=b.workspace_id, config_type="backup_export",
                             scope=e.id, max_attempts=p.settings.job_attempts, input={
                                 "artifact_id": e.id, "backup_id": b.id, "format": fmt,
                                 "with_password": bool(password),
                                 "password": p.cipher.encrypt(password) if password else None})
        e.job_id = job.id
        b.meta = {**(b.meta or {}), "export": {"id": e.id, "format": fmt,
                                               "withPassword": bool(password),
                                               "expiresAt": e.expires_at}}
        audit.record(s, caller, "backup.export", "backup", f"export of backup {b.id} queued",
                     request={"id": b.id, "format": fmt, "password": password},
                     workspace_id=b.workspace_id)
        s.flush()
        return _load(s, [b])[0].view


def delete_export(p: Platform, caller: Caller, backup_id: str) -> None:
    with p.db.claim() as s:
        b = _one(s, caller, backup_id)
        policy.require(caller, policy.CHANGE, b.view.workspace_id)
        export = b.view.export
        if export is None:
            raise NotFound(f"backup {backup_id} has no export", backup_id)
        if export.making:
            raise Conflict(f"the export of backup {backup_id} is still being made")
        if b.export_row is not None:
            _drop(p, s, b.export_row)
        meta = dict(b.row.meta or {})
        meta.pop("export", None)
        b.row.meta = meta
        audit.record(s, caller, "backup.export_delete", "backup",
                     f"export of backup {backup_id} deleted", request={"id": backup_id},
                     workspace_id=b.view.workspace_id)


def export_file(p: Platform, backup_id: str, *, caller: Caller | None = None,
                expires: int | None = None, signature: str | None = None
                ) -> artifacts.ArtifactView:
    """The export artifact to download: for a caller, or for a signed link (no login)."""
    with p.db.session() as s:
        if caller is not None:
            b = _backup(s, caller, backup_id)
        else:
            found = s.get(Artifact, backup_id)
            if found is None or found.kind != KIND:
                raise NotFound(f"backup {backup_id} not found", backup_id)
            b = found
        export_id = str((b.meta or {}).get("export", {}).get("id") or "")
    if not export_id:
        raise NotFound(f"backup {backup_id} has no export", backup_id)
    if caller is None:
        e = artifacts.by_signature(p, export_id, expires, signature, kind=EXPORT_KIND)
    else:
        e = artifacts.get(p, caller, export_id, kind=EXPORT_KIND)
    if e.kind != EXPORT_KIND or (e.meta or {}).get("backup_id") != backup_id:
        raise NotFound(f"backup {backup_id} has no export", backup_id)
    return e


# --- restore ------------------------------------------------------------------------------------

def _source_names(members: list[str], paths: list[str]) -> list[str]:
    """The backup's files that ``paths`` name (a file, or a folder: everything under it)."""
    if not paths:
        raise InvalidInput("invalid restore", [FieldError(
            "path_restore.source_paths", "must name at least one path of the backup")])
    picked: dict[str, None] = {}
    errors = []
    for n, raw in enumerate(paths):
        field = f"path_restore.source_paths[{n}]"
        if not isinstance(raw, str) or "\x00" in raw or "\\" in raw:
            errors.append(FieldError(field, "must be a path of the backup"))
            continue
        parts = PurePosixPath(raw).parts
        if ".." in parts:
            errors.append(FieldError(field, "must not contain '..'", raw))
            continue
        rel = "/".join(p for p in parts if p not in ("/", "."))
        hits = [m for m in members if not rel or m == rel or m.startswith(rel + "/")]
        if not hits:
            errors.append(FieldError(field, "is not a path of the backup", raw))
        picked.update(dict.fromkeys(hits))
    if errors:
        raise InvalidInput("invalid restore", errors)
    return list(picked)


def _target(p: Platform, backup_id: str, raw: str | None, clear: bool) -> tuple[Path, str]:
    """The folder files are restored to (inside an allowed file root) and how it is shown."""
    field = "path_restore.target_restore_path"
    roots = p.settings.allowed_roots
    given = raw if raw is not None else f"backups/{backup_id}"
    if not isinstance(given, str) or not given.strip() or "\x00" in given:
        raise InvalidInput("invalid restore", [FieldError(field, "must be a folder path")])
    if ".." in Path(given).parts:
        raise InvalidInput("invalid restore", [FieldError(
            field, "must not contain '..'", given)])
    path = Path(given)
    if not path.is_absolute():
        path = roots[0] / path
    resolved = path.resolve()
    if not any(resolved == r or resolved.is_relative_to(r) for r in roots):
        raise InvalidInput("invalid restore", [FieldError(
            field, "must be inside an allowed folder (a relative path is taken inside the "
            "first one; see SLUICEWAY_FILE_ROOTS)", given)])
    if resolved.exists() and not resolved.is_dir():
        raise InvalidInput("invalid restore", [FieldError(field, "is a file, not a folder",
                                                          given)])
    if clear and resolved in roots:
        raise InvalidInput("invalid restore", [FieldError(
            field, "clearTargetPath cannot empty a whole file root; name a folder inside it",
            given)])
    return resolved, given


def _restore_config(s: Session, ws_id: str, config: dict[str, Any]) -> None:
    """Put back the workspace's sources, destinations, connections and stream states as the
    backup has them (same ids, secrets sealed as they were); objects made since are kept."""
    ws = s.get(Workspace, ws_id)
    if ws is None:  # pragma: no cover - the backup row would have gone with it
        raise NotFound(f"workspace {ws_id} not found", ws_id)
    if config.get("workspace", {}).get("id") != ws_id:
        raise InvalidInput("invalid restore", [FieldError(
            "restore_configuration", "the backup belongs to another project")])
    for name in _WORKSPACE_FLAGS:
        if name in config["workspace"]:
            setattr(ws, name, config["workspace"][name])
    for item in config.get("actors") or []:
        d = s.get(ConnectorDefinition, item["definition_id"])
        if d is not None and d.workspace_id not in (None, ws_id):
            d = None  # another workspace's own definition: not for this one
        if d is None:
            d = s.scalars(select(ConnectorDefinition).where(
                ConnectorDefinition.kind == item["kind"],
                ConnectorDefinition.docker_repository == item["connector"],
                or_(ConnectorDefinition.workspace_id.is_(None),
                    ConnectorDefinition.workspace_id == ws_id))
                .order_by(ConnectorDefinition.builtin.desc())).first()
        if d is None:
            raise InvalidInput("invalid restore", [FieldError(
                "restore_configuration", f"no {item['kind']} definition for connector "
                f"{item['connector']!r} exists on this server")])
        a = s.get(Actor, item["id"])
        if a is not None and a.workspace_id != ws_id:
            raise Conflict(f"{item['kind']} {item['id']} belongs to another project")
        if a is None:
            a = Actor(id=item["id"], workspace_id=ws_id, created_at=item.get("created_at"))
            s.add(a)
        a.definition_id, a.kind, a.name = d.id, item["kind"], item["name"]
        a.config, a.tombstone = item["config"], False
    s.flush()
    connection_ids = []
    for item in config.get("connections") or []:
        c = s.get(Connection, item["id"])
        if c is not None and c.workspace_id != ws_id:
            raise Conflict(f"connection {item['id']} belongs to another project")
        if c is None:
            c = Connection(id=item["id"], workspace_id=ws_id,
                           created_at=item.get("created_at"))
            s.add(c)
        for name in _CONNECTION_FIELDS:
            setattr(c, name, item[name])
        c.next_run_at = None  # the scheduler starts the series again
        connection_ids.append(item["id"])
    s.flush()
    if connection_ids:
        s.execute(delete(StreamState).where(StreamState.connection_id.in_(connection_ids)))
        for st in config.get("stream_states") or []:
            s.add(StreamState(connection_id=st["connection_id"], stream=st["stream"],
                              record=st["record"]))


def restore(p: Platform, caller: Caller, backup_id: str, *,
            database_restores: list[DatabaseRestore] | None = None,
            path_restore: PathRestore | None = None,
            restore_configuration: bool = False) -> BackupView:
    """Queue a ``backup_restore`` job: tables into destinations (each replacing the table)
    and files under a folder. With ``restore_configuration`` (a Sluiceway extension) the
    workspace's configuration is put back first, in this request, and every table of the
    backup goes back to its own destination unless ``database_restores`` says otherwise."""
    if not database_restores and path_restore is None and not restore_configuration:
        raise InvalidInput("invalid restore", [FieldError(
            "database_restores", "name what to restore: tables of the backup, paths of "
            "the backup, or its configuration")])
    files = artifacts.store(p)
    with p.db.claim() as s:
        found = _completed(s, caller, backup_id, "restored")
        restore_now = found.view.restore
        if restore_now is not None and restore_now.running:
            raise Conflict(f"backup {backup_id} is already being restored")
        b = found.row
        dumps = {str(d["dump"]): d for d in (b.meta or {}).get("dumps") or []}
        path_input: dict[str, Any] | None = None
        path_shown: dict[str, Any] | None = None
        if path_restore is not None:
            names = _source_names(member_names(files.key(b.id)), path_restore.source_paths)
            target, shown = _target(p, b.id, path_restore.target_restore_path,
                                    path_restore.clear_target_path)
            path_input = {"names": names, "target": str(target),
                          "clear": path_restore.clear_target_path}
            path_shown = {"sourcePaths": path_restore.source_paths,
                          "targetRestorePath": path_restore.target_restore_path,
                          "determinedTargetPath": shown,
                          "clearTargetPath": path_restore.clear_target_path}
        if restore_configuration:
            _restore_config(s, b.workspace_id, read_config(files.key(b.id)))
            s.flush()
            if not database_restores:
                database_restores = [DatabaseRestore(d, str(v["destinationId"]))
                                     for d, v in dumps.items()]
        tables, errors = [], []
        for n, r in enumerate(database_restores or []):
            dump = dumps.get(r.database_backup_dump)
            if dump is None:
                errors.append(FieldError(f"database_restores[{n}].database_backup_dump",
                                         "is not a dump of this backup; dumps are: "
                                         + (", ".join(dumps) or "none"),
                                         r.database_backup_dump))
                continue
            target_actor = s.get(Actor, r.target_database_id)
            if (target_actor is None or target_actor.tombstone
                    or target_actor.kind != "destination"
                    or target_actor.workspace_id != b.workspace_id):
                errors.append(FieldError(f"database_restores[{n}].target_database_id",
                                         "is not a destination of this project",
                                         r.target_database_id))
                continue
            tables.append({"dump": dump["dump"], "file": dump["file"], "table": dump["table"],
                           "target_id": r.target_database_id})
        if errors:
            raise InvalidInput("invalid restore", errors)
        job = ledger.enqueue(s, workspace_id=b.workspace_id, config_type="backup_restore",
                             scope=b.id, max_attempts=p.settings.job_attempts, input={
                                 "backup_id": b.id, "database_restores": tables,
                                 "path_restore": path_input})
        shown_restore: dict[str, Any] = {
            "phase": "running", "jobId": job.id, "requestedAt": now(),
            "databaseRestores": [{"databaseBackupDump": t["dump"],
                                  "targetDatabaseId": t["target_id"]} for t in tables],
            "restoreConfiguration": restore_configuration}
        if path_shown is not None:
            shown_restore["pathRestore"] = path_shown
        b.meta = {**(b.meta or {}), "restore": shown_restore}
        audit.record(s, caller, "backup.restore", "backup", f"restore of backup {b.id} queued",
                     request={"id": b.id, "job_id": job.id, "database_restores": [
                         {"database_backup_dump": t["dump"], "target_database_id":
                          t["target_id"]} for t in tables],
                         "path_restore": None if path_restore is None else {
                             "source_paths": path_restore.source_paths,
                             "target_restore_path": path_restore.target_restore_path,
                             "clear_target_path": path_restore.clear_target_path},
                         "restore_configuration": restore_configuration},
                     workspace_id=b.workspace_id)
        s.flush()
        return _load(s, [b])[0].view


def restore_workspace(p: Platform, caller: Caller, backup_id: str, *,
                      database_restores: list[DatabaseRestore] | None = None) -> BackupView:
    """Bring a workspace back from its backup: its configuration now (same ids, secrets as
    they were) and its tables by a ``backup_restore`` job."""
    return restore(p, caller, backup_id, database_restores=database_restores,
                   restore_configuration=True)

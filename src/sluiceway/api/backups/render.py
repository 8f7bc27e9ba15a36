"""The family's wire vocabulary on the way out: a backup view as a ``ProjectBackup`` object,
with the family's statuses (``Creating``, ``Completed``, ``Failed``) and export phases
(``Pending``, ``Exporting``, ``Completed``, ``Failed``, ``Expired``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request

from sluiceway.services import artifacts
from sluiceway.services.backups import BackupView, ExportView, RestoreView
from sluiceway.services.platform import Platform

_STATUS = {"pending": "Creating", "writing": "Creating", "completed": "Completed",
           "failed": "Failed", "expired": "Expired"}
_EXPORT_PHASE = {"pending": "Pending", "writing": "Exporting", "completed": "Completed",
                 "failed": "Failed", "expired": "Expired"}


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def _url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def _export(request: Request, p: Platform, backup_id: str, e: ExportView) -> dict[str, Any]:
    shown: dict[str, Any] = {"format": e.format, "withPassword": e.with_password,
                             "phase": _EXPORT_PHASE.get(e.phase, e.phase)}
    if e.expires_at is not None:
        shown["expiresAt"] = _iso(e.expires_at)
    if e.phase == "completed":
        shown["downloadURL"] = _url(request, f"/v2/project-backups/{backup_id}/export/download"
                                    f"?{artifacts.signed_query(p, e.id)}")
        shown["sha256Checksum"] = e.sha256
    return shown


def _restore(r: RestoreView) -> dict[str, Any]:
    out: dict[str, Any] = {"phase": r.phase, "databaseRestores": [
        {"databaseBackupDump": d.database_backup_dump, "targetDatabaseId":
         d.target_database_id} for d in r.database_restores]}
    if r.path_restore is not None:
        path = r.path_restore
        out["pathRestore"] = {"sourcePaths": list(path.source_paths),
                              "targetRestorePath": path.target_restore_path,
                              "determinedTargetPath": path.determined_target_path,
                              "clearTargetPath": path.clear_target_path}
    out["restoreConfiguration"] = r.restore_configuration
    if r.error:
        out["error"] = r.error
    return out


def backup(request: Request, p: Platform, v: BackupView) -> dict[str, Any]:
    """A ProjectBackup object."""
    out: dict[str, Any] = {"id": v.id, "projectId": v.workspace_id,
                           "status": _STATUS.get(v.phase, v.phase), "deletable": v.deletable,
                           "requestedAt": _iso(v.requested_at)}
    if v.description is not None:
        out["description"] = v.description
    if v.completed_at is not None:
        out["createdAt"] = _iso(v.completed_at)
    if v.expires_at is not None:
        out["expiresAt"] = _iso(v.expires_at)
    if v.export is not None:
        out["export"] = _export(request, p, v.id, v.export)
    if v.restore is not None:
        out["restore"] = _restore(v.restore)
    return out

"""Project backups, as the mittwald API v2 backup section has them (a project is a
workspace):

- ``GET|POST /v2/projects/{projectId}/backups`` (list with ``X-Pagination-*`` headers; create
  answers 201 with the backup)
- ``GET|PATCH|DELETE /v2/project-backups/{projectBackupId}``,
  ``PATCH /v2/project-backups/{projectBackupId}/description``,
  ``GET /v2/project-backups/{projectBackupId}/database-dumps``
- ``POST|DELETE /v2/project-backups/{projectBackupId}/export`` (204)
- ``POST /v2/project-backups/{projectBackupId}/restore`` (204)

Sluiceway extensions: ``destinationIds`` on create (which destinations' tables to dump;
default all that can be read back), ``restoreConfiguration`` on restore (put the project's
sources, destinations, connections and stream states back first, then every table to its own
destination), and ``GET /v2/project-backups/{projectBackupId}/export/download`` (the export's
``downloadURL``: signed, it needs no credentials). Callers authenticate with a Bearer token
(also accepted as ``X-Access-Token``, as the family does) or HTTP Basic.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from sluiceway.api import downloads, errors
from sluiceway.api.deps import PlatformDep, get_caller
from sluiceway.api.inputs import Description, RequestModel
from sluiceway.services import artifacts, backups
from sluiceway.services.auth import Caller, authenticate_token
from sluiceway.services.backups import BackupView
from sluiceway.services.platform import Platform

router = APIRouter(tags=["backups"])


def _caller(request: Request, p: PlatformDep) -> Caller:
    """Bearer or HTTP Basic (the server's), or the family's ``X-Access-Token`` header."""
    token = request.headers.get("x-access-token", "").strip()
    if token and not request.headers.get("authorization"):
        caller = authenticate_token(p, token)
        if caller is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid access token",
                                headers={"WWW-Authenticate": "Bearer"})
        return caller
    return get_caller(request, p)


CallerDep = Annotated[Caller, Depends(_caller)]


class _Body(RequestModel):
    model_config = ConfigDict(extra="forbid")


class BackupCreate(_Body):
    description: Description | None = None
    expirationTime: str | None = Field(None, description=(
        "RFC 3339 time, in the future and no more than one year ahead; default: now plus "
        "the server's artifact lifetime (SLUICEWAY_ARTIFACT_TTL_SECONDS)"))
    destinationIds: list[str] | None = Field(None, description=(
        "Sluiceway extension: the destinations whose tables are dumped (default: every "
        "destination of the project that can be read back)"))


class BackupUpdate(_Body):
    description: Description | None = None
    expirationTime: str | None = None


class DescriptionUpdate(_Body):
    description: Description | None = None


class ExportCreate(_Body):
    format: str
    password: str | None = None


class DatabaseRestoreBody(_Body):
    databaseBackupDump: str
    targetDatabaseId: str


class PathRestoreBody(_Body):
    sourcePaths: list[str]
    targetRestorePath: str | None = None
    clearTargetPath: bool = False


class RestoreRequest(_Body):
    databaseRestores: list[DatabaseRestoreBody] | None = None
    pathRestore: PathRestoreBody | None = None
    restoreConfiguration: bool = Field(False, description=(
        "Sluiceway extension: first put the project's sources, destinations, connections "
        "and stream states back as the backup has them (same ids, secrets as they were), "
        "then load every table of the backup into its own destination unless "
        "databaseRestores says otherwise"))


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def _url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def render(request: Request, p: Platform, v: BackupView) -> dict[str, Any]:
    """A ProjectBackup object."""
    b, meta = v.backup, v.meta
    out: dict[str, Any] = {"id": b.id, "projectId": b.workspace_id, "status": v.status,
                           "deletable": v.deletable, "requestedAt": _iso(b.created_at)}
    if meta.get("description") is not None:
        out["description"] = meta["description"]
    if meta.get("completedAt") is not None:
        out["createdAt"] = _iso(float(meta["completedAt"]))
    if b.expires_at is not None:
        out["expiresAt"] = _iso(b.expires_at)
    export = v.export
    if export is not None:
        shown: dict[str, Any] = {"format": export["format"],
                                 "withPassword": bool(export["withPassword"]),
                                 "phase": export["phase"]}
        if export.get("expiresAt") is not None:
            shown["expiresAt"] = _iso(float(export["expiresAt"]))
        if export["phase"] == "Completed":
            shown["downloadURL"] = _url(request, f"/v2/project-backups/{b.id}/export/download"
                                        f"?{artifacts.signed_query(p, export['id'])}")
            shown["sha256Checksum"] = export["sha256"]
        out["export"] = shown
    restore = v.restore
    if restore is not None:
        r: dict[str, Any] = {"phase": restore.get("phase", "running"),
                             "databaseRestores": restore.get("databaseRestores") or []}
        if restore.get("pathRestore"):
            r["pathRestore"] = restore["pathRestore"]
        r["restoreConfiguration"] = bool(restore.get("restoreConfiguration"))
        if restore.get("error"):
            r["error"] = restore["error"]
        out["restore"] = r
    return out


@router.get("/v2/projects/{projectId}/backups")
def list_backups(projectId: str, request: Request, p: PlatformDep,
                 caller: CallerDep) -> Response:
    """searchTerm, withExportsOnly, sortOrder (oldestFirst|newestFirst), runningRestoresOnly,
    runningBackupsOnly, limit (1-10000, default 1000), skip, page (skip wins)."""
    q = backups.parse_list_query(dict(request.query_params))
    rows, total = backups.list_backups(p, caller, projectId, q)
    return JSONResponse(errors.rendered(rows, lambda v: render(request, p, v), "backup"), headers={
        "X-Pagination-Limit": str(q.limit), "X-Pagination-Skip": str(q.skip),
        "X-Pagination-Page": str(q.page), "X-Pagination-TotalCount": str(total)})


@router.post("/v2/projects/{projectId}/backups", status_code=201)
def create_backup(projectId: str, body: BackupCreate, request: Request,
                  p: PlatformDep, caller: CallerDep) -> Response:
    v = backups.create_backup(p, caller, projectId, description=body.description,
                              expiration_time=body.expirationTime,
                              destination_ids=body.destinationIds)
    return JSONResponse(render(request, p, v), status_code=201)


@router.get("/v2/project-backups/{projectBackupId}")
def get_backup(projectBackupId: str, request: Request, p: PlatformDep,
               caller: CallerDep) -> Response:
    return JSONResponse(render(request, p, backups.get_backup(p, caller, projectBackupId)))


@router.patch("/v2/project-backups/{projectBackupId}", status_code=204)
def update_backup(projectBackupId: str, p: PlatformDep, caller: CallerDep,
                  body: BackupUpdate | None = None) -> Response:
    if body is not None:
        kw: dict[str, Any] = {"expiration_time": body.expirationTime}
        if "description" in body.model_fields_set:
            kw["description"] = body.description
        backups.update_backup(p, caller, projectBackupId, **kw)
    else:
        backups.get_backup(p, caller, projectBackupId)
    return Response(status_code=204)


@router.patch("/v2/project-backups/{projectBackupId}/description", status_code=204)
def update_description(projectBackupId: str, body: DescriptionUpdate,
                       p: PlatformDep, caller: CallerDep) -> Response:
    backups.update_backup(p, caller, projectBackupId, description=body.description)
    return Response(status_code=204)


@router.delete("/v2/project-backups/{projectBackupId}", status_code=204)
def delete_backup(projectBackupId: str, p: PlatformDep,
                  caller: CallerDep) -> Response:
    backups.delete_backup(p, caller, projectBackupId)
    return Response(status_code=204)


@router.get("/v2/project-backups/{projectBackupId}/database-dumps")
def database_dumps(projectBackupId: str, p: PlatformDep,
                   caller: CallerDep) -> Response:
    return JSONResponse({"databases": backups.database_dumps(p, caller, projectBackupId)})


@router.post("/v2/project-backups/{projectBackupId}/export", status_code=204)
def create_export(projectBackupId: str, body: ExportCreate, p: PlatformDep,
                  caller: CallerDep) -> Response:
    backups.create_export(p, caller, projectBackupId, body.format, body.password)
    return Response(status_code=204)


@router.delete("/v2/project-backups/{projectBackupId}/export", status_code=204)
def delete_export(projectBackupId: str, p: PlatformDep,
                  caller: CallerDep) -> Response:
    backups.delete_export(p, caller, projectBackupId)
    return Response(status_code=204)


@router.get("/v2/project-backups/{projectBackupId}/export/download")
def download_export(projectBackupId: str, request: Request, p: PlatformDep,
                    expires: int | None = None, signature: str | None = None) -> Response:
    """The export file: with credentials, or with the ``expires`` + ``signature`` of the
    backup's ``downloadURL``. Ranges are served (206)."""
    if signature is not None or expires is not None:
        e = backups.export_file(p, projectBackupId, expires=expires, signature=signature)
    else:
        e = backups.export_file(p, projectBackupId, caller=_caller(request, p))
    return downloads.send(p, e, request)


@router.post("/v2/project-backups/{projectBackupId}/restore", status_code=204)
def restore(projectBackupId: str, body: RestoreRequest, p: PlatformDep,
            caller: CallerDep) -> Response:
    path = None
    if body.pathRestore is not None:
        path = backups.PathRestore(body.pathRestore.sourcePaths,
                                   body.pathRestore.targetRestorePath,
                                   body.pathRestore.clearTargetPath)
    dbs = None
    if body.databaseRestores is not None:
        dbs = [backups.DatabaseRestore(r.databaseBackupDump, r.targetDatabaseId)
               for r in body.databaseRestores]
    backups.restore(p, caller, projectBackupId, database_restores=dbs, path_restore=path,
                    restore_configuration=body.restoreConfiguration)
    return Response(status_code=204)

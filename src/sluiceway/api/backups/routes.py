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

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from sluiceway.api import downloads, errors
from sluiceway.api.backups import render
from sluiceway.api.backups.query import field_names, list_query, time
from sluiceway.api.deps import PlatformDep, get_caller
from sluiceway.api.inputs import Description, RequestModel
from sluiceway.services import backups
from sluiceway.services.auth import Caller, authenticate_token

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


@router.get("/v2/projects/{projectId}/backups")
def list_backups(projectId: str, request: Request, p: PlatformDep,
                 caller: CallerDep) -> Response:
    """searchTerm, withExportsOnly, sortOrder (oldestFirst|newestFirst), runningRestoresOnly,
    runningBackupsOnly, limit (1-10000, default 1000), skip, page (skip wins)."""
    page = list_query(dict(request.query_params))
    q = page.query
    rows, total = backups.list_backups(p, caller, projectId, q)
    items = errors.rendered(rows, lambda v: render.backup(request, p, v), "backup")
    return JSONResponse(items, headers={
        "X-Pagination-Limit": str(q.limit), "X-Pagination-Skip": str(q.skip),
        "X-Pagination-Page": str(page.page), "X-Pagination-TotalCount": str(total)})


@router.post("/v2/projects/{projectId}/backups", status_code=201)
def create_backup(projectId: str, body: BackupCreate, request: Request,
                  p: PlatformDep, caller: CallerDep) -> Response:
    expires = time("expirationTime", body.expirationTime)
    with field_names():
        v = backups.create_backup(p, caller, projectId, description=body.description,
                                  expires_at=expires, destination_ids=body.destinationIds)
    return JSONResponse(render.backup(request, p, v), status_code=201)


@router.get("/v2/project-backups/{projectBackupId}")
def get_backup(projectBackupId: str, request: Request, p: PlatformDep,
               caller: CallerDep) -> Response:
    return JSONResponse(render.backup(request, p,
                                      backups.get_backup(p, caller, projectBackupId)))


@router.patch("/v2/project-backups/{projectBackupId}", status_code=204)
def update_backup(projectBackupId: str, p: PlatformDep, caller: CallerDep,
                  body: BackupUpdate | None = None) -> Response:
    if body is not None:
        kw: dict[str, Any] = {"expires_at": time("expirationTime", body.expirationTime)}
        if "description" in body.model_fields_set:
            kw["description"] = body.description
        with field_names():
            backups.update_backup(p, caller, projectBackupId, **kw)
    else:
        backups.get_backup(p, caller, projectBackupId)
    return Response(status_code=204)


@router.patch("/v2/project-backups/{projectBackupId}/description", status_code=204)
def update_description(projectBackupId: str, body: DescriptionUpdate,
                       p: PlatformDep, caller: CallerDep) -> Response:
    with field_names():
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
    with field_names():
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
    with field_names():
        backups.restore(p, caller, projectBackupId, database_restores=dbs, path_restore=path,
                        restore_configuration=body.restoreConfiguration)
    return Response(status_code=204)

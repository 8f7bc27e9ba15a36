"""The operations of the public API, in its shapes (``JobResponse``, ``ConnectionResponse``,
``WorkspaceResponse``, ``SourceResponse``, ``DestinationResponse``, lists as ``{data, next,
previous}``).

Authentication: HTTP Basic or a Bearer token on every path but ``health`` and the token
exchange, which turns client credentials (a user's login and that user's password or API
token) into an access token that expires after a few minutes."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi import status as http
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sluiceway.api.airbyte.schemas import JobStatus
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import actors, connections, jobs, system, tokens, workspaces
from sluiceway.services.actors import ActorView
from sluiceway.services.caller import Caller
from sluiceway.services.connections import ConnectionView
from sluiceway.services.jobs import JobView
from sluiceway.services.platform import Platform
from sluiceway.services.workspaces import WorkspaceView

router = APIRouter()
#: the token exchange, also mounted beside the Configuration API (``/api/v1``), where
#: Airbyte has it too: the Airbyte SDK joins its default token URL ``v1/applications/token``
#: to the server URL as a relative link, so a server URL of ``http://host/api/public/v1``
#: lands on ``/api/public/v1/applications/token`` and one of ``http://host/api`` on
#: ``/api/v1/applications/token``
token_router = APIRouter()

MAX_PAGE = 100


class JobType(enum.StrEnum):
    sync = "sync"
    reset = "reset"
    refresh = "refresh"
    clear = "clear"


#: the public job types and the ledger's kinds of job they are (``clear`` is the later
#: name of a reset; a ``refresh`` keeps no history apart from a sync, so it is none here)
KINDS = {"sync": "sync", "reset": "reset_connection", "clear": "reset_connection"}
PUBLIC_TYPE = {"sync": JobType.sync, "reset_connection": JobType.reset}


class JobCreateRequest(BaseModel):
    connectionId: UUID
    jobType: JobType


class JobResponse(BaseModel):
    jobId: int
    status: JobStatus
    jobType: JobType
    startTime: str
    connectionId: str
    lastUpdatedAt: str | None = None
    duration: str | None = None
    bytesSynced: int | None = None
    rowsSynced: int | None = None


class JobsResponse(BaseModel):
    data: list[JobResponse]
    next: str | None = None
    previous: str | None = None


class AccessTokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme, not a secret
    expires_in: int


# --- conversions ----------------------------------------------------------------------------

def iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """ISO 8601 duration of whole seconds: ``PT8H6M12S``, ``PT0S``."""
    total = max(0, math.floor(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or not (hours or minutes) else "")


def job_response(v: JobView, at: float | None = None) -> JobResponse:
    j = v.job
    finished = j.status in ("failed", "succeeded", "cancelled")
    end = j.updated_at if finished else (dt.datetime.now(dt.UTC).timestamp()
                                         if at is None else at)
    return JobResponse(
        jobId=j.id, status=JobStatus(j.status), jobType=PUBLIC_TYPE[j.config_type],
        startTime=iso(j.created_at), connectionId=j.scope, lastUpdatedAt=iso(j.updated_at),
        duration=duration(end - j.created_at),
        bytesSynced=sum(a.attempt.bytes_synced for a in v.attempts),
        rowsSynced=sum(a.attempt.records_synced for a in v.attempts))


def workspace_json(ws: WorkspaceView) -> dict[str, Any]:
    return {"workspaceId": ws.id, "name": ws.name, "dataResidency": "auto",
            "notifications": {}}


#: (sync mode, destination sync mode) as the public API's one ``syncMode``
SYNC_MODES = {("full_refresh", "overwrite"): "full_refresh_overwrite",
              ("full_refresh", "overwrite_dedup"): "full_refresh_overwrite_deduped",
              ("full_refresh", "append"): "full_refresh_append",
              ("incremental", "append"): "incremental_append",
              ("incremental", "append_dedup"): "incremental_deduped_history"}


def _stream(st: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": st["name"], "cursorField": st.get("cursor_field") or [],
                           "primaryKey": st.get("primary_key") or []}
    mode = SYNC_MODES.get((st.get("sync_mode", ""), st.get("destination_sync_mode", "")))
    if mode is not None:
        out["syncMode"] = mode
    if st.get("namespace"):
        out["namespace"] = st["namespace"]
    fields = st.get("fields") or []
    if not all(f.get("selected", True) for f in fields):
        out["selectedFields"] = [{"fieldPath": [f["name"]]} for f in fields
                                 if f.get("selected", True)]
    return out


def connection_json(c: ConnectionView) -> dict[str, Any]:
    schedule: dict[str, Any] = {"scheduleType": "manual"}
    if c.schedule_units is not None and c.schedule_time_unit is not None:
        schedule = {"scheduleType": "basic",
                    "basicTiming": f"Every {c.schedule_units} {c.schedule_time_unit}"}
    elif c.schedule_cron:
        schedule = {"scheduleType": "cron", "cronExpression": c.schedule_cron}
    streams = [_stream(dict(st)) for st in c.catalog.get("streams", [])
               if st.get("selected", True)]
    return {"connectionId": c.id, "name": c.name, "sourceId": c.source_id,
            "destinationId": c.destination_id, "workspaceId": c.workspace_id,
            "status": c.status, "schedule": schedule,
            "nonBreakingSchemaUpdatesBehavior": "ignore",
            "namespaceDefinition": "destination", "prefix": "",
            "configurations": {"streams": streams}, "createdAt": int(c.created_at),
            "tags": []}


def actor_json(a: ActorView) -> dict[str, Any]:
    kind = a.kind
    return {f"{kind}Id": a.id, "name": a.name, f"{kind}Type": a.connector,
            "definitionId": a.definition_id, "workspaceId": a.workspace_id,
            "configuration": a.config, "createdAt": int(a.created_at)}


def _page(request: Request, data: list[Any], more: bool, limit: int,
          offset: int) -> dict[str, Any]:
    """``{data, next, previous}``: the links are this request's URL with the next or the
    previous ``offset`` (``next`` only when there is more)."""
    out: dict[str, Any] = {"data": data}
    if more:
        out["next"] = str(request.url.include_query_params(limit=limit,
                                                           offset=offset + limit))
    if offset > 0:
        out["previous"] = str(request.url.include_query_params(
            limit=limit, offset=max(0, offset - limit)))
    return out


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
#: a job's number (a 64-bit row id)
JobId = Annotated[int, Path(ge=0, le=2**63 - 1)]
Ids = Annotated[list[UUID] | None, Query()]
Offset = Annotated[int, Query(ge=0)]


# --- the token exchange ---------------------------------------------------------------------

def _first(values: dict[str, Any], *names: str) -> Any:
    return next((values[n] for n in names if values.get(n) is not None), None)


async def _credentials(request: Request) -> dict[str, Any]:
    """The body as JSON (Dagster) or as a form (the Airbyte SDK, as OAuth 2 has it)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded" or kind == "multipart/form-data":
        return dict((await request.form()).items())
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput("invalid token request", [FieldError(
            "body", "must be a JSON object or a form")]) from None
    if not isinstance(body, dict):
        raise InvalidInput("invalid token request", [FieldError(
            "body", "must be a JSON object or a form")])
    return body


@token_router.post("/applications/token", response_model=AccessTokenResponse,
                   tags=["public"])
async def get_access_token(request: Request, p: PlatformDep) -> AccessTokenResponse:
    """Client credentials for an access token: ``client_id`` a user's login,
    ``client_secret`` that user's password or one of their API tokens; the token lives
    ``expires_in`` seconds."""
    body = await _credentials(request)
    client_id, secret = body.get("client_id"), body.get("client_secret")
    grant = _first(body, "grant-type", "grant_type")
    errors = [FieldError(name, "is required (a string)")
              for name, value in (("client_id", client_id), ("client_secret", secret))
              if not isinstance(value, str) or not value]
    if grant is not None and grant != "client_credentials":
        errors.append(FieldError("grant-type", "must be client_credentials", str(grant)))
    if errors:
        raise InvalidInput("invalid token request", errors)
    address = request.client.host if request.client is not None else "unknown"
    issued = await tokens.exchange(p, str(client_id), str(secret), address)
    if issued is None:
        raise HTTPException(http.HTTP_401_UNAUTHORIZED,
                            "invalid client credentials: client_id must be a user's login "
                            "and client_secret that user's password or one of their API "
                            "tokens")
    return AccessTokenResponse(access_token=issued[0], expires_in=issued[1])


# --- health ---------------------------------------------------------------------------------

@router.get("/health", tags=["public"])
def get_health(p: PlatformDep) -> Response:
    """200 when the metadata database answers (no credentials needed), 503 otherwise."""
    ok = system.healthy(p)
    return Response("Successful operation" if ok else "Unavailable",
                    status_code=200 if ok else 503, media_type="text/plain")


# --- jobs -----------------------------------------------------------------------------------

@router.post("/jobs", response_model=JobResponse, response_model_exclude_none=True,
             tags=["public"])
def create_job(body: JobCreateRequest, p: PlatformDep, caller: CallerDep) -> JobResponse:
    """Start a sync or a reset (``clear``) of a connection; one already queued or running
    is answered instead of a second."""
    kind = KINDS.get(body.jobType.value)
    if kind is None:
        raise InvalidInput("invalid job", [FieldError(
            "jobType", "must be sync, reset or clear here", body.jobType.value)])
    start = connections.sync if kind == "sync" else connections.reset
    return job_response(jobs.view(p, start(p, caller, str(body.connectionId))))


def _time(value: dt.datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


ORDERS = {"createdat": "created_at", "updatedat": "updated_at"}


def _order(order_by: str | None) -> tuple[str, bool]:
    """``createdAt|DESC`` (the default), ``updatedAt|ASC``..."""
    if order_by is None:
        return "created_at", True
    field, _, direction = order_by.partition("|")
    column = ORDERS.get(field.strip().lower())
    if column is None or direction.strip().upper() not in ("", "ASC", "DESC"):
        raise InvalidInput("invalid job list request", [FieldError(
            "orderBy", "must be createdAt or updatedAt, then |ASC or |DESC", order_by)])
    return column, direction.strip().upper() != "ASC"


@router.get("/jobs", response_model=JobsResponse, response_model_exclude_none=True,
            tags=["public"])
def list_jobs(request: Request, p: PlatformDep, caller: CallerDep,
              connectionId: UUID | None = None, limit: Limit = 20, offset: Offset = 0,
              jobType: JobType | None = None,
              workspaceIds: Ids = None,
              status: JobStatus | None = None,
              createdAtStart: dt.datetime | None = None,
              createdAtEnd: dt.datetime | None = None,
              updatedAtStart: dt.datetime | None = None,
              updatedAtEnd: dt.datetime | None = None,
              orderBy: str | None = None) -> dict[str, Any]:
    """The sync and reset jobs of the caller's connections (of one connection, of some
    workspaces), newest first unless ``orderBy`` says otherwise."""
    types: tuple[str, ...] = jobs.CONNECTION_JOBS
    if jobType is not None:
        kind = KINDS.get(jobType.value)
        types = (kind,) if kind is not None else ()
    column, descending = _order(orderBy)
    f = jobs.JobFilter(connection_id=str(connectionId) if connectionId else None,
                       workspace_ids=tuple(str(w) for w in workspaceIds or ()),
                       config_types=types, status=status.value if status else None,
                       created_from=_time(createdAtStart), created_to=_time(createdAtEnd),
                       updated_from=_time(updatedAtStart), updated_to=_time(updatedAtEnd),
                       order_by=column, descending=descending)
    found = jobs.connection_jobs(p, caller, f, limit=limit + 1, offset=offset)
    data = [job_response(v).model_dump(exclude_none=True) for v in found[:limit]]
    return _page(request, data, len(found) > limit, limit, offset)


@router.get("/jobs/{jobId}", response_model=JobResponse, response_model_exclude_none=True,
            tags=["public"])
def get_job(jobId: JobId, p: PlatformDep, caller: CallerDep) -> JobResponse:
    return job_response(jobs.get(p, caller, jobId))


@router.delete("/jobs/{jobId}", response_model=JobResponse,
               response_model_exclude_none=True, tags=["public"])
def cancel_job(jobId: JobId, p: PlatformDep, caller: CallerDep) -> JobResponse:
    return job_response(jobs.cancel(p, caller, jobId))


# --- connections, workspaces, sources and destinations --------------------------------------

def _workspace_ids(p: Platform, caller: Caller, given: list[UUID] | None) -> list[str]:
    return [str(w) for w in given] if given else [ws.id for ws in workspaces.list_for(p, caller)]


@router.get("/connections", tags=["public"])
def list_connections(request: Request, p: PlatformDep, caller: CallerDep,
                     workspaceIds: Ids = None,
                     includeDeleted: bool = False, limit: Limit = 20,
                     offset: Offset = 0) -> JSONResponse:
    """The connections of ``workspaceIds`` (default: every workspace of the caller's),
    oldest first."""
    ids = _workspace_ids(p, caller, workspaceIds)
    stamps = connections.page_for(p, caller, ids, limit=limit + 1, offset=offset,
                                  include_deleted=includeDeleted) if ids else []
    shown = [s.id for s in stamps[:limit]]
    views = connections.by_ids(p, caller, shown)
    data = [connection_json(views[i]) for i in shown if i in views]
    return JSONResponse(_page(request, data, len(stamps) > limit, limit, offset))


@router.get("/connections/{connectionId}", tags=["public"])
def get_connection(connectionId: UUID, p: PlatformDep, caller: CallerDep) -> JSONResponse:
    return JSONResponse(connection_json(connections.get(p, caller, str(connectionId))))


@router.get("/workspaces", tags=["public"])
def list_workspaces(request: Request, p: PlatformDep, caller: CallerDep,
                    workspaceIds: Ids = None,
                    includeDeleted: bool = False, limit: Limit = 20,
                    offset: Offset = 0) -> JSONResponse:
    """The caller's workspaces (those of ``workspaceIds`` when given), oldest first."""
    del includeDeleted  # workspaces are not deleted here
    if workspaceIds:
        found = [workspaces.get(p, caller, str(w)) for w in workspaceIds]
    else:
        found = workspaces.list_for(p, caller)
    window = found[offset:offset + limit]
    return JSONResponse(_page(request, [workspace_json(ws) for ws in window],
                              len(found) > offset + limit, limit, offset))


@router.get("/workspaces/{workspaceId}", tags=["public"])
def get_workspace(workspaceId: UUID, p: PlatformDep, caller: CallerDep) -> JSONResponse:
    return JSONResponse(workspace_json(workspaces.get(p, caller, str(workspaceId))))


@router.get("/sources/{sourceId}", tags=["public"])
def get_source(sourceId: UUID, p: PlatformDep, caller: CallerDep) -> JSONResponse:
    """The source with its secrets masked."""
    return JSONResponse(actor_json(actors.get(p, caller, "source", str(sourceId))))


@router.get("/destinations/{destinationId}", tags=["public"])
def get_destination(destinationId: UUID, p: PlatformDep,
                    caller: CallerDep) -> JSONResponse:
    """The destination with its secrets masked."""
    return JSONResponse(actor_json(actors.get(p, caller, "destination",
                                              str(destinationId))))

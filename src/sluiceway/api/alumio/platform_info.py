"""Platform info (#84-86, #91, #92, #146) and task statistics per space (#14)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from sluiceway.api.alumio.render import listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.api.errors import Problem, respond
from sluiceway.services import criteria, installation

router = APIRouter()
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
WINDOW_COLUMNS = {name: criteria.Column(None, criteria.as_text)
                  for name in ("identifier", "dateStart", "dateEnd", "timezone", "createdAt")}


class UpdateCycle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    updateCycle: Literal["latest", "lts"]


def _server(request: Request, p: PlatformDep, caller: CallerDep) -> installation.Server:
    return installation.server(p, caller, str(request.base_url))


@router.get("/application/server")
def application_server(request: Request, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    s = _server(request, p, caller)
    return {"ipAddress": s.ip_address, "oauth2RedirectUrl": s.oauth2_redirect_url,
            "apiUrl": s.api_url}


@router.get("/application/subscription")
def application_subscription(request: Request, p: PlatformDep,
                             caller: CallerDep) -> dict[str, Any]:
    s = _server(request, p, caller)
    return {"environmentId": None, "subscriptionId": None, "queueEnabled": s.queue_enabled,
            "edition": s.edition, "version": s.version, "lastUpdate": None,
            "ipAddress": s.ip_address, "oauth2RedirectUrl": s.oauth2_redirect_url,
            "oauth1CallbackUrl": s.oauth1_callback_url,
            "openApiSchema": s.openapi_url, "webHookUrl": s.webhook_url,
            "httpProxyUrl": s.http_proxy_url,
            "swaggerDocsUrl": s.docs_url, "supportEmail": None, "supportPortal": None,
            "slaUrl": None, "environments": []}


@router.get("/application/environment")
def application_environment(p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    u = installation.usage(p, caller)
    return {"dataEngines": {"memoryLimitMegaBytes": u.memory_limit_mb,
                            "numberOfWorkers": u.workers},
            "usage": {"filesystemSizeBytes": u.filesystem_bytes,
                      "databaseSizeBytes": u.database_bytes}}


@router.put("/application/update_cycle",
            responses={501: {"description": "a self-hosted server has no update cycle"}})
def update_cycle(body: UpdateCycle, request: Request, p: PlatformDep,
                 caller: CallerDep) -> Response:
    installation.set_update_cycle(p, caller, body.updateCycle)
    return respond(request, Problem(501, installation.UPDATE_CYCLE_NOT_HERE, "NotImplemented"))


@router.get("/maintenance_windows")
def maintenance_windows(caller: CallerDep, filter: FilterParam = None,  # noqa: A002
                        ) -> dict[str, Any]:
    criteria.parse(filter, WINDOW_COLUMNS)  # a bad filter is still a 400
    return listing([], 0)  # a self-hosted server has no maintenance windows but its own


@router.get("/environments")
def environments(request: Request, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    found = installation.environments(_server(request, p, caller))
    return listing([{"environment": {"identifier": e.identifier, "name": e.name, "code": e.code,
                                     "type": e.type, "prototype": e.prototype}}
                    for e in found], len(found))


@router.get("/statistics/spaces")
def statistics_spaces(p: PlatformDep, caller: CallerDep,
                      dateFrom: Annotated[str | None, Query()] = None,  # noqa: N803
                      dateTo: Annotated[str | None, Query()] = None,  # noqa: N803
                      ) -> dict[str, Any]:
    rows = installation.space_statistics(p, caller, dateFrom, dateTo)
    return {"results": [{"spaceIdentifier": r.identifier, "spaceName": r.name, **r.counts}
                        for r in rows]}

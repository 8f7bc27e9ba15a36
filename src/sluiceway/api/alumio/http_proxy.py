"""``POST /http-proxy/{identifier}`` (a real Alumio endpoint, not in the seed): forwards the
body to an ``http-client`` configuration's base URL (``path``: below it) and answers with the
target's status, body and content type. A login of an editor of the space is needed unless
the configuration is marked ``public``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from sluiceway.api.deps import PlatformDep, current_caller
from sluiceway.services import http_proxy as service

router = APIRouter()


@router.post("/http-proxy/{identifier}")
async def forward(identifier: str, request: Request, p: PlatformDep,
                  space: Annotated[str | None, Query(
                      description="The http-client's space")] = None,
                  path: Annotated[str | None, Query(
                      description="A path below the base URL (extension)",
                      max_length=2000)] = None) -> Response:
    caller = (await current_caller(request, p)
              if request.headers.get("authorization") else None)
    body = await request.body()
    address = request.client.host if request.client is not None else "unknown"
    try:
        answer = await run_in_threadpool(
            service.forward, p, caller, identifier, space, path=path, body=body,
            headers=dict(request.headers), address=address)
    except service.NeedsLogin as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc),
                            headers={"WWW-Authenticate": 'Basic realm="sluiceway"'}) from None
    return Response(answer.body, status_code=answer.status, headers=answer.headers)

"""``/http-proxy/{identifier}`` (a real Alumio endpoint, not in the seed): forwards a ``GET``,
``POST``, ``PUT``, ``PATCH`` or ``DELETE`` with its body to an ``http-client`` configuration's
base URL (``path``: below it, with a query of its own if any) and answers with the target's
status, body and content type. A login of an editor of the space is needed unless the
configuration is marked ``public``, for a ``GET`` too: what a call does on the remote side is
the target's, and it carries the configuration's credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from sluiceway.api.deps import PlatformDep, current_caller
from sluiceway.services import http_proxy as service

router = APIRouter()


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
            headers=dict(request.headers), address=address, method=request.method)
    except service.NeedsLogin as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc),
                            headers={"WWW-Authenticate": 'Basic realm="sluiceway"'}) from None
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


for _method in service.METHODS:
    router.add_api_route("/http-proxy/{identifier}", forward, methods=[_method],
                         name=f"http_proxy_{_method.lower()}",
                         summary=f"Forward a {_method} through an http-client")

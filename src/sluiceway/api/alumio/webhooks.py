"""``POST /webhook/{identifier}`` (a contract extension): a call with the incoming's own
secret (a bearer token, or an ``X-Signature-SHA256`` HMAC of the body) queues a run of the
routes that take that incoming. No user login: the secret is the credential."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from starlette.concurrency import run_in_threadpool

from sluiceway.api.deps import PlatformDep
from sluiceway.services import webhooks as service

router = APIRouter()


@router.post("/webhook/{identifier}")
async def receive(identifier: str, request: Request, p: PlatformDep,
                  space: Annotated[str | None, Query(
                      description="The incoming's space (when its identifier is used in "
                                  "more than one)")] = None,
                  authorization: Annotated[str | None, Header()] = None,
                  x_signature_sha256: Annotated[str | None, Header()] = None,
                  ) -> dict[str, Any]:
    body = await request.body()
    address = request.client.host if request.client is not None else "unknown"
    try:
        done = await run_in_threadpool(
            service.receive, p, identifier, space, authorization=authorization,
            signature=x_signature_sha256, body=body, address=address)
    except service.Unauthenticated as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    return {"space": done.space, "incoming": done.incoming, "routes": list(done.routes),
            "jobs": list(done.jobs)}

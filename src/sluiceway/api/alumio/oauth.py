"""OAuth helpers (#93-95) and ``GET /oauth/callback`` (extension): start an authorisation at
a provider and, back from it, keep the token in an encrypted variable of the space. The
starts redirect the browser to the provider; the callbacks answer what was stored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Cookie, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import oauth as service
from sluiceway.services import spaces

router = APIRouter()
ProviderParam = Annotated[str, Query(description="The provider, a JSON object", max_length=8000)]
KeyParam = Annotated[str, Query(description="The encrypted variable that receives the token")]
CallbackParam = Annotated[str | None, Query(alias="callbackId",
                                            description="Given back when the flow ends")]
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
#: the cookie that keeps an OAuth1 flow's sealed state between start and callback
COOKIE = "sluiceway_oauth1"


def _url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + "/api/v1" + path


def _finished(f: service.Finished) -> dict[str, Any]:
    return {"key": f.key, "callbackId": f.callback_id, "stored": True}


@router.get("/oauth/authorize")
def oauth_start(request: Request, p: PlatformDep, caller: CallerDep, provider: ProviderParam,
                key: KeyParam, callback_id: CallbackParam = None,
                space: SpaceParam = None) -> RedirectResponse:
    ws = spaces.current(p, caller, space).id
    url = service.start_oauth2(p, caller, ws, provider, key, callback_id,
                               _url(request, "/oauth/callback"))
    return RedirectResponse(url, status_code=status.HTTP_302_FOUND)


@router.get("/oauth/callback")
def oauth_callback(p: PlatformDep, caller: CallerDep,
                   state: Annotated[str, Query(max_length=8000)],
                   code: str | None = None, error: str | None = None) -> dict[str, Any]:
    if error is not None or not code:
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            f"the provider gave no code: {error or 'no code'}")
    return _finished(service.finish_oauth2(p, caller, code, state))


@router.get("/oauth1/authorize")
async def oauth1_start(request: Request, p: PlatformDep, caller: CallerDep,
                       provider: ProviderParam, key: KeyParam,
                       callback_id: CallbackParam = None,
                       space: SpaceParam = None) -> RedirectResponse:
    ws = (await run_in_threadpool(spaces.current, p, caller, space)).id
    url, state = await run_in_threadpool(service.start_oauth1, p, caller, ws, provider, key,
                                         callback_id, _url(request, "/oauth1/callback"))
    answer = RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    answer.set_cookie(COOKIE, state, max_age=service.STATE_SECONDS, httponly=True,
                      samesite="lax", path="/api/v1/oauth1/callback",
                      secure=request.url.scheme == "https")
    return answer


@router.get("/oauth1/callback")
def oauth1_callback(p: PlatformDep, caller: CallerDep, oauth_token: str, oauth_verifier: str,
                    state: Annotated[str | None, Cookie(alias=COOKIE)] = None,
                    ) -> dict[str, Any]:
    return _finished(service.finish_oauth1(p, caller, oauth_token, oauth_verifier,
                                           state or ""))

"""Dependencies named as types: the platform handles and the authenticated caller."""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import replace
from typing import Annotated

from anyio import from_thread
from fastapi import Depends, HTTPException, Request, status

from sluiceway.services import tokens
from sluiceway.services.auth import Caller, authenticate_basic
from sluiceway.services.platform import Platform


async def get_platform(request: Request) -> Platform:
    """Async so that FastAPI does not spend a worker thread on it (every route needs it)."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="sluiceway", Bearer'}


async def current_caller(request: Request, platform: PlatformDep) -> Caller:
    """HTTP Basic (a user) or Bearer (an API token: a JWT or an ``swt_`` token); anything
    else answers 401, and too many failed passwords for a name or from an address answer
    429 with ``Retry-After``.

    Async on purpose: the database work and the password hashing run in thread pools, so a
    flood of logins never holds the event loop (nor the pool that serves ``health``)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    caller: Caller | None = None
    if scheme.lower() == "basic" and value:
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        if user:
            address = request.client.host if request.client is not None else "unknown"
            caller = await authenticate_basic(platform, user, password, address)
    elif scheme.lower() == "bearer" and value:
        caller = await asyncio.to_thread(tokens.authenticate, platform, value.strip())
    if caller is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "authentication required: HTTP Basic or a Bearer API token",
                            headers=_CHALLENGE)
    return replace(caller, address=request.client.host if request.client else "unknown")


def get_caller(request: Request, platform: Platform) -> Caller:
    """:func:`current_caller` for a handler that runs in a worker thread (a plain ``def``)."""
    return from_thread.run(current_caller, request, platform)


CallerDep = Annotated[Caller, Depends(current_caller)]

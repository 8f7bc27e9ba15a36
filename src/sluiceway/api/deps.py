"""Dependencies named as types: the platform handles and the authenticated caller."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from sluiceway.services.auth import Caller, authenticate_basic, authenticate_token
from sluiceway.services.platform import Platform


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="sluiceway", Bearer'}


def get_caller(request: Request, platform: PlatformDep) -> Caller:
    """HTTP Basic (a user) or Bearer (an API token); anything else answers 401."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    caller: Caller | None = None
    if scheme.lower() == "basic" and value:
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        if user:
            caller = authenticate_basic(platform, user, password)
    elif scheme.lower() == "bearer" and value:
        caller = authenticate_token(platform, value.strip())
    if caller is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "authentication required: HTTP Basic or a Bearer API token",
                            headers=_CHALLENGE)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]

"""What every page depends on: the signed-in browser (:class:`Page`) and a posted form whose
CSRF token was checked (:class:`Form`).

A request without a live session answers 401, which the UI's error renderer turns into a
redirect to the sign-in page. A form post must carry the session's CSRF token in its
``csrf`` field and, when the browser sends an ``Origin``, come from this server: anything
else answers 403 before the handler runs.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, HTTPException, Request, status

from sluiceway.api.deps import PlatformDep
from sluiceway.core.errors import NotFound
from sluiceway.services import policy, spaces, web_sessions
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.services.spaces import SpaceView
from sluiceway.services.web_sessions import BrowserSession

COOKIE = "sluiceway_session"
#: the CSRF token of the sign-in form, before there is a session
LOGIN_COOKIE = "sluiceway_login"
#: the largest form body read (connector configs and catalogs included)
MAX_FORM_BYTES = 1_000_000


def address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@dataclass(frozen=True)
class Page:
    """The signed-in browser: who, in which space, with which spaces to switch to."""

    platform: Platform
    session: BrowserSession
    spaces: list[SpaceView] = field(default_factory=list)

    @property
    def caller(self) -> Caller:
        return self.session.caller

    @property
    def csrf(self) -> str:
        return self.session.csrf

    @property
    def space(self) -> SpaceView | None:
        return next((s for s in self.spaces if s.id == self.session.workspace_id), None)

    @property
    def workspace_id(self) -> str:
        """The space shown; a user in no space has nothing to show."""
        if self.session.workspace_id is None:
            raise NotFound("you are in no space yet: ask an administrator to add you to one")
        return self.session.workspace_id

    @property
    def identifier(self) -> str:
        """The identifier (slug) of the space shown."""
        space = self.space
        if space is None:
            raise NotFound("you are in no space yet: ask an administrator to add you to one")
        return space.identifier

    def can(self, action: policy.Action) -> bool:
        """Whether the policy lets the caller do ``action`` in the space shown (a page shows
        a button only then; the service refuses anyway)."""
        if action is policy.SYSTEM:
            return policy.allows(self.caller, action)
        return (self.session.workspace_id is not None
                and policy.allows(self.caller, action, self.session.workspace_id))


def _page(p: Platform, token: str, where: str) -> Page | None:
    session = web_sessions.resolve(p, token, where)
    if session is None:
        return None
    return Page(p, session, spaces.list_spaces(p, session.caller))


async def current_page(request: Request, platform: PlatformDep) -> Page:
    page = await asyncio.to_thread(_page, platform, request.cookies.get(COOKIE, ""),
                                   address(request))
    if page is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first")
    return page


PageDep = Annotated[Page, Depends(current_page)]


class Form:
    """A posted ``application/x-www-form-urlencoded`` body."""

    def __init__(self, data: dict[str, list[str]]) -> None:
        self.data = data

    def get(self, name: str, default: str = "") -> str:
        values = self.data.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(self.data.get(name, []))

    def has(self, name: str) -> bool:
        return name in self.data

    def names(self) -> list[str]:
        return list(self.data)


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


async def read_form(request: Request) -> Form:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                            f"the form is larger than {MAX_FORM_BYTES} bytes")
    try:
        data = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the form is not UTF-8") from None
    return Form(data)


def check_csrf(request: Request, given: str, expected: str) -> None:
    if not same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "the form was posted from another site: refused")
    if not given or not expected or not hmac.compare_digest(given, expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "the form's security token is missing or out of date: reload "
                            "the page and send it again")


async def checked_form(request: Request, page: PageDep) -> Form:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"), page.csrf)
    return form


FormDep = Annotated[Form, Depends(checked_form)]

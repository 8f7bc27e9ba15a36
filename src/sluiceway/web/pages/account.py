"""Signing in and out, one's own password, and the space switcher."""

from __future__ import annotations

import asyncio
import secrets as pysecrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.api.deps import PlatformDep
from sluiceway.core.errors import Forbidden, InvalidInput, TooManyAttempts
from sluiceway.services import web_sessions
from sluiceway.web import templating
from sluiceway.web.deps import (
    COOKIE,
    LOGIN_COOKIE,
    FormDep,
    PageDep,
    address,
    check_csrf,
    read_form,
)

router = APIRouter()
UI = templating.PREFIX


def safe_next(target: str) -> str:
    """Where to go after signing in: a path of this server only, never another host."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request: Request, *, status: int = 200, error: str = "",
                login: str = "", headers: dict[str, str] | None = None) -> Response:
    token = pysecrets.token_urlsafe(32)
    response = templating.render(request, "login.html", {
        "csrf": token, "error": error, "login": login,
        "next": safe_next(request.query_params.get("next", "/"))},
        status=status, headers=headers)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=f"{UI}/login")
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request, platform: PlatformDep) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"), request.cookies.get(LOGIN_COOKIE, ""))
    login_name = form.get("login").strip()
    try:
        token, _ = await web_sessions.sign_in(platform, login_name, form.get("password"),
                                              address(request))
    except TooManyAttempts as exc:
        return _login_page(request, status=429, error=exc.message, login=login_name,
                           headers={"Retry-After": str(exc.retry_after)})
    except (Forbidden, InvalidInput) as exc:
        return _login_page(request, status=401 if isinstance(exc, Forbidden) else 422,
                           error=exc.message, login=login_name)
    response = RedirectResponse(safe_next(form.get("next", "/")), 303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")
    response.delete_cookie(LOGIN_COOKIE, path=f"{UI}/login")
    return response


@router.post("/logout")
async def logout(request: Request, platform: PlatformDep, _form: FormDep) -> Response:
    await asyncio.to_thread(web_sessions.sign_out, platform, request.cookies.get(COOKIE, ""))
    response = RedirectResponse(f"{UI}/login", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _account(request: Request, page: PageDep, *, status: int = 200, done: bool = False,
             errors: dict[str, str] | None = None) -> HTMLResponse:
    context: dict[str, Any] = {"page": page, "done": done, "errors": errors or {}}
    return templating.render(request, "account.html", context, status=status)


@router.get("/account")
def account(request: Request, page: PageDep) -> HTMLResponse:
    return _account(request, page)


@router.post("/account/password")
async def change_password(request: Request, page: PageDep, form: FormDep) -> HTMLResponse:
    try:
        await web_sessions.change_password(page.platform, page.session, form.get("current"),
                                           form.get("new"), form.get("repeat"))
    except InvalidInput as exc:
        return _account(request, page, status=422,
                        errors={e.path: e.reason for e in exc.errors})
    return _account(request, page, done=True)


@router.post("/space")
def switch_space(page: PageDep, form: FormDep) -> RedirectResponse:
    web_sessions.switch_space(page.platform, page.session, form.get("workspace"))
    return RedirectResponse(f"{UI}/", 303)

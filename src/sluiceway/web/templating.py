"""Jinja2 templates of the UI (autoescaped), with the filters the pages share."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from sluiceway.services import policy

PREFIX = "/ui"
#: what the UI's pages may load: only this server (no inline script, no other host)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_env = Environment(loader=PackageLoader("sluiceway.web", "templates"),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def compile_all() -> int:
    """Compile every page template now (each is otherwise compiled by the first request
    that renders it, 10-40 ms apiece); how many there are."""
    names = _env.list_templates(extensions=["html"])
    for name in names:
        _env.get_template(name)
    return len(names)


def when(at: float | None) -> str:
    """An epoch time as UTC text, or a dash."""
    if at is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def size(n: float | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def count(n: float | None) -> str:
    return "—" if n is None else f"{int(n):,}"


_env.filters.update(when=when, duration=duration, size=size, count=count)
_env.globals.update(ui=PREFIX, READ=policy.READ, CHANGE=policy.CHANGE, MANAGE=policy.MANAGE,
                    SYSTEM=policy.SYSTEM)


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, *,
           status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    body = _env.get_template(template).render({"request": request, **(context or {})})
    return HTMLResponse(body, status_code=status,
                        headers={**SECURITY_HEADERS, **(headers or {})})

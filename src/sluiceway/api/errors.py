"""The error tree mapped to HTTP in one place; each API family renders its own body.

Classification (status by class, never by message) happens here once:
``InvalidInput`` 422 (``BadQuery`` 400, ``RangeNotSatisfiable`` 416, ``TooLarge`` 413),
``NotFound`` 404, ``Conflict`` 409, ``Forbidden`` 403, ``TooManyRequests`` 429 (with
Retry-After), ``ConnectorError`` 422, another ``SluicewayError`` 500,
HTTP errors as they are. Which body answers a path is data: :class:`Renderers`, built by
the composition root (each family's path prefixes and :data:`Renderer`, and the renderer of
every other path) and installed on the app; nothing registers itself by being imported.
Secrets never reach a body: services redact connector messages and spec validation masks
secret values.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sluiceway.core.errors import (
    Conflict,
    ConnectorError,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    SluicewayError,
    TooLarge,
    TooManyRequests,
)
from sluiceway.services.artifacts import RangeNotSatisfiable
from sluiceway.services.listing import BadQuery

log = logging.getLogger("sluiceway.api")
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Problem:
    """An error as every family sees it before rendering."""

    status: int
    message: str
    kind: str  # the error's class name
    errors: list[FieldError] = field(default_factory=list)
    id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: the caller's own values, when the family echoes them (Airbyte's invalidValue)
    values: list[object] = field(default_factory=list)


Renderer = Callable[[Request, Problem], Response]


@dataclass(frozen=True)
class Renderers:
    """The error body of each path: the first family whose prefixes start it, else
    ``default``."""

    default: Renderer
    families: tuple[tuple[tuple[str, ...], Renderer], ...] = ()

    def for_path(self, path: str) -> Renderer:
        for prefixes, renderer in self.families:
            if path.startswith(prefixes):
                return renderer
        return self.default


def respond(request: Request, problem: Problem) -> Response:
    """The problem in the body of the family that serves the request's path."""
    return _render(request, problem)


def _render(request: Request, problem: Problem) -> Response:
    renderers: Renderers = request.app.state.error_renderers
    return renderers.for_path(request.url.path)(request, problem)


def classify(exc: BaseException) -> Problem:
    kind = type(exc).__name__
    if isinstance(exc, RangeNotSatisfiable):
        return Problem(416, exc.message, kind, list(exc.errors),
                       headers={"Content-Range": f"bytes */{exc.size}"})
    if isinstance(exc, TooLarge):
        return Problem(413, exc.message, kind, list(exc.errors))
    if isinstance(exc, InvalidInput):
        return Problem(400 if isinstance(exc, BadQuery) else 422, exc.message, kind,
                       list(exc.errors))
    if isinstance(exc, NotFound):
        return Problem(404, exc.message, kind, id=exc.id)
    if isinstance(exc, Conflict):
        return Problem(409, exc.message, kind)
    if isinstance(exc, Forbidden):
        return Problem(403, exc.message, kind,
                       [FieldError(exc.field, exc.message)] if exc.field else [])
    if isinstance(exc, TooManyRequests):
        return Problem(429, exc.message, kind, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, ConnectorError):
        # the request was fine but the system it names failed: reported as invalid input of
        # the object that points at it, the one 4xx every family's spec allows here
        return Problem(422, exc.message, kind)
    if isinstance(exc, SluicewayError):
        log.error("request failed: %s", exc.message)
        return Problem(500, exc.message, kind)
    raise TypeError(kind)


def _echoed(value: Any) -> Any:
    """The caller's value as an error body can hold it: a whole object is not a useful
    "invalid value" (and may hold secrets); text is cut short and made valid UTF-8, a number
    that JSON cannot write is written as text."""
    if isinstance(value, dict | list):
        return None
    if isinstance(value, str):
        short = value[:200] + "…" if len(value) > 200 else value
        return short.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _echoed(repr(value))


def rendered(items: Iterable[T], render: Callable[[T], R], what: str) -> list[R]:
    """Each item rendered for a listing; one that cannot be rendered (a row stored before a
    check existed) is logged and left out, so one row never fails a whole list."""
    out = []
    for item in items:
        try:
            out.append(render(item))
        except Exception:  # noqa: BLE001 - any failure of one row stays with that row
            log.exception("a %s could not be rendered and is left out of the list: %r",
                          what, getattr(item, "id", "?"))
    return out


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    errors, values = [], []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        value = _echoed(e.get("input")) if e.get("type") != "missing" else None
        errors.append(FieldError(".".join(loc) or "body", e.get("msg", "invalid"), value))
        values.append(value)
    summary = "; ".join(str(e) for e in errors)
    return _render(request, Problem(422, f"invalid input: {summary}", "InvalidInput", errors,
                                    values=values))


async def _known(request: Request, exc: SluicewayError) -> Response:
    return _render(request, classify(exc))


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    return _render(request, Problem(exc.status_code, str(exc.detail), "HTTPException",
                                    headers=dict(getattr(exc, "headers", None) or {})))


def install(app: FastAPI, renderers: Renderers) -> None:
    """Answer every error of ``app`` in the body ``renderers`` choose for its path."""
    app.state.error_renderers = renderers
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(SluicewayError, _known)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]

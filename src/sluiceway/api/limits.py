"""Limits on what a request may carry, enforced before any route sees it.

:class:`RequestLimits` is an ASGI middleware that

- refuses a body larger than ``max_body_bytes`` with 413: at once when ``Content-Length``
  says so, otherwise as soon as the bytes read pass the limit (the rest is never read); the
  body read is then handed to the app as it came. Paths of streamed uploads (imports) are
  left alone: they count their own bytes against their own limit;
- refuses a NUL character in the path or in a query parameter with 422 naming it (a body's
  strings are checked by :mod:`sluiceway.api.inputs`).

Answers are the family's error body, as every other error (:func:`sluiceway.api.errors.respond`).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluiceway.api import errors
from sluiceway.core.errors import FieldError, TooLarge

#: paths whose body is a streamed upload with its own limit
STREAMED = ("/imports",)


def _nul_in_target(scope: Scope) -> FieldError | None:
    if "\x00" in scope.get("path", ""):
        return FieldError("path", "must not contain NUL characters")
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            shown = name.replace("\x00", "\\u0000")
            return FieldError(f"query.{shown}", "must not contain NUL characters")
    return None


class RequestLimits:
    def __init__(self, app: ASGIApp, max_body_bytes: int,
                 streamed: tuple[str, ...] = STREAMED) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad = _nul_in_target(scope)
        if bad is not None:
            problem = errors.Problem(422, f"invalid input: {bad}", "InvalidInput", [bad])
            await errors.respond(Request(scope), problem)(scope, receive, send)
            return
        if scope.get("path", "").startswith(self.streamed):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.strip().isdigit() and (
                int(declared) > self.max_body_bytes):
            await self._too_large(scope, receive, send)
            return
        messages: list[Message] = []
        total = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away: the app sees that as it would have
            total += len(message.get("body", b""))
            if total > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(messages, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = TooLarge("the request body", self.max_body_bytes, "SLUICEWAY_MAX_BODY_BYTES")
        response = errors.respond(Request(scope), errors.classify(exc))
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """The messages read, in one piece, then the client's own ``receive`` (which tells a
    streaming response when the client goes away)."""
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    pending.extend(m for m in messages if m["type"] != "http.request")

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed

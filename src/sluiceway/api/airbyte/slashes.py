"""Answer ``/api/v1/health/`` as ``/api/v1/health``: some clients add a trailing slash and do
not follow the redirect the router would otherwise answer with."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class StripTrailingSlash:
    """Remove one trailing slash from HTTP paths under ``prefixes`` before routing."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = ("/api/v1/", "/v1/")) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if (path.endswith("/") and path.startswith(self.prefixes)
                    and path not in self.prefixes):
                scope = dict(scope, path=path[:-1])
                raw = scope.get("raw_path")
                if isinstance(raw, bytes) and raw.endswith(b"/"):
                    scope["raw_path"] = raw[:-1]
        await self.app(scope, receive, send)

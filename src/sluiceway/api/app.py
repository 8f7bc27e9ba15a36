"""The FastAPI application: one app, one package per API family.

:func:`build` puts together what the composition root (:mod:`sluiceway.bootstrap`) made:
the platform, the error renderers and, for a server, the job runtime to start with the app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI

from sluiceway import __version__
from sluiceway.api import airbyte_public, alumio, docs, errors
from sluiceway.api.airbyte import router as airbyte
from sluiceway.api.airbyte.slashes import StripTrailingSlash
from sluiceway.api.backups import routes as backup_routes
from sluiceway.api.datasets import exports as dataset_exports
from sluiceway.api.datasets import imports as dataset_imports
from sluiceway.api.datasets import jobs as dataset_jobs
from sluiceway.api.dumps import routes as dumps
from sluiceway.api.limits import RequestLimits
from sluiceway.services import calls
from sluiceway.services.platform import Platform


class Runtime(Protocol):
    """What a server runs beside its API (the job system): started and stopped with it."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def build(platform: Platform, renderers: errors.Renderers, *,
          jobs: Callable[[], Runtime] | None = None) -> FastAPI:
    """The app over ``platform``; ``jobs`` makes the runtime that starts with the app's
    lifespan (None: an API-only process)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        calls.warm()  # check_connection's process server: started before the first call
        runtime = jobs() if jobs is not None else None
        if runtime is not None:
            runtime.start()
        try:
            yield
        finally:
            if runtime is not None:
                runtime.stop()

    app = FastAPI(title="Sluiceway", version=__version__, lifespan=lifespan,
                  description="Airbyte Configuration API v1, served by Sluiceway.",
                  docs_url=None, redoc_url=None)
    docs.install(app)
    app.state.platform = platform
    errors.install(app, renderers)
    app.add_middleware(RequestLimits, max_body_bytes=platform.settings.max_body_bytes)
    app.add_middleware(StripTrailingSlash)
    router = airbyte.build()
    app.include_router(router, prefix="/api/v1")
    app.include_router(router, prefix="/v1", include_in_schema=False)
    app.include_router(airbyte_public.router, prefix="/api/public/v1")
    app.include_router(airbyte_public.token_router, prefix="/api/public/v1")
    app.include_router(airbyte_public.token_router, prefix="/api/v1")
    app.include_router(dataset_exports.router)
    app.include_router(dataset_jobs.router)
    app.include_router(dataset_imports.router)
    app.include_router(backup_routes.router)
    app.include_router(dumps.router)
    alumio.install(app)  # the platform API under /api/v1, beside the Airbyte routes
    return app

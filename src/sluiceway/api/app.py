"""The FastAPI application: one app, one package per API family."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sluiceway import __version__
from sluiceway.api import alumio, docs, errors
from sluiceway.api.airbyte import router as airbyte
from sluiceway.api.airbyte.slashes import StripTrailingSlash
from sluiceway.api.backups import errors as backup_errors  # noqa: F401 - registers bodies
from sluiceway.api.backups import routes as backup_routes
from sluiceway.api.datasets import errors as dataset_errors  # noqa: F401 - registers bodies
from sluiceway.api.datasets import exports as dataset_exports
from sluiceway.api.datasets import imports as dataset_imports
from sluiceway.api.datasets import jobs as dataset_jobs
from sluiceway.api.dumps import errors as dump_errors  # noqa: F401 - registers bodies
from sluiceway.api.dumps import routes as dumps
from sluiceway.api.limits import RequestLimits
from sluiceway.core.settings import Settings
from sluiceway.services import calls, runtime
from sluiceway.services.platform import Platform, open_platform


def create_app(settings: Settings | None = None, *, run_jobs: bool = True,
               platform: Platform | None = None) -> FastAPI:
    """Open (and migrate) the metadata DB now; the job runtime starts with the app's lifespan
    when ``run_jobs`` is true (a server), and not at all for an API-only process."""
    platform = platform or open_platform(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        calls.warm()  # check_connection's process server: started before the first call
        handle = runtime.start(platform) if run_jobs else None
        try:
            yield
        finally:
            if handle is not None:
                handle.stop()

    app = FastAPI(title="Sluiceway", version=__version__, lifespan=lifespan,
                  description="Airbyte Configuration API v1, served by Sluiceway.",
                  docs_url=None, redoc_url=None)
    docs.install(app)
    app.state.platform = platform
    errors.install(app)
    app.add_middleware(RequestLimits, max_body_bytes=platform.settings.max_body_bytes)
    app.add_middleware(StripTrailingSlash)
    router = airbyte.build()
    app.include_router(router, prefix="/api/v1")
    app.include_router(router, prefix="/v1", include_in_schema=False)
    app.include_router(dataset_exports.router)
    app.include_router(dataset_jobs.router)
    app.include_router(dataset_imports.router)
    app.include_router(backup_routes.router)
    app.include_router(dumps.router)
    alumio.install(app)  # the platform API under /api/v1, beside the Airbyte routes
    return app

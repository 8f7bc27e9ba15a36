"""Every endpoint of the family on one router, mounted at ``/v1`` and ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from sluiceway.api.airbyte import (
    actors,
    connections,
    definitions,
    deployment,
    health,
    jobs,
    operations,
    web_backend,
    workspaces,
)


def build() -> APIRouter:
    router = APIRouter()
    for module in (workspaces, definitions, actors, connections, jobs, operations, web_backend,
                   health, deployment):
        router.include_router(module.router)
    return router

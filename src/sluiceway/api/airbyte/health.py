"""``GET /v1/health`` (no authentication) and ``GET /v1/debug``."""

from __future__ import annotations

from fastapi import APIRouter

from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import system

router = APIRouter()


@router.get("/health", response_model=m.HealthCheckRead, tags=["health"])
def get_health_check(p: PlatformDep) -> m.HealthCheckRead:
    """``db`` (v1) and ``available`` (later versions): the same fact."""
    ok = system.healthy(p)
    return m.HealthCheckRead(db=ok, available=ok)


@router.get("/debug", response_model=m.DebugRead, tags=["debugging"])
def get_debugging_info(p: PlatformDep, caller: CallerDep) -> m.DebugRead:
    return m.DebugRead(info=system.debug_info(p, caller))

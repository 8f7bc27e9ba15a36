"""Workers per space (#15-18)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import workers

router = APIRouter()
Identifier = Annotated[str, Field(min_length=1, max_length=255)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpaceCount(Strict):
    spaceIdentifier: Identifier
    workers: Annotated[int, Field(ge=0)] | None


class Counts(Strict):
    spaceWorkers: Annotated[list[SpaceCount], Field(max_length=10000)]


class SpaceSlots(Strict):
    spaceIdentifier: Identifier
    workerIdentifiers: Annotated[list[Annotated[int, Field(ge=1)]], Field(max_length=10000)]


class Slots(Strict):
    spaceWorkers: Annotated[list[SpaceSlots], Field(max_length=10000)]


def counts_json(a: workers.Allocation) -> dict[str, Any]:
    return {"workers": a.pool, "workersPerSpace": a.per_space, "spaceWorkers": [
        {"spaceIdentifier": s.identifier, "workers": s.workers} for s in a.spaces]}


def slots_json(a: workers.Allocation) -> dict[str, Any]:
    return {"workers": a.pool, "workersPerSpace": a.per_space, "spaceWorkers": [
        {"spaceIdentifier": s.identifier, "workerIdentifiers": s.slots} for s in a.spaces]}


@router.get("/space_workers/allocation")
def get_allocation(p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    return counts_json(workers.allocation(p, caller))


@router.post("/space_workers/allocation", status_code=201)
def set_allocation(body: Counts, p: PlatformDep, caller: CallerDep) -> JSONResponse:
    given = [(s.spaceIdentifier, s.workers) for s in body.spaceWorkers]
    return JSONResponse(counts_json(workers.allocate(p, caller, given)), status_code=201)


@router.get("/space_workers")
def get_assignment(p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    return slots_json(workers.allocation(p, caller))


@router.post("/space_workers")
def set_assignment(body: Slots, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    given = [(s.spaceIdentifier, s.workerIdentifiers) for s in body.spaceWorkers]
    return slots_json(workers.pin(p, caller, given))

"""Task statistics (#110, #127-129): per route in a window, per day, as a series and as
totals (#111, per route, is served with the tasks)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field

from sluiceway.api.alumio.render import listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.api.inputs import RequestModel
from sluiceway.services import criteria, spaces
from sluiceway.services import task_statistics as service

router = APIRouter()


def human_bytes(n: int) -> str:
    """``512 B``, ``1.5 kB``, ``2.3 MB`` (powers of 1000)."""
    if n < 1000:
        return f"{n} B"
    size = float(n)
    for unit in ("kB", "MB", "GB", "TB"):
        size /= 1000
        if size < 1000 or unit == "TB":
            return f"{size:.1f} {unit}"
    return f"{n} B"
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
RouteId = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[a-z0-9-]+$")]


class RoutesWindow(RequestModel):
    model_config = ConfigDict(extra="forbid")
    from_: Annotated[str, Field(alias="from", max_length=64)]
    to: Annotated[str, Field(max_length=64)]
    routeIdentifiers: Annotated[list[RouteId], Field(min_length=1, max_length=1000)]


def _ws(p: PlatformDep, caller: CallerDep, space: str | None) -> str:
    return spaces.current(p, caller, space).id


@router.post("/statistics/routes")
def routes_window(body: RoutesWindow, p: PlatformDep, caller: CallerDep,
                  space: SpaceParam = None) -> dict[str, Any]:
    found = service.routes_window(p, caller, _ws(p, caller, space), body.from_, body.to,
                                  body.routeIdentifiers)
    return listing([{"identifier": r.identifier,
                     "taskStats": {k: r.tasks[k] for k in ("new", "finished", "failed")},
                     "logStats": {"errors": r.log_errors,
                                  "memory": human_bytes(r.memory_bytes)}}
                    for r in found], len(found))


@router.get("/statistics/tasks/daily")
def daily(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
          space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(filter, service.COLUMNS)
    rows, total = service.daily(p, caller, _ws(p, caller, space), c)
    return listing([{"identifier": r.identifier, "spaceIdentifier": r.space,
                     "date": r.date.isoformat(), **r.counts} for r in rows], total)


@router.get("/statistics/tasks/series")
def series(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
           aggregation: Annotated[str, Query(max_length=20)] = "monthly") -> dict[str, Any]:
    c = criteria.parse(filter, service.COLUMNS) if filter is not None else None
    return {"results": [{"date": date, **counts}
                        for date, counts in service.series(p, caller, c, aggregation)]}


@router.get("/statistics/tasks/totals")
def totals(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
           dateFrom: Annotated[str | None, Query(max_length=64)] = None,  # noqa: N803
           dateTo: Annotated[str | None, Query(max_length=64)] = None,  # noqa: N803
           space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(filter, service.COLUMNS)
    return {"results": service.totals(p, caller, _ws(p, caller, space), c, dateFrom, dateTo)}

"""Search (#83): configurations, tasks and variables of the current space at once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from sluiceway.api.alumio.configurations import configuration_json
from sluiceway.api.alumio.render import listing
from sluiceway.api.alumio.tasks import task_json
from sluiceway.api.alumio.variables import variable_json
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import configurations, criteria, spaces
from sluiceway.services import search as service

router = APIRouter()


@router.get("/search")
def search(p: PlatformDep, caller: CallerDep,
           query: Annotated[str, Query(max_length=2000, description=(
               "Words to find in names and identifiers, and field:value terms."))] = "",
           filter: Annotated[str, Query(description=(  # noqa: A002
               "Apply filter to the results."))] = "{}",
           space: Annotated[str | None, Query(description="Space Identifier")] = None,
           ) -> dict[str, Any]:
    c = criteria.parse(filter, configurations.COLUMNS)
    found = service.search(p, caller, spaces.current(p, caller, space).id, query, c)
    return {"configurations": listing([configuration_json(v) for v in found.configurations],
                                      found.configurations_total),
            "tasks": listing([task_json(v) for v in found.tasks], found.tasks_total),
            "variables": listing([variable_json(v) for v in found.variables],
                                 found.variables_total)}

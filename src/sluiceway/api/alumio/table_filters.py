"""The caller's saved table filters (#31-34): a user sees only their own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from sluiceway.api.alumio.render import listing
from sluiceway.api.alumio.spaces import FilterParam, Strict
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import criteria, table_filters

router = APIRouter()
Text = Annotated[str, Field(min_length=1, max_length=255)]


class TableFilterBody(Strict):
    tableKey: Text
    name: Text
    filter: dict[str, Any]

    def given(self) -> table_filters.FilterInput:
        return table_filters.FilterInput(self.tableKey, self.name, self.filter)


def filter_json(v: table_filters.FilterView) -> dict[str, Any]:
    return {"identifier": v.id, "user": v.user, "tableKey": v.table_key, "name": v.name,
            "filter": v.filter}


@router.get("/users/current/table_filters")
def list_filters(p: PlatformDep, caller: CallerDep,
                 filter: FilterParam = None) -> dict[str, Any]:  # noqa: A002
    views, total = table_filters.list_own(p, caller,
                                          criteria.parse(filter, table_filters.COLUMNS))
    return listing([filter_json(v) for v in views], total)


@router.post("/users/current/table_filters")
def create_filter(body: TableFilterBody, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    return {"object": filter_json(table_filters.create(p, caller, body.given()))}


@router.put("/users/current/table_filters/{identifier}")
def update_filter(identifier: str, body: TableFilterBody, p: PlatformDep,
                  caller: CallerDep) -> dict[str, Any]:
    return {"object": filter_json(table_filters.update(p, caller, identifier, body.given()))}


@router.delete("/users/current/table_filters/{identifier}")
def delete_filter(identifier: str, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    table_filters.delete(p, caller, identifier)
    return {"message": f"Table filter {identifier} deleted"}

"""``/v1/operations/list`` (as later versions have it): what runs after a connection's sync
(normalization, dbt, webhooks). Sluiceway has no such operations, so the list is empty."""

from __future__ import annotations

from fastapi import APIRouter

from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import connections

router = APIRouter(tags=["operation"])


@router.post("/operations/list", response_model=m.OperationReadList)
def list_operations_for_connection(body: m.ConnectionIdRequestBody, p: PlatformDep,
                                   caller: CallerDep) -> m.OperationReadList:
    connections.get(p, caller, str(body.connectionId))  # 404 for an unknown connection
    return m.OperationReadList(operations=[])

"""The platform API (Alumio's, seed 002) under ``/api/v1``: spaces, space users, the current
user and their table filters, system administrators, API tokens, the audit trail, variables,
and configurations with their types. Envelopes as the contract has them (``{object}``,
``{metadata: {totalCount}, results}``, bare items); errors in its Error body. Thin routers
over services; the policy and the audit writer live there."""

from __future__ import annotations

from fastapi import FastAPI

from sluiceway.api.alumio import (
    ai,
    audit_trail,
    configuration_graph,
    configuration_transfer,
    configurations,
    di_types,
    http_proxy,
    logs,
    oauth,
    platform_info,
    queue,
    relations,
    search,
    spaces,
    storages,
    system_administrators,
    table_filters,
    task_statistics,
    tasks,
    tokens,
    users,
    variables,
    webhooks,
    workers,
)
from sluiceway.api.alumio.render import PREFIXES, render

__all__ = ["PREFIXES", "install", "render"]


def install(app: FastAPI) -> None:
    for module in (spaces, users, table_filters, system_administrators, tokens, audit_trail,
                   variables, ai, platform_info, workers, configurations, configuration_transfer,
                   configuration_graph, di_types, relations, queue, tasks, storages, logs,
                   search, task_statistics, webhooks, http_proxy, oauth):
        app.include_router(module.router, prefix="/api/v1", tags=["platform"])

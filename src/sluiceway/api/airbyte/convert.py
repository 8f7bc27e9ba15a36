"""Between the neutral objects services speak and Airbyte v1 JSON."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from fastapi import Response
from pydantic_core import to_json

from sluiceway.api.airbyte import schemas as m
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import catalogs
from sluiceway.services.actors import ActorView
from sluiceway.services.connections import ConnectionView
from sluiceway.services.definitions import DefinitionView
from sluiceway.services.jobs import AttemptRecord, JobRecord, JobView
from sluiceway.services.workspaces import WorkspaceView

_UNCLEAN = re.compile(r"[^0-9a-zA-Z_]+")
#: where each checked key of a stream sits in a ``syncCatalog`` stream (see services.catalogs)
CATALOG_PATHS: Mapping[str, str] = MappingProxyType({
    "name": "stream.name", "syncMode": "config.syncMode", "cursorField": "config.cursorField",
    "primaryKey": "config.primaryKey", "fields": "config.selectedFields"})


@functools.lru_cache(maxsize=65536)
def cleaned(name: str) -> str:
    return _UNCLEAN.sub("_", name).lower()


def json_bytes(payload: Any) -> Response:
    """A JSON answer serialised in one pass (for long lists built as plain dicts), or
    already serialised (bytes)."""
    content = payload if isinstance(payload, bytes) else to_json(payload)
    return Response(content=content, media_type="application/json")


def workspace(ws: WorkspaceView) -> m.WorkspaceRead:
    return m.WorkspaceRead(workspaceId=ws.id, customerId=ws.customer_id, name=ws.name,
                           slug=ws.slug, initialSetupComplete=ws.initial_setup_complete,
                           onboardingComplete=ws.onboarding_complete)


def source_definition(d: DefinitionView) -> m.SourceDefinitionRead:
    return m.SourceDefinitionRead(sourceDefinitionId=d.id, name=d.name,
                                  dockerRepository=d.connector, dockerImageTag=d.version,
                                  documentationUrl=d.documentation_url)


def destination_definition(d: DefinitionView) -> m.DestinationDefinitionRead:
    return m.DestinationDefinitionRead(destinationDefinitionId=d.id, name=d.name,
                                       dockerRepository=d.connector, dockerImageTag=d.version,
                                       documentationUrl=d.documentation_url)


def source_json(a: ActorView) -> dict[str, Any]:
    return {"sourceDefinitionId": a.definition_id, "sourceId": a.id,
            "workspaceId": a.workspace_id, "connectionConfiguration": a.config,
            "name": a.name, "sourceName": a.definition_name}


def destination_json(a: ActorView) -> dict[str, Any]:
    return {"destinationDefinitionId": a.definition_id, "destinationId": a.id,
            "workspaceId": a.workspace_id, "connectionConfiguration": a.config,
            "name": a.name, "destinationName": a.definition_name}


def source(a: ActorView) -> m.SourceRead:
    return m.SourceRead(sourceDefinitionId=a.definition_id, sourceId=a.id,
                        workspaceId=a.workspace_id, connectionConfiguration=a.config,
                        name=a.name, sourceName=a.definition_name)


def destination(a: ActorView) -> m.DestinationRead:
    return m.DestinationRead(destinationDefinitionId=a.definition_id, destinationId=a.id,
                             workspaceId=a.workspace_id, connectionConfiguration=a.config,
                             name=a.name, destinationName=a.definition_name)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def source_schema_json(catalog: Mapping[str, Any]) -> dict[str, Any]:
    """The seed's ``SourceSchema`` of a stored catalog, as JSON (None values left out)."""
    streams = []
    for st in catalog["streams"]:
        streams.append(_drop_none({
            "name": st["name"], "cleanedName": cleaned(st["name"]),
            "fields": [{"name": f["name"], "cleanedName": cleaned(f["name"]),
                        "dataType": f["data_type"], "selected": f.get("selected", True)}
                       for f in st["fields"]],
            "supportedSyncModes": list(st.get("supported_sync_modes") or []),
            "sourceDefinedCursor": st.get("source_defined_cursor", False),
            "defaultCursorField": st.get("default_cursor_field") or [],
            "selected": st.get("selected", True),
            "syncMode": st["sync_mode"],
            "cursorField": st.get("cursor_field") or [],
            "namespace": st.get("namespace"),
            "destinationSyncMode": st["destination_sync_mode"],
            "primaryKey": st.get("primary_key") or [],
        }))
    return {"streams": streams}


def source_schema(catalog: dict[str, Any]) -> m.SourceSchema:
    return m.SourceSchema.model_validate(source_schema_json(catalog))


def sync_catalog_json(catalog: Mapping[str, Any]) -> dict[str, Any]:
    """The later versions' ``AirbyteCatalog`` of a stored catalog, as JSON."""
    streams = []
    for st in catalog["streams"]:
        fields = st.get("fields") or []
        config = {
            "syncMode": st["sync_mode"], "cursorField": st.get("cursor_field") or [],
            "destinationSyncMode": st["destination_sync_mode"],
            "primaryKey": st.get("primary_key") or [], "aliasName": st["name"],
            "selected": st.get("selected", True),
        }
        if not all(f.get("selected", True) for f in fields):
            config["fieldSelectionEnabled"] = True
            config["selectedFields"] = [{"fieldPath": [f["name"]]} for f in fields
                                        if f.get("selected", True)]
        streams.append({"stream": _drop_none({
            "name": st["name"], "namespace": st.get("namespace"),
            "jsonSchema": catalogs.json_schema(st),
            "supportedSyncModes": list(st.get("supported_sync_modes") or []),
            "sourceDefinedCursor": st.get("source_defined_cursor", False),
            "defaultCursorField": st.get("default_cursor_field") or [],
            "sourceDefinedPrimaryKey": st.get("source_defined_primary_key") or [],
        }), "config": config})
    return {"streams": streams}


def sync_catalog(catalog: dict[str, Any]) -> m.AirbyteCatalog:
    return m.AirbyteCatalog.model_validate(sync_catalog_json(catalog))


def streams_from_catalog(cat: m.AirbyteCatalog) -> list[dict[str, Any]]:
    """A client's ``syncCatalog`` as the neutral selection (see services.catalogs)."""
    out = []
    errors = []
    for i, item in enumerate(cat.streams):
        st, cfg = item.stream, item.config
        mode = cfg.syncMode.value if cfg else m.SyncMode.full_refresh.value
        entry: dict[str, Any] = {
            "name": st.name,
            "selected": True if cfg is None or cfg.selected is None else cfg.selected,
            "sync_mode": mode,
            "destination_sync_mode": cfg.destinationSyncMode.value if cfg else "overwrite",
            "cursor_field": (cfg.cursorField if cfg else None) or [],
            "primary_key": (cfg.primaryKey if cfg else None) or [],
            "fields": catalogs.fields_of(st.jsonSchema) if st.jsonSchema else [],
        }
        if cfg is not None and cfg.aliasName not in (None, st.name):
            errors.append(FieldError(
                f"syncCatalog.streams[{i}].config.aliasName", "tables are named after their "
                "streams here: the alias must be the stream name or left out", cfg.aliasName))
        if cfg is not None and cfg.fieldSelectionEnabled:
            paths = cfg.selectedFields or []
            nested = [p.fieldPath for p in paths if len(p.fieldPath) != 1]
            if nested:
                errors.append(FieldError(
                    f"syncCatalog.streams[{i}].config.selectedFields",
                    "only top-level fields can be chosen", nested[0]))
            entry["selected_fields"] = [p.fieldPath[0] for p in paths if p.fieldPath]
        optional = {"namespace": st.namespace, "json_schema": st.jsonSchema,
                    "supported_sync_modes": [x.value for x in st.supportedSyncModes]
                    if st.supportedSyncModes is not None else None,
                    "source_defined_cursor": st.sourceDefinedCursor,
                    "default_cursor_field": st.defaultCursorField,
                    "source_defined_primary_key": st.sourceDefinedPrimaryKey}
        entry.update(_drop_none(optional))
        out.append(entry)
    if errors:
        raise InvalidInput("invalid syncCatalog", errors)
    return out


@dataclass(frozen=True)
class Selection:
    """The streams a create or update sent, and how it wrote them (for error paths)."""

    streams: list[dict[str, Any]] | None
    where: str = "syncSchema"
    paths: Mapping[str, str] = field(default_factory=lambda: catalogs.SEED_PATHS)

    def mode(self) -> str | None:
        """The sync mode of the first selected stream (a connection's mode when the client
        sent only a ``syncCatalog``)."""
        return next((st["sync_mode"] for st in self.streams or [] if st["selected"]), None)


def selection(schema: m.SourceSchema | None, catalog: m.AirbyteCatalog | None,
              default_mode: m.SyncMode | None) -> Selection:
    if schema is not None and catalog is not None:
        raise InvalidInput("invalid connection", [FieldError(
            "syncCatalog", "send syncSchema (v1) or syncCatalog, not both")])
    if catalog is not None:
        return Selection(streams_from_catalog(catalog), "syncCatalog", CATALOG_PATHS)
    if schema is not None:
        return Selection(streams_in(schema, default_mode or m.SyncMode.full_refresh))
    return Selection(None)


@dataclass(frozen=True)
class Page:
    workspace_ids: list[str]
    size: int
    offset: int


def page_of(body: m.ListConnectionsRequestBody) -> Page:
    """The workspaces and page of a ``list_paginated`` body: ``pageSize``/``rowOffset`` at
    the top level or in ``pagination``; 20 from the first when neither is sent."""
    ids = [str(w) for w in body.workspaceIds or []]
    if body.workspaceId is not None and str(body.workspaceId) not in ids:
        ids.append(str(body.workspaceId))
    if not ids:
        raise InvalidInput("invalid list request", [FieldError(
            "workspaceIds", "name at least one workspace (workspaceIds or workspaceId)")])
    nested = body.pagination or m.Pagination()
    size = body.pageSize if body.pageSize is not None else nested.pageSize
    offset = body.rowOffset if body.rowOffset is not None else nested.rowOffset
    return Page(ids, size, offset)


def check_placement(prefix: str | None, namespace: m.NamespaceDefinitionType | None) -> None:
    """Tables land under their stream names in the destination's configured namespace:
    a client asking for a prefix or a custom namespace is told so."""
    errors = []
    if prefix:
        errors.append(FieldError("prefix", "tables are named after their streams here: "
                                 "the prefix must be empty", prefix))
    if namespace is m.NamespaceDefinitionType.customformat:
        errors.append(FieldError("namespaceDefinition", "tables land in the namespace "
                                 "configured on the destination: use destination or source",
                                 namespace.value))
    if errors:
        raise InvalidInput("invalid connection", errors)


def streams_in(schema: m.SourceSchema, default_mode: m.SyncMode) -> list[dict[str, Any]]:
    """A client's ``syncSchema`` as the neutral selection (see services.catalogs)."""
    out = []
    for st in schema.streams:
        mode = (st.syncMode or default_mode).value
        dest = st.destinationSyncMode.value if st.destinationSyncMode else (
            "append" if mode == "incremental" else "overwrite")
        entry: dict[str, Any] = {
            "name": st.name, "selected": True if st.selected is None else st.selected,
            "sync_mode": mode, "destination_sync_mode": dest,
            "cursor_field": st.cursorField or [], "primary_key": st.primaryKey or [],
            "fields": [{"name": f.name, "data_type": f.dataType.value, "selected": f.selected}
                       for f in st.fields],
        }
        if st.namespace is not None:
            entry["namespace"] = st.namespace
        if st.supportedSyncModes is not None:
            entry["supported_sync_modes"] = [s.value for s in st.supportedSyncModes]
        if st.sourceDefinedCursor is not None:
            entry["source_defined_cursor"] = st.sourceDefinedCursor
        if st.defaultCursorField is not None:
            entry["default_cursor_field"] = st.defaultCursorField
        out.append(entry)
    return out


def schedule(c: ConnectionView) -> m.ConnectionSchedule | None:
    if c.schedule_units is None or c.schedule_time_unit is None:
        return None
    return m.ConnectionSchedule(units=c.schedule_units, timeUnit=m.TimeUnit(c.schedule_time_unit))


def connection_json(c: ConnectionView) -> dict[str, Any]:
    """A connection as v1 JSON with the later versions' fields (None values left out)."""
    out: dict[str, Any] = {
        "connectionId": c.id, "name": c.name, "sourceId": c.source_id,
        "destinationId": c.destination_id, "syncMode": c.sync_mode,
        "syncSchema": source_schema_json(c.catalog)}
    kind, data = "manual", None
    if c.schedule_units is not None and c.schedule_time_unit is not None:
        out["schedule"] = {"units": c.schedule_units, "timeUnit": c.schedule_time_unit}
        kind, data = "basic", {"basicSchedule": out["schedule"]}
    elif c.schedule_cron:
        kind, data = "cron", {"cron": {"cronExpression": c.schedule_cron,
                                       "cronTimeZone": c.schedule_timezone or "UTC"}}
    out.update(status=c.status, syncCatalog=sync_catalog_json(c.catalog), prefix="",
               namespaceDefinition="destination", operationIds=[], scheduleType=kind)
    if data is not None:
        out["scheduleData"] = data
    return out


def connection(c: ConnectionView) -> m.ConnectionRead:
    return m.ConnectionRead.model_validate(connection_json(c))


def job(j: JobRecord) -> m.JobRead:
    return m.JobRead(id=j.id, configType=m.JobConfigType(j.config_type), configId=j.scope,
                     createdAt=int(j.created_at), updatedAt=int(j.updated_at),
                     status=m.JobStatus(j.status))


#: the ledger's attempt statuses as v1 has them: a queued attempt (its job not yet claimed)
#: has not ended, which v1 calls running; a cancelled one did not succeed
ATTEMPT_STATUS = {"queued": "running", "running": "running", "succeeded": "succeeded"}


def attempt(a: AttemptRecord) -> m.AttemptRead:
    status = ATTEMPT_STATUS.get(a.status, "failed")
    return m.AttemptRead(id=a.number - 1, status=m.AttemptStatus(status),
                         createdAt=int(a.created_at), updatedAt=int(a.updated_at),
                         endedAt=int(a.ended_at) if a.ended_at is not None else None,
                         bytesSynced=a.bytes_synced, recordsSynced=a.records_synced)


def job_info(v: JobView) -> m.JobInfoRead:
    return m.JobInfoRead(job=job(v.job), attempts=[
        m.AttemptInfoRead(attempt=attempt(a.attempt), logs=m.LogRead(logLines=a.log_lines))
        for a in v.attempts])


def job_with_attempts(v: JobView) -> m.JobWithAttemptsRead:
    return m.JobWithAttemptsRead(job=job(v.job), attempts=[attempt(a.attempt)
                                                           for a in v.attempts])

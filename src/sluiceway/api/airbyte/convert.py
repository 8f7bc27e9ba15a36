"""Between the neutral objects services speak and Airbyte v1 JSON."""

from __future__ import annotations

import re
from typing import Any

from sluiceway.api.airbyte import schemas as m
from sluiceway.services.actors import ActorView
from sluiceway.services.jobs import JobView


def cleaned(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z_]+", "_", name).lower()


def workspace(ws: Any) -> m.WorkspaceRead:
    return m.WorkspaceRead(workspaceId=ws.id, customerId=ws.customer_id, name=ws.name,
                           slug=ws.slug, initialSetupComplete=ws.initial_setup_complete,
                           onboardingComplete=ws.onboarding_complete)


def source_definition(d: Any) -> m.SourceDefinitionRead:
    return m.SourceDefinitionRead(sourceDefinitionId=d.id, name=d.name,
                                  dockerRepository=d.docker_repository,
                                  dockerImageTag=d.docker_image_tag,
                                  documentationUrl=d.documentation_url)


def destination_definition(d: Any) -> m.DestinationDefinitionRead:
    return m.DestinationDefinitionRead(destinationDefinitionId=d.id, name=d.name,
                                       dockerRepository=d.docker_repository,
                                       dockerImageTag=d.docker_image_tag,
                                       documentationUrl=d.documentation_url)


def source(a: ActorView) -> m.SourceRead:
    return m.SourceRead(sourceDefinitionId=a.definition_id, sourceId=a.id,
                        workspaceId=a.workspace_id, connectionConfiguration=a.config,
                        name=a.name, sourceName=a.definition_name)


def destination(a: ActorView) -> m.DestinationRead:
    return m.DestinationRead(destinationDefinitionId=a.definition_id, destinationId=a.id,
                             workspaceId=a.workspace_id, connectionConfiguration=a.config,
                             name=a.name, destinationName=a.definition_name)


def source_schema(catalog: dict[str, Any]) -> m.SourceSchema:
    streams = []
    for st in catalog["streams"]:
        streams.append(m.SourceSchemaStream(
            name=st["name"], cleanedName=cleaned(st["name"]),
            fields=[m.SourceSchemaField(name=f["name"], cleanedName=cleaned(f["name"]),
                                        dataType=m.DataType(f["data_type"]),
                                        selected=f.get("selected", True))
                    for f in st["fields"]],
            supportedSyncModes=[m.SyncMode(s) for s in st.get("supported_sync_modes") or []],
            sourceDefinedCursor=st.get("source_defined_cursor", False),
            defaultCursorField=st.get("default_cursor_field") or [],
            selected=st.get("selected", True),
            syncMode=m.SyncMode(st["sync_mode"]),
            cursorField=st.get("cursor_field") or [],
            namespace=st.get("namespace"),
            destinationSyncMode=m.DestinationSyncMode(st["destination_sync_mode"]),
            primaryKey=st.get("primary_key") or [],
        ))
    return m.SourceSchema(streams=streams)


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


def schedule(c: Any) -> m.ConnectionSchedule | None:
    if c.schedule_units is None or c.schedule_time_unit is None:
        return None
    return m.ConnectionSchedule(units=c.schedule_units, timeUnit=m.TimeUnit(c.schedule_time_unit))


def connection(c: Any) -> m.ConnectionRead:
    return m.ConnectionRead(connectionId=c.id, name=c.name, sourceId=c.source_id,
                            destinationId=c.destination_id, syncMode=m.SyncMode(c.sync_mode),
                            syncSchema=source_schema(c.catalog), schedule=schedule(c),
                            status=m.ConnectionStatus(c.status))


def job(j: Any) -> m.JobRead:
    return m.JobRead(id=j.id, configType=m.JobConfigType(j.config_type), configId=j.scope,
                     createdAt=int(j.created_at), updatedAt=int(j.updated_at),
                     status=m.JobStatus(j.status))


#: the ledger's attempt statuses as v1 has them: a queued attempt (its job not yet claimed)
#: has not ended, which v1 calls running; a cancelled one did not succeed
ATTEMPT_STATUS = {"queued": "running", "running": "running", "succeeded": "succeeded"}


def attempt(a: Any) -> m.AttemptRead:
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

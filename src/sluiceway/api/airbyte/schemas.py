"""Request and response bodies of the Airbyte Configuration API v1, field for field."""

from __future__ import annotations

import enum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.inputs import Int64, Name, RequestModel

# the protocol's sync modes are the API's enums, value for value
from sluiceway.protocol.catalog import DestinationSyncMode as DestinationSyncMode
from sluiceway.protocol.catalog import SyncMode as SyncMode

Email = Annotated[str, Field(max_length=320)]
ImageTag = Annotated[str, Field(max_length=100)]
Url = Annotated[str, Field(max_length=2000)]


class Body(RequestModel):
    """Clients of later versions send more fields: they are accepted and ignored. Every
    string is checked (see :mod:`sluiceway.api.inputs`)."""

    model_config = ConfigDict(extra="ignore")


class DataType(enum.StrEnum):
    string = "string"
    number = "number"
    boolean = "boolean"
    object = "object"
    array = "array"


class ConnectionStatus(enum.StrEnum):
    active = "active"
    inactive = "inactive"
    deprecated = "deprecated"


class TimeUnit(enum.StrEnum):
    minutes = "minutes"
    hours = "hours"
    days = "days"
    weeks = "weeks"
    months = "months"


class JobConfigType(enum.StrEnum):
    check_connection_source = "check_connection_source"
    check_connection_destination = "check_connection_destination"
    discover_schema = "discover_schema"
    get_spec = "get_spec"
    sync = "sync"
    reset_connection = "reset_connection"


class JobStatus(enum.StrEnum):
    pending = "pending"
    running = "running"
    incomplete = "incomplete"
    failed = "failed"
    succeeded = "succeeded"
    cancelled = "cancelled"


class AttemptStatus(enum.StrEnum):
    running = "running"
    failed = "failed"
    succeeded = "succeeded"


class NamespaceDefinitionType(enum.StrEnum):
    """Where a connection's tables land (later versions): always the namespace configured on
    the destination here, which later versions call ``destination``."""

    source = "source"
    destination = "destination"
    customformat = "customformat"


# --- request bodies ---------------------------------------------------------------------------

class WorkspaceIdRequestBody(Body):
    workspaceId: UUID


class SlugRequestBody(Body):
    slug: Name


class WorkspaceUpdate(Body):
    workspaceId: UUID
    email: Email | None = None
    initialSetupComplete: bool
    onboardingComplete: bool
    anonymousDataCollection: bool
    news: bool
    securityUpdates: bool


class WorkspaceCreate(Body):
    name: Name = Field(min_length=1)
    email: Email | None = None
    anonymousDataCollection: bool = False
    news: bool = False
    securityUpdates: bool = False


class SourceDefinitionIdRequestBody(Body):
    sourceDefinitionId: UUID


class DestinationDefinitionIdRequestBody(Body):
    destinationDefinitionId: UUID


class DefinitionCreate(Body):
    name: Name
    dockerRepository: Name
    dockerImageTag: ImageTag
    documentationUrl: Url


class SourceDefinitionUpdate(Body):
    sourceDefinitionId: UUID
    dockerImageTag: ImageTag


class DestinationDefinitionUpdate(Body):
    destinationDefinitionId: UUID
    dockerImageTag: ImageTag | None = None


class SourceIdRequestBody(Body):
    sourceId: UUID


class DestinationIdRequestBody(Body):
    destinationId: UUID


class SourceCreate(Body):
    workspaceId: UUID
    sourceDefinitionId: UUID
    connectionConfiguration: Any
    name: Name


class SourceUpdate(Body):
    sourceId: UUID
    connectionConfiguration: Any
    name: Name


class SourceRecreate(SourceCreate):
    sourceId: UUID


class DestinationCreate(Body):
    workspaceId: UUID
    destinationDefinitionId: UUID
    connectionConfiguration: Any
    name: Name | None = None


class DestinationUpdate(Body):
    destinationId: UUID
    connectionConfiguration: Any
    name: Name


class DestinationRecreate(Body):
    workspaceId: UUID
    destinationId: UUID
    destinationDefinitionId: UUID
    connectionConfiguration: Any
    name: Name


class SourceSchemaField(Body):
    name: str
    cleanedName: str | None = None
    dataType: DataType
    selected: bool


class SourceSchemaStream(Body):
    name: str
    cleanedName: str | None = None
    fields: list[SourceSchemaField]
    supportedSyncModes: list[SyncMode] | None = None
    sourceDefinedCursor: bool | None = None
    defaultCursorField: list[str] | None = None
    selected: bool | None = None
    syncMode: SyncMode | None = None
    cursorField: list[str] | None = None
    #: beyond v1 (as later versions have them): where and how the stream lands
    namespace: str | None = None
    destinationSyncMode: DestinationSyncMode | None = None
    primaryKey: list[list[str]] | None = None


class SourceSchema(Body):
    streams: list[SourceSchemaStream]


# --- beyond v1: the catalog shape later versions speak (syncCatalog, discover's catalog) ------

class AirbyteStream(Body):
    name: str
    jsonSchema: dict[str, Any] | None = None
    supportedSyncModes: list[SyncMode] | None = None
    sourceDefinedCursor: bool | None = None
    defaultCursorField: list[str] | None = None
    sourceDefinedPrimaryKey: list[list[str]] | None = None
    namespace: str | None = None


class SelectedFieldInfo(Body):
    fieldPath: list[str]


class AirbyteStreamConfiguration(Body):
    syncMode: SyncMode
    cursorField: list[str] | None = None
    destinationSyncMode: DestinationSyncMode
    primaryKey: list[list[str]] | None = None
    aliasName: str | None = None
    selected: bool | None = None
    fieldSelectionEnabled: bool | None = None
    selectedFields: list[SelectedFieldInfo] | None = None


class AirbyteStreamAndConfiguration(Body):
    stream: AirbyteStream
    config: AirbyteStreamConfiguration | None = None


class AirbyteCatalog(Body):
    streams: list[AirbyteStreamAndConfiguration]


class ConnectionSchedule(Body):
    units: int
    timeUnit: TimeUnit


class ScheduleType(enum.StrEnum):
    """Later versions' ``scheduleType`` (``basic_schedule`` is read as ``basic``)."""

    manual = "manual"
    basic = "basic"
    basic_schedule = "basic_schedule"
    cron = "cron"


class CronScheduleData(Body):
    cronExpression: str = Field(max_length=255)
    cronTimeZone: str = Field(default="UTC", max_length=64)


class ScheduleData(Body):
    basicSchedule: ConnectionSchedule | None = None
    cron: CronScheduleData | None = None


class ConnectionCreate(Body):
    name: Name | None = None
    sourceId: UUID
    destinationId: UUID
    #: required unless ``syncCatalog`` is sent (later clients send only that)
    syncMode: SyncMode | None = None
    syncSchema: SourceSchema | None = None
    schedule: ConnectionSchedule | None = None
    status: ConnectionStatus
    #: beyond v1 (as later versions have them)
    scheduleType: ScheduleType | None = None
    scheduleData: ScheduleData | None = None
    syncCatalog: AirbyteCatalog | None = None
    prefix: str | None = None
    namespaceDefinition: NamespaceDefinitionType | None = None
    namespaceFormat: str | None = None
    sourceCatalogId: UUID | None = None
    operationIds: list[UUID] | None = None


class ConnectionUpdate(Body):
    connectionId: UUID
    #: one of ``syncSchema`` and ``syncCatalog`` (later clients send only that); neither keeps
    #: the streams as they are
    syncSchema: SourceSchema | None = None
    schedule: ConnectionSchedule | None = None
    status: ConnectionStatus
    #: beyond v1 (as later versions have them)
    scheduleType: ScheduleType | None = None
    scheduleData: ScheduleData | None = None
    syncCatalog: AirbyteCatalog | None = None
    prefix: str | None = None
    namespaceDefinition: NamespaceDefinitionType | None = None
    namespaceFormat: str | None = None
    sourceCatalogId: UUID | None = None
    operationIds: list[UUID] | None = None


class ConnectionIdRequestBody(Body):
    connectionId: UUID


class Pagination(Body):
    pageSize: int = Field(default=20, ge=1, le=10_000)
    rowOffset: int = Field(default=0, ge=0)


class JobListRequestBody(Body):
    #: v1 names one type; later versions send ``configTypes`` (one of the two is required)
    configType: JobConfigType | None = None
    configId: str
    configTypes: list[JobConfigType] | None = None
    pagination: Pagination | None = None


class ListConnectionsRequestBody(Body):
    """``list_paginated`` (later versions): the workspaces (``workspaceIds``, or one
    ``workspaceId``) and the page, at the top level or in ``pagination``."""

    workspaceIds: list[UUID] | None = None
    workspaceId: UUID | None = None
    pageSize: int | None = Field(default=None, ge=1, le=10_000)
    rowOffset: int | None = Field(default=None, ge=0)
    pagination: Pagination | None = None
    includeDeleted: bool = False


class JobIdRequestBody(Body):
    id: Int64


# --- response bodies --------------------------------------------------------------------------

class WorkspaceRead(BaseModel):
    workspaceId: str
    customerId: str
    name: str
    slug: str
    initialSetupComplete: bool
    onboardingComplete: bool


class SourceDefinitionRead(BaseModel):
    sourceDefinitionId: str
    name: str
    dockerRepository: str
    dockerImageTag: str
    documentationUrl: str | None = None


class SourceDefinitionReadList(BaseModel):
    sourceDefinitions: list[SourceDefinitionRead]


class DestinationDefinitionRead(BaseModel):
    destinationDefinitionId: str
    name: str
    dockerRepository: str
    dockerImageTag: str
    documentationUrl: str | None = None


class DestinationDefinitionReadList(BaseModel):
    destinationDefinitions: list[DestinationDefinitionRead]


class SourceDefinitionSpecificationRead(BaseModel):
    sourceDefinitionId: str
    documentationUrl: str | None = None
    connectionSpecification: dict[str, Any]


class DestinationDefinitionSpecificationRead(BaseModel):
    destinationDefinitionId: str
    documentationUrl: str | None = None
    connectionSpecification: dict[str, Any]


class SourceRead(BaseModel):
    sourceDefinitionId: str
    sourceId: str
    workspaceId: str
    connectionConfiguration: dict[str, Any]
    name: str
    sourceName: str


class SourceReadList(BaseModel):
    sources: list[SourceRead]


class DestinationRead(BaseModel):
    destinationDefinitionId: str
    destinationId: str
    workspaceId: str
    connectionConfiguration: dict[str, Any]
    name: str
    destinationName: str


class DestinationReadList(BaseModel):
    destinations: list[DestinationRead]


class CheckConnectionRead(BaseModel):
    status: str
    message: str | None = None


class SourceDiscoverSchemaRead(BaseModel):
    schema_: SourceSchema = Field(alias="schema")
    #: beyond v1 (as later versions have them)
    catalog: AirbyteCatalog | None = None
    catalogId: str | None = None

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class ConnectionRead(BaseModel):
    connectionId: str
    name: str
    sourceId: str
    destinationId: str
    syncMode: SyncMode
    syncSchema: SourceSchema
    schedule: ConnectionSchedule | None = None
    status: ConnectionStatus
    #: beyond v1 (as later versions have them)
    syncCatalog: AirbyteCatalog | None = None
    prefix: str | None = None
    namespaceDefinition: NamespaceDefinitionType | None = None
    namespaceFormat: str | None = None
    operationIds: list[str] | None = None
    scheduleType: str | None = None
    scheduleData: ScheduleData | None = None


class ConnectionReadList(BaseModel):
    connections: list[ConnectionRead]


class WbConnectionRead(ConnectionRead):
    source: SourceRead
    destination: DestinationRead
    lastSync: int | None = None
    isSyncing: bool


class WbConnectionReadList(BaseModel):
    connections: list[WbConnectionRead]


class JobRead(BaseModel):
    id: int
    configType: JobConfigType
    configId: str
    createdAt: int
    updatedAt: int
    status: JobStatus


class AttemptRead(BaseModel):
    id: int
    status: AttemptStatus
    createdAt: int
    updatedAt: int
    endedAt: int | None = None
    bytesSynced: int | None = None
    recordsSynced: int | None = None


class LogRead(BaseModel):
    logLines: list[str]


class AttemptInfoRead(BaseModel):
    attempt: AttemptRead
    logs: LogRead


class JobInfoRead(BaseModel):
    job: JobRead
    attempts: list[AttemptInfoRead]


class JobWithAttemptsRead(BaseModel):
    job: JobRead
    attempts: list[AttemptRead]


class JobReadList(BaseModel):
    jobs: list[JobWithAttemptsRead]
    #: beyond v1: every job of the filter, whatever the page
    totalJobCount: int | None = None


class HealthCheckRead(BaseModel):
    db: bool
    #: beyond v1: later versions answer ``available`` (the same fact)
    available: bool | None = None


class WorkspaceReadList(BaseModel):
    workspaces: list[WorkspaceRead]


class OperationReadList(BaseModel):
    """Operations (normalization, dbt, webhooks) run after a sync: there are none here."""

    operations: list[dict[str, Any]]


class DebugRead(BaseModel):
    info: dict[str, Any]

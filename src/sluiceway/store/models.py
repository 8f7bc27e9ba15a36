"""SQLAlchemy models of the metadata store. Times are epoch seconds (float).

Every object a user makes belongs to a workspace; connector definitions are shared by all,
except those a user other than the admin made, which belong to that user's workspace.
Jobs are the ledger every long action goes through (see :mod:`sluiceway.jobs`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sluiceway.store.db import now

#: int64 ids that autoincrement on SQLite too (SQLite only does it for INTEGER keys)
Id64 = BigInteger().with_variant(Integer(), "sqlite")


def new_id() -> str:
    return str(uuid.uuid4())


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(String(36), default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    #: the space identifier of the Alumio face (``^[a-z0-9-]+$``)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    initial_setup_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    onboarding_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous_data_collection: Mapped[bool] = mapped_column(Boolean, default=False)
    news: Mapped[bool] = mapped_column(Boolean, default=False)
    security_updates: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    # --- added by migration 0200 (the Alumio face's space fields)
    description: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(String(8), default="prod")  # prod | uat | test | dev
    terms_agreed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[float | None] = mapped_column(Float, onupdate=now)
    # --- added by migration 0210: the space's worker allocation (None: the whole pool)
    workers: Mapped[int | None] = mapped_column(Integer)
    #: the pool's slot numbers pinned to the space (None: any slot)
    worker_slots: Mapped[list[Any] | None] = mapped_column(JSON)


class ConnectorDefinition(Base):
    """A source or destination kind; ``docker_repository`` names the built-in connector.

    ``workspace_id`` is ``None`` for a definition every workspace sees (built in, or made by
    the admin), else the one workspace that sees it (added by migration 0100)."""

    __tablename__ = "connector_definitions"
    __table_args__ = (UniqueConstraint("kind", "workspace_id", "name",
                                       name="uq_connector_definitions_kind_workspace_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))  # source | destination
    name: Mapped[str] = mapped_column(String(255))
    docker_repository: Mapped[str] = mapped_column(String(200))
    docker_image_tag: Mapped[str] = mapped_column(String(100))
    documentation_url: Mapped[str | None] = mapped_column(String(2000))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)


class Actor(Base):
    """A configured source or destination. ``config`` holds secrets sealed (encrypted)."""

    __tablename__ = "actors"
    __table_args__ = (Index("ix_actors_workspace_kind", "workspace_id", "kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    definition_id: Mapped[str] = mapped_column(ForeignKey("connector_definitions.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    tombstone: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)


class Connection(Base):
    """What to sync from a source to a destination, and when.

    ``catalog`` is ``{"streams": [...]}``, each stream with ``name``, ``namespace``,
    ``selected``, ``sync_mode``, ``destination_sync_mode``, ``cursor_field``,
    ``primary_key``, ``fields`` ([{name, data_type, selected}]) and what the source declared
    (``supported_sync_modes``, ``source_defined_cursor``, ``default_cursor_field``,
    ``source_defined_primary_key``). ``next_run_at`` is the scheduler's next firing time.
    """

    __tablename__ = "connections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("actors.id"))
    destination_id: Mapped[str] = mapped_column(ForeignKey("actors.id"))
    name: Mapped[str] = mapped_column(String(255))
    sync_mode: Mapped[str] = mapped_column(String(32))
    catalog: Mapped[dict[str, Any]] = mapped_column(JSON)
    schedule_units: Mapped[int | None] = mapped_column(BigInteger)
    schedule_time_unit: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # active | inactive | deprecated
    next_run_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)
    #: added by migration 0600: a cron schedule (five fields) and the time zone it reads in,
    #: instead of ``schedule_units`` + ``schedule_time_unit``
    schedule_cron: Mapped[str | None] = mapped_column(String(255))
    schedule_timezone: Mapped[str | None] = mapped_column(String(64))


class Job(Base):
    """One long action. Statuses: pending, running, incomplete (an attempt failed and a
    retry waits), failed, succeeded, cancelled. ``scope`` is the id the job acts on (a
    connection, source or destination); ``unicity`` keeps one active job per key."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "scheduled_at"),
        Index("ix_jobs_scope", "config_type", "scope"),
        # added by migration 0940: a connection's latest job, walked back from its newest
        Index("ix_jobs_scope_id", "scope", "id"),
    )

    id: Mapped[int] = mapped_column(Id64, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    config_type: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    unicity: Mapped[str | None] = mapped_column(String(200), index=True)
    input: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: how the job was asked to end: ``cancel`` (its worker gets a grace), ``kill`` (ended at
    #: once) or ``stop`` (its attempt ends after the batch in hand commits); None: not asked
    cancel_mode: Mapped[str | None] = mapped_column(String(8))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    scheduled_at: Mapped[float] = mapped_column(Float, default=now)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)
    #: when the ``celery`` executor last published the job to the broker; None when no
    #: message of it is known to wait (migration 0500)
    published_at: Mapped[float | None] = mapped_column(Float)


class Attempt(Base):
    """One try of a job. ``lease_until`` is pushed forward by the worker's heartbeat; an
    attempt still ``running`` past it belongs to a dead worker."""

    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("job_id", "number"),
                      Index("ix_attempts_status_lease", "status", "lease_until"),
                      # added by migration 0610: the overview's days, by when runs ended
                      Index("ix_attempts_ended_at", "ended_at"))

    id: Mapped[int] = mapped_column(Id64, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="running")
    worker: Mapped[str | None] = mapped_column(String(200))
    #: the machine (host name) and process that ran the attempt (``host``: migration 0500)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[float | None] = mapped_column(Float)
    lease_until: Mapped[float | None] = mapped_column(Float)
    records_synced: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_synced: Mapped[int] = mapped_column(BigInteger, default=0)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)
    ended_at: Mapped[float | None] = mapped_column(Float)


class RunDay(Base):
    """What a space's syncs did on one UTC day, by the day their attempts ended: rows and
    bytes moved, run time (each attempt's end minus its start), attempts and failed ones.
    Added to in the transaction that ends an attempt (:mod:`sluiceway.jobs.run_days`), so
    the overview's chart reads a month as 30 rows (migration 0995 filled it from the
    attempts that had ended)."""

    __tablename__ = "run_days"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    #: days since 1970-01-01 (UTC): ``floor(ended_at / 86400)``
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)


class AttemptLog(Base):
    __tablename__ = "attempt_logs"
    __table_args__ = (Index("ix_attempt_logs_attempt", "attempt_id", "id"),)

    id: Mapped[int] = mapped_column(Id64, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    at: Mapped[float] = mapped_column(Float, default=now)
    level: Mapped[str] = mapped_column(String(10), default="INFO")
    line: Mapped[str] = mapped_column(Text)


class StreamState(Base):
    """The engine's per-stream state record of a connection (see engine.checkpoint)."""

    __tablename__ = "stream_states"

    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    stream: Mapped[str] = mapped_column(String(500), primary_key=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)


# --- added by migration 0002 -----------------------------------------------------------------

class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[float] = mapped_column(Float, default=now)
    #: manages spaces and system administrators across the installation (migration 0200)
    system_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # --- added by migration 0400
    #: the user's own settings (the platform API merges ``updatedPreferences`` into them)
    preferences: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: when the user accepted the terms and conditions (None: not yet)
    terms_accepted_at: Mapped[float | None] = mapped_column(Float)


class Membership(Base):
    """Which workspaces a user may see, and with which role (``ROLE_USER`` reads,
    ``ROLE_EDITOR`` also changes and runs, ``ROLE_ADMINISTRATOR`` also manages the space's
    users, tokens and variables; added by migration 0200); everything else answers 404."""

    __tablename__ = "memberships"
    __table_args__ = (Index("ix_memberships_workspace_user", "workspace_id", "user_id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"),
                                              primary_key=True)
    role: Mapped[str] = mapped_column(String(32), default="ROLE_USER")
    #: the user's settings within this space (added by migration 0400)
    preferences: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored. A token past ``expires_at`` or with a
    ``revoked_at`` (added by migration 0100) authenticates no one."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float | None] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)


# --- added by migration 0003 -----------------------------------------------------------------

class Artifact(Base):
    """A file Sluiceway made or received (export, import upload, dump, backup), kept in the
    artifact store under its id. ``phase``: pending, writing, completed, failed, expired."""

    __tablename__ = "artifacts"
    __table_args__ = (Index("ix_artifacts_workspace_kind", "workspace_id", "kind"),
                      Index("ix_artifacts_expires", "expires_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(20))
    mime_type: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(300))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(36))
    phase: Mapped[str] = mapped_column(String(16), default="pending")
    password_hash: Mapped[str | None] = mapped_column(String(300))
    expires_at: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)


# --- added by migration 0200 -----------------------------------------------------------------

class AuditEntry(Base):
    """One change someone made, on any face: never updated nor deleted through the API.

    ``user_name`` and ``space`` are copies (the user or space may be gone later);
    ``workspace_id`` keeps no foreign key for the same reason. ``request`` is the masked
    summary of what was asked."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_workspace_created", "workspace_id", "created_at"),
                      Index("ix_audit_entries_created", "created_at"),
                      # the installation-wide trail's filters, newest first (migration 0400)
                      Index("ix_audit_entries_action_created", "action", "created_at"),
                      Index("ix_audit_entries_category_created", "category", "created_at"),
                      Index("ix_audit_entries_user_created", "user_name", "created_at"),
                      Index("ix_audit_entries_space_created", "space", "created_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    user_id: Mapped[str | None] = mapped_column(String(36))
    user_name: Mapped[str] = mapped_column(String(320))
    workspace_id: Mapped[str | None] = mapped_column(String(36))
    space: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(50))
    address: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EnvironmentVariable(Base):
    """A named value of a space; an encrypted one keeps only its Fernet token in ``value``."""

    __tablename__ = "environment_variables"
    __table_args__ = (UniqueConstraint("workspace_id", "name",
                                       name="uq_environment_variables_workspace_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(150), default="")
    value: Mapped[str] = mapped_column(Text)
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)
    #: added by migration 0210: hosts or URL prefixes an encrypted value may be sent to
    #: (``None``: only administrators may reference it)
    allowed_targets: Mapped[list[Any] | None] = mapped_column(JSON)


# --- added by migration 0400 -----------------------------------------------------------------

class TableFilter(Base):
    """A table filter a user saved (the platform API's ``/users/current/table_filters``):
    a user's own, seen by no one else."""

    __tablename__ = "table_filters"
    __table_args__ = (Index("ix_table_filters_user_table", "user_id", "table_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    table_key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)


# --- added by migration 0600 -----------------------------------------------------------------

class WebSession(Base):
    """A signed-in browser. ``id`` is the SHA-256 of the cookie's token (the token itself is
    never stored); ``csrf`` is the token every form of the session must send back;
    ``workspace_id`` the space the browser is looking at. A session idle past its limit, or
    signed out, authenticates no one."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str | None] = mapped_column(String(36))
    address: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[float] = mapped_column(Float, default=now)
    last_seen_at: Mapped[float] = mapped_column(Float, default=now, index=True)


# --- added by migration 0700 -----------------------------------------------------------------

class Configuration(Base):
    """A typed configuration of a space (the Alumio face's ``/di/configurations``): a type,
    an identifier unique within the type and space, and ``object`` (``{prototype,
    parameters}``, secret fields of the prototype sealed). ``revision`` is the ULID of the
    history entry that holds this state."""

    __tablename__ = "configurations"
    __table_args__ = (UniqueConstraint("workspace_id", "type", "identifier",
                                       name="uq_configurations_workspace_type_identifier"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    prototype: Mapped[str] = mapped_column(String(64))
    object: Mapped[dict[str, Any]] = mapped_column(JSON)
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner: Mapped[str | None] = mapped_column(String(255))
    removable: Mapped[bool] = mapped_column(Boolean, default=False)
    resettable: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    editor: Mapped[str | None] = mapped_column(String(320))
    revision: Mapped[str] = mapped_column(String(26))
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)


class ConfigurationRevision(Base):
    """One saved state of a configuration, keyed by a ULID; never changed once written (a
    restore writes a new one). Kept by type and identifier, so a configuration's history
    outlives its deletion."""

    __tablename__ = "configuration_revisions"
    __table_args__ = (Index("ix_configuration_revisions_object", "workspace_id", "type",
                            "identifier", "ulid"),)

    ulid: Mapped[str] = mapped_column(String(26), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    object: Mapped[dict[str, Any]] = mapped_column(JSON)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    editor: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[float] = mapped_column(Float, default=now)


class ConfigurationFavourite(Base):
    """A user's favourite configuration in a space."""

    __tablename__ = "configuration_favourites"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", "type", "identifier",
                                       name="uq_configuration_favourites_user_object"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str] = mapped_column(String(255))
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)


class Task(Base):
    """One entity that entered a route (the Alumio face's task). Statuses: ``new``,
    ``processing``, ``finished``, ``failed``, ``skipped``, ``retry``, ``resolved``,
    ``waiting``. ``entity`` is the entity as the incoming gave it (a retry runs it through the
    route again), for an item of a split ``{item, split: {parent, index, at}}`` (the item as
    the split gave it: a retry runs it on from there); ``error`` says why it failed or was
    skipped; ``log`` holds its messages (``[{level, message, at}]``); ``job_id`` is the route
    run that last handled it."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_route_status", "workspace_id", "route", "status"),
                      Index("ix_tasks_workspace_updated", "workspace_id", "updated_at"))

    id: Mapped[int] = mapped_column(Id64, primary_key=True, autoincrement=True)
    #: the space (no foreign key since migration 1000: a route's ledger holds the space's
    #: row while it records tasks, and deleting a space deletes its tasks)
    workspace_id: Mapped[str] = mapped_column(String(36))
    route: Mapped[str] = mapped_column(String(255))
    entity_type: Mapped[str] = mapped_column(String(255))
    entity_identifier: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16))
    entity: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    log: Mapped[list[Any]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)


# --- added by migration 0850 -----------------------------------------------------------------

class StorageEntity(Base):
    """One entity a storage keeps by key (a storage is a configuration of type ``storage``,
    named here by its identifier). ``value`` holds the JSON value, or ``sealed`` its Fernet
    token when the storage is encrypted; ``size`` is the bytes kept for it (key and stored
    value). An entity past ``expires_at`` (from the storage's TTL) is gone for every reader
    and removed by a prune."""

    __tablename__ = "storage_entities"
    __table_args__ = (UniqueConstraint("workspace_id", "storage", "key",
                                       name="uq_storage_entities_workspace_storage_key"),
                      Index("ix_storage_entities_storage_updated", "workspace_id", "storage",
                            "updated_at"),
                      Index("ix_storage_entities_expires", "expires_at",
                            postgresql_where=text("expires_at IS NOT NULL"),
                            sqlite_where=text("expires_at IS NOT NULL")))

    id: Mapped[int] = mapped_column(Id64, primary_key=True, autoincrement=True)
    #: the space (no foreign key since migration 1000, as :class:`Task`'s)
    workspace_id: Mapped[str] = mapped_column(String(36))
    storage: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(1000))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    sealed: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float | None] = mapped_column(Float)


# --- added by migration 0920 -----------------------------------------------------------------

class ScheduleSlot(Base):
    """A slot of a scheduler entry (a configuration of type ``scheduler-entry``, named by its
    identifier) that was fired: the unique key keeps two schedulers, or a scheduler and its
    restart, from firing one slot twice."""

    __tablename__ = "schedule_slots"
    __table_args__ = (UniqueConstraint("workspace_id", "entry", "slot",
                                       name="uq_schedule_slots_workspace_entry_slot"),)

    id: Mapped[int] = mapped_column(Id64, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    entry: Mapped[str] = mapped_column(String(255))
    slot: Mapped[float] = mapped_column(Float)
    jobs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[float] = mapped_column(Float, default=now)

"""Settings from ``SLUICEWAY_*`` environment variables, with a data directory."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: the broker of the ``celery`` executor when ``broker_url`` is unset: RabbitMQ here
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
BROKER_SCHEMES = ("amqp", "amqps", "pyamqp", "redis", "rediss")


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "sluiceway"


class Settings(BaseSettings):
    """Process-wide settings. Every field can be set as ``SLUICEWAY_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SLUICEWAY_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    #: bytes held between a stream's reader and writer before the reader waits
    buffer_bytes: int = 8 * 1024 * 1024
    #: streams of one sync that run at the same time
    parallel_streams: int = 2
    #: rows between two state checkpoints a source emits
    checkpoint_rows: int = 500_000

    # --- server -------------------------------------------------------------------------
    #: metadata database; ``None`` means a SQLite file in the data directory
    database_url: str | None = None
    #: Fernet key for secrets at rest; ``None`` means a key file generated in the data dir
    secret_key: SecretStr | None = None
    #: password of the ``admin`` user made on first start; generated (and printed) if unset
    admin_password: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    #: attempts that run at the same time on this machine (local executor)
    workers: int = 2
    #: attempts a job gets before it is failed
    job_attempts: int = 3
    #: wait before retry n is ``retry_backoff_seconds * 2 ** (n - 1)``
    retry_backoff_seconds: float = 5.0
    #: an attempt whose worker has not heartbeaten for this long is declared dead
    lease_seconds: float = 30.0
    #: how often a running attempt renews its lease, stores its progress and log lines and
    #: looks for a cancel; unset: a third of ``lease_seconds``. A lease long enough to ride
    #: out a busy machine and a prompt cancel are two needs, hence two settings
    heartbeat_seconds: float | None = None
    #: how often a running attempt reads whether its job was cancelled, between heartbeats
    #: (a read of the metadata database per running attempt: with thousands of attempts,
    #: most of the ledger's load; see docs/scaling.md)
    cancel_poll_seconds: float = 1.0
    #: time limit of check_connection / discover_schema calls
    check_timeout_seconds: float = 60.0
    #: how often the scheduler and the reaper look at the ledger
    tick_seconds: float = 2.0
    #: folders that file, SQLite and DuckDB connectors configured over the API may use;
    #: empty means ``<data_dir>/files`` only
    file_roots: list[Path] = Field(default_factory=list)
    #: how long an export, dump or backup file is kept before the pruner removes it
    artifact_ttl_seconds: float = 7 * 24 * 3600.0
    #: how long a signed download link works
    download_link_seconds: int = 3600
    #: how often expired artifacts (and tasks) are pruned
    prune_interval_seconds: float = 3600.0
    #: days a route's task is kept after its last change, then pruned
    task_retention_days: int = 30
    #: the server's log lines (job log lines among them): ``text`` or ``json`` (one a line)
    log_format: Literal["text", "json"] = "text"
    #: check_connection / discover_schema calls of one workspace that run at once; more
    #: are answered 429
    check_concurrency_per_workspace: int = 2

    # --- many machines (the ``celery`` executor) ------------------------------------------
    #: where attempts run: ``local`` worker processes of the server, or ``celery`` workers
    #: (``sluiceway worker``) on any machine that reaches the broker and the metadata DB
    executor: Literal["local", "celery"] = "local"
    #: the broker queue of jobs any worker may run
    queue: str = "sluiceway"
    #: the broker queue of jobs that read or write local files (exports, dumps, backups, the
    #: file, SQLite and DuckDB connectors), consumed on the server's machine
    local_queue: str = "sluiceway-local"
    #: the artifact directory and the file roots are the same storage on every machine: jobs
    #: that use local files may then run on any worker (checked at worker start)
    shared_storage: bool = False
    #: a job published this long ago and still waiting is published again (a broker may
    #: lose messages); a second message of a job never runs it twice
    republish_seconds: float = 60.0

    # --- where connectors may connect (see connectors/network.py for the rule) ---------
    #: networks connectors may not reach, added to the built-in list (link-local, 0.0.0.0,
    #: multicast); CIDRs, comma-separated or a JSON list
    network_deny: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: networks connectors may reach even inside a denied one (the longer prefix decides)
    network_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: message broker of the ``celery`` executor (``amqp://`` RabbitMQ or ``redis://``);
    #: unset: RabbitMQ on this machine. Never a connector target
    broker_url: str | None = None
    #: the largest request body (JSON) the API reads; a larger one answers 413
    max_body_bytes: int = 10 * 1024 * 1024
    #: the largest file an import (a streamed upload) may send; a larger one answers 413
    max_upload_bytes: int = 10 * 1024**3

    @field_validator("buffer_bytes")
    @classmethod
    def _buffer_sane(cls, v: int) -> int:
        if v < 1024 * 1024:
            raise ValueError("buffer_bytes must be at least 1 MiB")
        return v

    @field_validator("network_deny", "network_allow", mode="before")
    @classmethod
    def _cidrs(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            v = json.loads(v) if v.strip().startswith("[") else \
                [p for p in v.split(",") if p.strip()]
        if not isinstance(v, list | tuple):
            raise ValueError("must be a list of CIDR networks")  # noqa: TRY004 - pydantic
        out = []
        for item in v:
            try:
                out.append(str(ipaddress.ip_network(str(item).strip(), strict=False)))
            except ValueError:
                raise ValueError(f"{item!r} is not an address or CIDR network") from None
        return out

    @field_validator("parallel_streams", "checkpoint_rows", "workers", "job_attempts",
                     "check_concurrency_per_workspace", "task_retention_days")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be at least 1")
        return v

    @field_validator("max_body_bytes", "max_upload_bytes")
    @classmethod
    def _body_sane(cls, v: int) -> int:
        if v < 1024:
            raise ValueError("must be at least 1024 bytes")
        return v

    @field_validator("lease_seconds", "check_timeout_seconds", "tick_seconds",
                     "heartbeat_seconds", "republish_seconds", "cancel_poll_seconds")
    @classmethod
    def _positive_seconds(cls, v: float | None) -> float | None:
        if v is not None and v <= 0:
            raise ValueError("must be more than 0 seconds")
        return v

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> Settings:
        if self.heartbeat_seconds is not None and self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError("heartbeat_seconds must be less than lease_seconds, or every "
                             "attempt would lose its lease between two heartbeats")
        return self

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, v: str | None) -> str | None:
        if v is not None and v.split("://", 1)[0] not in BROKER_SCHEMES:
            schemes = ", ".join(f"{s}://" for s in BROKER_SCHEMES)
            raise ValueError(f"must start with one of {schemes} (RabbitMQ or Redis)")
        return v

    @model_validator(mode="after")
    def _celery_needs_a_shared_database(self) -> Settings:
        if self.executor == "celery" and self.metadata_url.startswith("sqlite"):
            raise ValueError("executor 'celery' needs a PostgreSQL metadata database that "
                             "every machine reaches: set SLUICEWAY_DATABASE_URL to "
                             "postgresql://... (a SQLite file cannot be shared)")
        return self

    @property
    def broker(self) -> str | None:
        """The broker the ``celery`` executor uses (None with the ``local`` executor)."""
        if self.broker_url is not None:
            return self.broker_url
        return DEFAULT_BROKER if self.executor == "celery" else None

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between two heartbeats of a running attempt."""
        return self.heartbeat_seconds or self.lease_seconds / 3

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def metadata_url(self) -> str:
        """The metadata DB URL: ``database_url`` or SQLite in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'sluiceway.db'}"

    @property
    def allowed_roots(self) -> list[Path]:
        return [p.resolve() for p in (self.file_roots or [self.data_dir / "files"])]

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "secret.key"

    def ensure_dirs(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)

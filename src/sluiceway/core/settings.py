"""Settings from ``SLUICEWAY_*`` environment variables, with a data directory."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "sluiceway"


class Settings(BaseSettings):
    """Process-wide settings. Every field can be set as ``SLUICEWAY_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SLUICEWAY_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    #: bytes held between a stream's reader and writer before the reader waits
    buffer_bytes: int = 16 * 1024 * 1024
    #: streams of one sync that run at the same time
    parallel_streams: int = 2
    #: rows between two state checkpoints a source emits
    checkpoint_rows: int = 500_000

    @field_validator("buffer_bytes")
    @classmethod
    def _buffer_sane(cls, v: int) -> int:
        if v < 1024 * 1024:
            raise ValueError("buffer_bytes must be at least 1 MiB")
        return v

    @field_validator("parallel_streams", "checkpoint_rows")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be at least 1")
        return v

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    def ensure_dirs(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)

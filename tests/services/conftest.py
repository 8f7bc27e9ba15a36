"""A platform per test over a fresh metadata DB (SQLite, then PostgreSQL), and its callers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sluiceway.core.settings import Settings
from sluiceway.services import auth
from sluiceway.services.platform import Platform, open_platform


@pytest.fixture
def platform(tmp_path: Path, metadata_url: str) -> Iterator[Platform]:
    p = open_platform(Settings(data_dir=tmp_path / "data", database_url=metadata_url,
                               admin_password="admin-password-for-tests"))
    yield p
    p.close()


@pytest.fixture
def admin(platform: Platform) -> auth.Caller:
    return auth.caller_for(platform, "admin", "192.0.2.1")

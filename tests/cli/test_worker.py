"""``sluiceway worker`` refuses, with the setting to change, what cannot work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(("env", "says"), [
    ({}, "executor 'celery' needs a PostgreSQL metadata database"),  # SQLite
    ({"SLUICEWAY_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/x"},
     "SLUICEWAY_SECRET_KEY: a worker needs it"),
    ({"SLUICEWAY_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/x",
      "SLUICEWAY_SECRET_KEY": "k", "SLUICEWAY_BROKER_URL": "kafka://b:9092"},
     "must start with one of amqp://"),
])
def test_worker_refuses_bad_settings(tmp_path: Path, env: dict[str, str], says: str) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SLUICEWAY_")}
    environ.update(SLUICEWAY_DATA_DIR=str(tmp_path / "data"), **env)
    done = subprocess.run([sys.executable, "-m", "sluiceway.cli.main", "worker"], env=environ,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert says in " ".join(done.stderr.split()), done.stderr

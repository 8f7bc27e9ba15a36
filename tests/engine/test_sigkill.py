"""A sync killed with SIGKILL at a checkpoint and run again loses no row.

Each case runs ``sluiceway run`` as a real process, kills it once the state file shows a
committed checkpoint of the unfinished sync, then runs it again to the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import row_checksum

ROWS = 300_000


def _pipeline(tmp_path: Path, src: dict[str, Any], dst: dict[str, Any],
              stream: dict[str, Any]) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({
        "name": "killme",
        "source": {"connector": "postgres", "config": src},
        "destination": {"connector": "postgres", "config": dst},
        "streams": [stream],
    }))
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, SLUICEWAY_DATA_DIR=str(tmp_path / "data"),
                SLUICEWAY_CHECKPOINT_ROWS="20000", SLUICEWAY_PARALLEL_STREAMS="1")


def _cmd(pipeline: Path) -> list[str]:
    return [sys.executable, "-m", "sluiceway.cli.main", "run", str(pipeline), "--json"]


def _run_and_kill(tmp_path: Path, pipeline: Path) -> dict[str, Any]:
    """Start a sync, SIGKILL it after its second committed checkpoint; return the state."""
    state_file = tmp_path / "data" / "state" / "killme.json"
    before = state_file.read_text() if state_file.exists() else ""
    proc = subprocess.Popen(_cmd(pipeline), env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    seen: list[Any] = []
    last = before
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            text = state_file.read_text() if state_file.exists() else ""
            if text != last:
                last = text
                record = json.loads(text)["streams"].get("events", {}) if text else {}
                if record.get("pending") and record.get("state") not in seen:
                    seen.append(record.get("state"))
                    if len(seen) >= 3:  # the starting position, then two checkpoints
                        proc.send_signal(signal.SIGKILL)
                        break
            time.sleep(0.002)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the sync ended before it could be killed"
    return json.loads(state_file.read_text())["streams"]["events"]  # type: ignore[no-any-return]


def _finish(tmp_path: Path, pipeline: Path) -> dict[str, Any]:
    done = subprocess.run(_cmd(pipeline), env=_env(tmp_path), capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _rows(conn: Any, table: str) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT id, k, v::text, ts::text FROM {table}").fetchall()


@pytest.fixture
def events(pg_conn: Any) -> Any:
    pg_conn.execute("CREATE TABLE events (id bigint PRIMARY KEY, k int, v numeric(12,2), "
                    "ts timestamptz)")
    pg_conn.execute(f"INSERT INTO events SELECT g, g / 7, g * 1.5, "
                    f"'2024-01-01'::timestamptz + g * interval '1 second' "
                    f"FROM generate_series(1, {ROWS}) g")
    pg_conn.execute("ANALYZE events")
    return pg_conn


STREAMS = {
    "full_refresh+overwrite": {"name": "events", "sync_mode": "full_refresh",
                               "destination_sync_mode": "overwrite"},
    "full_refresh+append": {"name": "events", "sync_mode": "full_refresh",
                            "destination_sync_mode": "append"},
    "incremental+append": {"name": "events", "sync_mode": "incremental",
                           "cursor_field": ["k"], "destination_sync_mode": "append"},
    "incremental+append_dedup": {"name": "events", "sync_mode": "incremental",
                                 "cursor_field": ["k"], "destination_sync_mode": "append_dedup",
                                 "primary_key": [["id"]]},
}


@pytest.mark.parametrize("mode", list(STREAMS))
def test_sigkill_then_rerun_loses_no_row(
    tmp_path: Path, pg_database: dict[str, Any], events: Any, mode: str
) -> None:
    dst = dict(pg_database, schema="dst")
    pipeline = _pipeline(tmp_path, pg_database, dst, STREAMS[mode])
    exact = mode.endswith(("overwrite", "dedup"))
    if exact:
        # an earlier complete sync, then the source changes: the killed sync must not
        # disturb what the destination already had
        _finish(tmp_path, pipeline)
        if mode.endswith("overwrite"):  # an incremental read cannot see deletes
            events.execute("DELETE FROM events WHERE id % 1000 = 0")
        events.execute(f"UPDATE events SET v = -1, k = {ROWS} + id WHERE id % 5 = 0")
        events.execute(f"INSERT INTO events SELECT g, {ROWS}, 0, now() "
                       f"FROM generate_series({ROWS + 1}, {ROWS + 500}) g")
        before = row_checksum(_rows(events, "dst.events"))
    state = _run_and_kill(tmp_path, pipeline)
    assert state["pending"]["sync_id"]
    if mode == "full_refresh+overwrite":
        assert row_checksum(_rows(events, "dst.events")) == before
    summary = _finish(tmp_path, pipeline)
    assert summary["status"] == "succeeded"
    stream = summary["streams"][0]
    assert stream["resumed"] is True
    src = _rows(events, "events")
    dst_rows = _rows(events, "dst.events")
    if exact:
        assert row_checksum(dst_rows) == row_checksum(src)
    else:
        assert set(src) <= set(dst_rows), "a source row is missing after the rerun"
    if mode.startswith("full_refresh"):
        assert stream["records"] < ROWS, "the rerun started over instead of resuming"
    if mode == "full_refresh+overwrite":  # the resumed staging table got its key at the end
        key = events.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                             "WHERE conrelid = 'dst.events'::regclass AND contype = 'p'")
        assert key.fetchall() == [("events_pkey", "PRIMARY KEY (id)")]

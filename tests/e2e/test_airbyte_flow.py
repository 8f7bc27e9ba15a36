"""The whole flow over HTTP against a real server process and a real PostgreSQL source:
discover, an incremental dedup connection into DuckDB, sync, poll, check rows, change the
source, sync again, check the merge. Runs on SQLite and on PostgreSQL metadata."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import duckdb
import httpx
import pytest
from sqlalchemy import CursorResult, select, update

from sluiceway.store.db import Database
from sluiceway.store.models import Attempt
from tests.conftest import PG_HOST, PG_PORT, PG_USER
from tests.e2e.server import Server


@pytest.fixture
def server(tmp_path: Path, metadata_url: str) -> Iterator[tuple[httpx.Client, Path]]:
    srv = Server(tmp_path, metadata_url)
    try:
        yield srv.client, srv.data
    finally:
        srv.stop()


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    r = client.post(path, json=body)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def _wait(client: httpx.Client, job_id: int, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = _post(client, "/jobs/get", {"id": job_id})
        if info["job"]["status"] in ("succeeded", "failed", "cancelled"):
            return info  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {info}")


def _rows(path: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT id, name, score FROM customers ORDER BY id").fetchall()


def test_pg_to_duckdb_incremental_dedup_over_http(
    server: tuple[httpx.Client, Path], pg_database: dict[str, Any], pg_conn: Any,
) -> None:
    client, data = server
    pg_conn.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text, "
                    "score numeric(12,2), updated_at timestamptz NOT NULL)")
    pg_conn.execute("INSERT INTO customers SELECT g, 'c' || g, g * 1.5, "
                    "'2026-01-01'::timestamptz + g * interval '1 minute' "
                    "FROM generate_series(1, 2000) g")

    ws = _post(client, "/workspaces/get_by_slug", {"slug": "default"})["workspaceId"]
    sdefs = _post(client, "/source_definitions/list", {})["sourceDefinitions"]
    ddefs = _post(client, "/destination_definitions/list", {})["destinationDefinitions"]
    pg_def = next(d for d in sdefs if d["dockerRepository"] == "postgres")
    duck_def = next(d for d in ddefs if d["dockerRepository"] == "duckdb")
    src = _post(client, "/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": pg_def["sourceDefinitionId"],
        "name": "crm", "connectionConfiguration": {
            "host": PG_HOST, "port": PG_PORT, "database": pg_database["database"],
            "username": PG_USER, "password": "unused-but-secret", "ssl_mode": "disable"}})
    assert _post(client, "/sources/check_connection",
                 {"sourceId": src["sourceId"]})["status"] == "succeeded"
    dst = _post(client, "/destinations/create", {
        "workspaceId": ws, "destinationDefinitionId": duck_def["destinationDefinitionId"],
        "name": "lake", "connectionConfiguration": {"path": "lake.duckdb"}})
    schema = _post(client, "/sources/discover_schema", {"sourceId": src["sourceId"]})["schema"]
    stream = next(s for s in schema["streams"] if s["name"] == "customers")
    stream.update(syncMode="incremental", cursorField=["updated_at"],
                  destinationSyncMode="append_dedup", primaryKey=[["id"]], selected=True)
    conn = _post(client, "/connections/create", {
        "sourceId": src["sourceId"], "destinationId": dst["destinationId"],
        "syncMode": "incremental", "status": "active", "syncSchema": {"streams": [stream]}})
    assert conn["syncSchema"]["streams"][0]["destinationSyncMode"] == "append_dedup"

    job = _post(client, "/connections/sync", {"connectionId": conn["connectionId"]})
    done = _wait(client, job["job"]["id"])
    assert done["job"]["status"] == "succeeded", done
    attempt = done["attempts"][-1]
    assert attempt["attempt"]["recordsSynced"] == 2000
    assert attempt["logs"]["logLines"], "an attempt keeps its log"
    assert not any("unused-but-secret" in line for line in attempt["logs"]["logLines"])
    target = data / "files" / "lake.duckdb"
    rows = _rows(target)
    assert len(rows) == 2000
    assert rows[0][1] == "c1"

    pg_conn.execute("UPDATE customers SET name = 'changed', score = 0, "
                    "updated_at = '2027-01-01' WHERE id <= 10")
    pg_conn.execute("INSERT INTO customers VALUES (5000, 'new', 7.25, '2027-01-02')")
    job = _post(client, "/connections/sync", {"connectionId": conn["connectionId"]})
    done = _wait(client, job["job"]["id"])
    assert done["job"]["status"] == "succeeded", done
    with duckdb.connect(str(target), read_only=True) as con:
        got = con.execute("SELECT id, name, score FROM customers ORDER BY id").fetchall()
    expected = pg_conn.execute("SELECT id, name, score FROM customers ORDER BY id").fetchall()
    assert got == expected
    assert len(got) == 2001

    wb = _post(client, "/web_backend/connections/get", {"connectionId": conn["connectionId"]})
    assert wb["isSyncing"] is False
    assert wb["lastSync"] >= done["job"]["createdAt"]
    jobs = _post(client, "/jobs/list", {"configType": "sync",
                                        "configId": conn["connectionId"]})["jobs"]
    assert [j["job"]["status"] for j in jobs] == ["succeeded", "succeeded"]
    assert jobs[0]["job"]["id"] > jobs[1]["job"]["id"]


def _setup_pg_to_duckdb(client: httpx.Client, pg_database: dict[str, Any], mode: str,
                        dest_mode: str, extra: dict[str, Any] | None = None) -> str:
    ws = _post(client, "/workspaces/get_by_slug", {"slug": "default"})["workspaceId"]
    sdefs = _post(client, "/source_definitions/list", {})["sourceDefinitions"]
    ddefs = _post(client, "/destination_definitions/list", {})["destinationDefinitions"]
    src = _post(client, "/sources/create", {
        "workspaceId": ws, "name": "crm", "sourceDefinitionId": next(
            d["sourceDefinitionId"] for d in sdefs if d["dockerRepository"] == "postgres"),
        "connectionConfiguration": {
            "host": PG_HOST, "port": PG_PORT, "database": pg_database["database"],
            "username": PG_USER, "password": "", "ssl_mode": "disable"}})
    dst = _post(client, "/destinations/create", {
        "workspaceId": ws, "name": "lake", "destinationDefinitionId": next(
            d["destinationDefinitionId"] for d in ddefs if d["dockerRepository"] == "duckdb"),
        "connectionConfiguration": {"path": "lake.duckdb"}})
    schema = _post(client, "/sources/discover_schema", {"sourceId": src["sourceId"]})["schema"]
    stream = next(s for s in schema["streams"] if s["name"] == "events")
    stream.update(syncMode=mode, destinationSyncMode=dest_mode, **(extra or {}))
    conn = _post(client, "/connections/create", {
        "sourceId": src["sourceId"], "destinationId": dst["destinationId"], "syncMode": mode,
        "status": "active", "syncSchema": {"streams": [stream]}})
    return str(conn["connectionId"])


def _expire_leases(metadata_url: str, job_id: int) -> int:
    """Run out the leases of the job's running attempts now, as the clock would have done
    ``lease_seconds`` after the last heartbeat; returns how many there were."""
    db = Database(metadata_url)
    try:
        with db.session() as s:
            done = cast(CursorResult[Any], s.execute(update(Attempt)
                             .where(Attempt.job_id == job_id, Attempt.status == "running")
                             .values(lease_until=time.time() - 1)
                             .execution_options(synchronize_session=False)))
            return int(done.rowcount)
    finally:
        db.dispose()


def test_a_server_killed_mid_sync_is_taken_over_and_the_rows_are_exact(
    tmp_path: Path, metadata_url: str, pg_database: dict[str, Any], pg_conn: Any,
) -> None:
    """The server and its workers die at once (SIGKILL); a new server notices the dead
    attempt when its lease runs out, retries it from the last checkpoint, and the
    destination ends with exactly the source rows.

    The lease is the servers' usual 30 s, long enough that no live attempt loses it on a
    busy machine; the test runs the dead attempt's lease out itself instead of waiting."""
    pg_conn.execute("CREATE TABLE events (id bigint PRIMARY KEY, payload text)")
    pg_conn.execute("INSERT INTO events SELECT g, repeat(md5(g::text), 8) "
                    "FROM generate_series(1, 400000) g")
    env = {"SLUICEWAY_CHECKPOINT_ROWS": "20000", "SLUICEWAY_RETRY_BACKOFF_SECONDS": "0.5",
           "SLUICEWAY_BUFFER_BYTES": str(1024 * 1024)}
    first = Server(tmp_path, metadata_url, **env)
    try:
        cid = _setup_pg_to_duckdb(first.client, pg_database, "full_refresh", "overwrite")
        job_id = _post(first.client, "/connections/sync", {"connectionId": cid})["job"]["id"]
        deadline = time.monotonic() + 60
        while True:
            info = _post(first.client, "/jobs/get", {"id": job_id})
            attempts = info["attempts"]
            if attempts and (attempts[-1]["attempt"].get("recordsSynced") or 0) > 0:
                break
            assert info["job"]["status"] in ("pending", "running"), info
            assert time.monotonic() < deadline, info
            time.sleep(0.05)
    finally:
        first.kill_all()
    assert _expire_leases(metadata_url, job_id) == 1
    second = Server(tmp_path, metadata_url, **env)
    try:
        done = _wait(second.client, job_id, timeout=180)
        assert done["job"]["status"] == "succeeded", done
        assert len(done["attempts"]) >= 2
        assert done["attempts"][0]["attempt"]["status"] == "failed"
        lines = " ".join(done["attempts"][0]["logs"]["logLines"]) + " ".join(
            done["attempts"][1]["logs"]["logLines"])
        assert "resumed" in lines or "worker lost" in lines
    finally:
        second.stop()
    db = Database(metadata_url)
    try:
        with db.session() as s:
            first_error = s.scalars(select(Attempt.error).where(
                Attempt.job_id == job_id, Attempt.number == 1)).one()
    finally:
        db.dispose()
    assert first_error is not None
    assert first_error.startswith("worker lost: no heartbeat since ")  # the reaper took it
    with duckdb.connect(str(second.data / "files" / "lake.duckdb"), read_only=True) as con:
        count, distinct, total = con.execute(
            "SELECT count(*), count(DISTINCT id), sum(id) FROM events").fetchone()
    assert (count, distinct, total) == (400000, 400000, 400000 * 400001 // 2)

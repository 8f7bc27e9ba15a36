"""The whole flow over HTTP against a real server process and a real PostgreSQL source:
discover, an incremental dedup connection into DuckDB, sync, poll, check rows, change the
source, sync again, check the merge. Runs on SQLite and on PostgreSQL metadata."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.conftest import PG_HOST, PG_PORT, PG_USER

AUTH = ("admin", "e2e-admin-password")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, metadata_url: str) -> Iterator[tuple[httpx.Client, Path]]:
    port = _free_port()
    data = tmp_path / "data"
    env = dict(os.environ, SLUICEWAY_DATA_DIR=str(data), SLUICEWAY_ADMIN_PASSWORD=AUTH[1],
               SLUICEWAY_PORT=str(port), SLUICEWAY_TICK_SECONDS="0.5",
               SLUICEWAY_LEASE_SECONDS="10", SLUICEWAY_DATABASE_URL=metadata_url)
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "sluiceway.cli.main", "serve"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", auth=AUTH, timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/health").json() == {"db": True}:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "server.log").read_text())
            time.sleep(0.2)
        yield client, data
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


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

"""A job's log: in the server's own log as JSON lines (``serve --log-format json``), and
through ``sluiceway jobs logs ID [--follow]`` on the same metadata database."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}", "--log-format", "json")
    try:
        yield srv
    finally:
        srv.stop()


def _post(srv: Server, path: str, body: dict[str, Any]) -> Any:
    r = srv.client.post(path, json=body)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def _definition(srv: Server, kind: str, name: str) -> str:
    listed = _post(srv, f"/{kind}_definitions/list", {})[f"{kind}Definitions"]
    return str(next(d[f"{kind}DefinitionId"] for d in listed if d["dockerRepository"] == name))


def _jobs_logs(srv: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sluiceway.cli.main", "jobs", "logs", *args],
                          env=srv.environ, capture_output=True, text=True, timeout=180,
                          check=False)


def test_job_log_lines_reach_the_server_log_as_json_and_jobs_logs_follows_them(
    server: Server,
) -> None:
    ws = _post(server, "/workspaces/get_by_slug", {"slug": "default"})["workspaceId"]
    src = _post(server, "/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": _definition(server, "source", "sample"),
        "name": "events", "connectionConfiguration": {"rows": 50_000}})["sourceId"]
    dst = _post(server, "/destinations/create", {
        "workspaceId": ws,
        "destinationDefinitionId": _definition(server, "destination", "duckdb"),
        "name": "lake", "connectionConfiguration": {"path": "lake.duckdb"}})["destinationId"]
    schema = _post(server, "/sources/discover_schema", {"sourceId": src})["schema"]
    conn = _post(server, "/connections/create", {
        "sourceId": src, "destinationId": dst, "status": "active", "syncMode": "full_refresh",
        "syncSchema": schema})["connectionId"]
    job = _post(server, "/connections/sync", {"connectionId": conn})["job"]["id"]

    followed = _jobs_logs(server, str(job), "--follow")  # returns when the job ends
    assert followed.returncode == 0, followed.stderr
    assert f"job {job} succeeded" in followed.stderr
    lines = followed.stdout.splitlines()
    assert any("stream 'events': succeeded, 50000 records" in line for line in lines), lines
    assert all("[attempt 1]" in line for line in lines), lines
    # without --follow: the same lines, once
    assert _jobs_logs(server, str(job)).stdout.splitlines() == lines

    server.stop()
    logged = [json.loads(line) for line in server.log_path.read_text().splitlines()
              if line.startswith("{")]
    mine = [e for e in logged if e.get("job_id") == job]
    assert {e["logger"] for e in mine} == {"sluiceway.job"}
    assert any("50000 records" in e["message"] for e in mine), mine
    assert all(isinstance(e["attempt_id"], int) and e["level"] == "INFO" for e in mine)
    assert any(e["logger"] == "uvicorn.access" for e in logged)  # the server's own lines too


def test_jobs_logs_of_an_unknown_job_exits_2(server: Server) -> None:
    done = _jobs_logs(server, "999999")
    assert done.returncode == 2
    assert "job 999999 not found" in done.stderr

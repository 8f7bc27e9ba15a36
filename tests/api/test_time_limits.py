"""check_connection and discover_schema answer within the time limit, even when the system
they call never answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sluiceway.api.app import create_app
from tests.api.conftest import Api, definition_id, make_settings
from tests.api.openapi_contract import contract_or_none


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        yield int(srv.getsockname()[1])


@pytest.fixture
def quick_api(tmp_path: Path) -> Iterator[Api]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}",
                             check_timeout_seconds=1.5)
    app = create_app(settings, run_jobs=False)
    with TestClient(app) as client:
        yield Api(client, contract_or_none())
    app.state.platform.close()


def test_a_hung_system_gives_a_clear_failure_not_a_hung_request(quick_api: Api,
                                                                silent_port: int) -> None:
    api = quick_api
    ws = api("/workspaces/get_by_slug", {"slug": "default"})["workspaceId"]
    src = api("/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": definition_id(api, "source", "postgres"),
        "connectionConfiguration": {"host": "127.0.0.1", "port": silent_port,
                                    "database": "d", "username": "u", "password": "p4ssw0rd",
                                    "ssl_mode": "disable"}, "name": "hung"})
    started = time.monotonic()
    got = api("/sources/check_connection", {"sourceId": src["sourceId"]})
    assert time.monotonic() - started < 6
    assert got["status"] == "failed"
    assert "1.5 seconds" in got["message"]
    started = time.monotonic()
    bad = api("/sources/discover_schema", {"sourceId": src["sourceId"]}, 422)
    assert time.monotonic() - started < 6
    assert "1.5 seconds" in bad["message"]
    assert "p4ssw0rd" not in bad["message"]

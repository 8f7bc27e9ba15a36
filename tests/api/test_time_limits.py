"""check_connection and discover_schema answer within the time limit, even when the system
they call never answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from fastapi.testclient import TestClient

from sluiceway.bootstrap import create_app
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


class SilentPeer:
    """A TCP port that accepts connections and never says a word; it notes each accepted
    connection and the process at the other end."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0), backlog=32)
        self.port = int(self.server.getsockname()[1])
        self.accepted: list[tuple[socket.socket, int | None]] = []
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, addr = self.server.accept()
            except OSError:
                return
            pid = next((c.pid for c in psutil.net_connections("tcp")
                        if c.laddr and tuple(c.laddr)[:2] == tuple(addr)[:2]), None)
            with self.changed:
                self.accepted.append((conn, pid))
                self.changed.notify_all()

    def wait_for(self, n: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.accepted) >= n, timeout)

    def closed_by_peer(self, conn: socket.socket, timeout: float) -> bool:
        """Whether the other end closed ``conn`` within ``timeout`` (what it sent is read
        and dropped)."""
        conn.settimeout(timeout)
        try:
            while conn.recv(4096):
                pass
        except TimeoutError:
            return False
        except OSError:
            return True  # reset: closed as well
        return True

    def close(self) -> None:
        self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        self.thread.join(5)
        for conn, _ in self.accepted:
            conn.close()


@pytest.fixture
def silent_peer() -> Iterator[SilentPeer]:
    peer = SilentPeer()
    yield peer
    peer.close()


@pytest.fixture
def capped_api(tmp_path: Path) -> Iterator[Api]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}",
                             check_timeout_seconds=LIMIT,
                             check_concurrency_per_workspace=2)
    app = create_app(settings, run_jobs=False)
    with TestClient(app) as client:
        yield Api(client, contract_or_none())
    app.state.platform.close()


LIMIT = 5.0


def _source(api: Api, ws: str, kind: str, config: dict[str, Any]) -> str:
    return str(api("/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": definition_id(api, "source", kind),
        "connectionConfiguration": config, "name": f"{kind}-{len(config)}"})["sourceId"])


def test_stuck_checks_of_one_workspace_neither_pile_up_nor_starve_another(
        capped_api: Api, silent_peer: SilentPeer, pg_database: dict[str, Any]) -> None:
    api = capped_api
    ws_a = api("/workspaces/get_by_slug", {"slug": "default"})["workspaceId"]
    ws_b = api("/workspaces/create", {"name": "B"})["workspaceId"]
    stuck = {"host": "127.0.0.1", "port": silent_peer.port, "database": "d",
             "username": "u", "password": "pw"}
    a_sources = [_source(api, ws_a, "postgres", {**stuck, "ssl_mode": "disable"})
                 for _ in range(4)]
    a_sources += [_source(api, ws_a, "mysql", {**stuck, "ssl_mode": "disabled"})
                  for _ in range(4)]
    b_source = _source(api, ws_b, "postgres", {**pg_database, "ssl_mode": "disable"})

    answers: dict[int, tuple[int, dict[str, Any], str | None]] = {}
    answered = threading.Condition()

    def check(i: int, source_id: str) -> None:
        r = api.client.post("/api/v1/sources/check_connection", json={"sourceId": source_id},
                            auth=api.auth)
        with answered:
            answers[i] = (r.status_code, r.json(), r.headers.get("retry-after"))
            answered.notify_all()

    threads = [threading.Thread(target=check, args=(i, s)) for i, s in enumerate(a_sources)]
    for t in threads:
        t.start()
    assert silent_peer.wait_for(2, 60), "two checks of workspace A reach the silent peer"
    with answered:  # the six past the cap are answered at once, the stuck two are not
        assert answered.wait_for(lambda: len(answers) >= 6, 30)
        refused = sorted(answers)
    assert len(refused) == 6
    for i in refused:
        status, body, retry_after = answers[i]
        assert status == 429
        assert body["exceptionClassName"] == "TooManyRequests"
        assert "SLUICEWAY_CHECK_CONCURRENCY_PER_WORKSPACE=2" in body["message"]
        assert retry_after == "5"

    # workspace B is not held up by A's stuck calls
    started = time.monotonic()
    got = api("/sources/check_connection", {"sourceId": b_source})
    assert got["status"] == "succeeded", got
    assert time.monotonic() - started < LIMIT
    assert len(silent_peer.accepted) == 2  # A's two stuck calls are still there

    for t in threads:
        t.join(LIMIT + 60)
    stopped = [answers[i] for i in range(8) if i not in refused]
    for status, body, _ in stopped:
        assert status == 200
        assert body["status"] == "failed"
        assert ("did not answer within 5 seconds and was stopped" in body["message"]
                or body["message"].endswith(f"127.0.0.1:{silent_peer.port}: timed out"))
    for conn, pid in silent_peer.accepted:
        assert silent_peer.closed_by_peer(conn, 30)
        assert pid is not None
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"

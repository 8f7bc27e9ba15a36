"""``sluiceway serve`` as a real process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

AUTH = ("admin", "e2e-admin-password")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``sluiceway serve`` as a process of its own session (so that it and its workers can
    be killed together, as a machine dies)."""

    def __init__(self, tmp_path: Path, metadata_url: str, *args: str, **env: str) -> None:
        self.port = _free_port()
        self.data = tmp_path / "data"
        self.log_path = tmp_path / f"server-{self.port}.log"
        environ = dict(os.environ, SLUICEWAY_DATA_DIR=str(self.data),
                       SLUICEWAY_ADMIN_PASSWORD=AUTH[1], SLUICEWAY_PORT=str(self.port),
                       SLUICEWAY_TICK_SECONDS="0.5", SLUICEWAY_LEASE_SECONDS="30",
                       SLUICEWAY_HEARTBEAT_SECONDS="1",
                       SLUICEWAY_DATABASE_URL=metadata_url)
        environ.update(env)
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.environ = environ
        self.proc = subprocess.Popen([sys.executable, "-m", "sluiceway.cli.main", "serve",
                                      *args],
                                     env=environ, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}/api/v1", auth=AUTH,
                                   timeout=30)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.client.get("/health").json().get("db") is True:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(self.log_path.read_text())
            time.sleep(0.2)

    def kill_all(self) -> None:
        """SIGKILL the server and every worker process it started."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.stop()

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()

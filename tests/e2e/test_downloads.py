"""A download larger than the downloading process may hold in memory: the server streams it
from the artifact store, the client (a process capped below the file's size) streams it to
its hash, and a Range request answers exactly the bytes asked for."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil

from sluiceway.artifacts import ArtifactStore
from sluiceway.core.settings import Settings
from sluiceway.services import artifacts
from sluiceway.services.platform import open_platform
from sluiceway.store.db import now
from sluiceway.store.models import Artifact, Workspace
from tests.e2e.server import AUTH, Server

FILE_MB = 512
CLIENT_CAP_MB = 256

_CLIENT = """
import hashlib, json, resource, sys, httpx
cap = int(sys.argv[2]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
digest, size = hashlib.sha256(), 0
with httpx.stream("GET", sys.argv[1], timeout=120) as r:
    r.raise_for_status()
    for chunk in r.iter_bytes(1 << 20):
        digest.update(chunk)
        size += len(chunk)
print(json.dumps({"size": size, "sha256": digest.hexdigest()}))
"""


def _big_artifact(tmp_path: Path, metadata_url: str) -> tuple[str, str, int]:
    """Write a FILE_MB file into the store in 1 MiB chunks and register it as an export."""
    settings = Settings(data_dir=tmp_path / "data", database_url=metadata_url,
                        admin_password=AUTH[1])
    p = open_platform(settings)
    try:
        art_id = str(uuid.uuid4())
        block = os.urandom(1 << 20)
        with ArtifactStore(settings.artifacts_dir).writer(art_id) as w:
            for i in range(FILE_MB):
                w.write(i.to_bytes(8, "big") + block[8:])
        with p.db.session() as s:
            from sqlalchemy import select

            ws = s.scalars(select(Workspace).where(Workspace.slug == "default")).one()
            s.add(Artifact(id=art_id, workspace_id=ws.id, kind="export", format="parquet",
                           mime_type="application/octet-stream", filename="big.bin",
                           size=w.size, sha256=w.sha256, phase="completed",
                           expires_at=now() + 3600))
        query = artifacts.signed_query(p, art_id)
        return art_id, f"{query}|{w.sha256}", w.size
    finally:
        p.close()


def test_a_download_bigger_than_the_clients_memory_cap_streams_whole_and_ranged(
    tmp_path: Path, metadata_url: str,
) -> None:
    art_id, packed, size = _big_artifact(tmp_path, metadata_url)
    query, sha = packed.split("|")
    assert size > CLIENT_CAP_MB * 1024 * 1024
    server = Server(tmp_path, metadata_url)
    try:
        proc = psutil.Process(server.proc.pid)
        base_rss = proc.memory_info().rss
        peak = [base_rss]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], proc.memory_info().rss)
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        url = f"http://127.0.0.1:{server.port}/exports/{art_id}/download?{query}"
        out = subprocess.run([sys.executable, "-c", _CLIENT, url, str(CLIENT_CAP_MB)],
                             capture_output=True, text=True, timeout=300, check=False)
        done.set()
        watcher.join()
        assert out.returncode == 0, out.stderr[-2000:]
        got = json.loads(out.stdout)
        assert got == {"size": size, "sha256": sha}
        # the server streamed it: its memory grew by far less than the file
        assert peak[0] - base_rss < 128 * 1024 * 1024, (base_rss, peak[0])

        start, end = size - 3 * (1 << 20) - 5, size - 2 * (1 << 20) + 6
        r = server.client.get(f"http://127.0.0.1:{server.port}/exports/{art_id}/download",
                              headers={"Range": f"bytes={start}-{end}"})
        assert r.status_code == 206
        assert r.headers["content-range"] == f"bytes {start}-{end}/{size}"
        stored = ArtifactStore(server.data / "artifacts").key(art_id)
        with open(stored, "rb") as fh:
            fh.seek(start)
            expected = fh.read(end - start + 1)
        assert r.content == expected
        assert len(r.content) == end - start + 1
        assert hashlib.sha256(r.content).hexdigest() != sha
    finally:
        server.stop()

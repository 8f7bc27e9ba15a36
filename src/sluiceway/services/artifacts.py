"""Artifacts as users see them: rows in the store, files in the artifact store, downloads
that are verified before serving, streamed, ranged, and signed links that need no login."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sluiceway.artifacts import (
    ArtifactStore,
    RangeNotSatisfiable,
    check,
    derive_key,
    parse_range,
    sign,
    verify_password,
)
from sluiceway.core.errors import Conflict, Fatal, FieldError, Forbidden, InvalidInput, NotFound
from sluiceway.secrets.cipher import load_key
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Artifact

__all__ = ["ArtifactView", "RangeNotSatisfiable", "by_signature", "check_password",
           "download", "get", "signed_query", "store", "view"]

#: (artifact id, size, sha256) verified in this process: a file is hashed once, not on every
#: ranged read of a large download
_verified: set[tuple[str, int, str]] = set()
_verified_lock = threading.Lock()


def store(p: Platform) -> ArtifactStore:
    return ArtifactStore(p.settings.artifacts_dir)


@dataclass(frozen=True)
class ArtifactView:
    """A file of an export, a dump, a backup or an import, as it leaves the services:
    ``phase`` is ``pending``, ``writing``, ``completed``, ``failed`` or ``expired``;
    ``meta`` holds what its kind keeps (an export's stream, an import's table and counts);
    ``protected`` says whether it needs a password (the hash never leaves)."""

    id: str
    kind: str
    workspace_id: str
    job_id: int | None
    created_by: str | None
    filename: str
    mime_type: str
    format: str
    size: int | None
    sha256: str | None
    phase: str
    error: str | None
    created_at: float
    updated_at: float
    expires_at: float | None
    protected: bool
    meta: Mapping[str, Any]


def view(a: Artifact) -> ArtifactView:
    return ArtifactView(
        id=a.id, kind=a.kind, workspace_id=a.workspace_id, job_id=a.job_id,
        created_by=a.created_by, filename=a.filename, mime_type=a.mime_type, format=a.format,
        size=a.size, sha256=a.sha256, phase=a.phase, error=a.error, created_at=a.created_at,
        updated_at=a.updated_at, expires_at=a.expires_at,
        protected=a.password_hash is not None, meta=MappingProxyType(dict(a.meta or {})))


def get(p: Platform, caller: Caller, artifact_id: str,
        kind: str | None = None) -> ArtifactView:
    with p.db.session() as s:
        a = s.get(Artifact, artifact_id)
        if a is None or not caller.can_see(a.workspace_id) or (kind and a.kind != kind):
            raise NotFound(f"{kind or 'artifact'} {artifact_id} not found", artifact_id)
        return view(a)


def _link_key(p: Platform) -> bytes:
    return derive_key(load_key(p.settings), "download-links")


def signed_query(p: Platform, artifact_id: str, seconds: int | None = None) -> str:
    expires = int(time.time()) + (seconds or p.settings.download_link_seconds)
    return f"expires={expires}&signature={sign(_link_key(p), artifact_id, expires)}"


def by_signature(p: Platform, artifact_id: str, expires: int | None, signature: str | None,
                 *, kind: str | None = None, field: str = "signature") -> ArtifactView:
    """The artifact a signed link names, when the link is whole, its signature holds, it has
    not expired and (with ``kind``) it names an artifact of that kind."""
    if expires is None or signature is None:
        raise InvalidInput("invalid download link", [FieldError(
            field, "a signed link needs both expires and signature")])
    if not check(_link_key(p), artifact_id, expires, signature, time.time()):
        raise NotFound("this download link is invalid or has expired", artifact_id)
    with p.db.session() as s:
        a = s.get(Artifact, artifact_id)
        if a is None or (kind is not None and a.kind != kind):
            raise NotFound(f"artifact {artifact_id} not found", artifact_id)
        return view(a)


@dataclass(frozen=True)
class Download:
    artifact: ArtifactView
    start: int
    end: int  # inclusive
    partial: bool
    chunks: Iterator[bytes]

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def check_password(p: Platform, a: ArtifactView, password: str | None) -> None:
    """A password-protected file is only handed to whoever knows its password."""
    if not a.protected:
        return
    if not password:
        raise Forbidden(f"{a.filename} is protected: send its password", "password")
    with p.db.session() as s:
        row = s.get(Artifact, a.id)
        stored = row.password_hash if row is not None else None
    if stored is None or not verify_password(password, stored):
        raise Forbidden(f"wrong password for {a.filename}", "password")


def download(p: Platform, a: ArtifactView, range_header: str | None) -> Download:
    """Open a completed artifact for sending: its checksum verified, the range applied."""
    if a.phase == "expired" or (a.expires_at is not None and a.expires_at < now()):
        raise NotFound(f"{a.filename} has expired", a.id)
    if a.phase != "completed" or a.size is None or a.sha256 is None:
        raise Conflict(f"{a.filename} is not ready yet (phase {a.phase})")
    files = store(p)
    key = (a.id, a.size, a.sha256)
    with _verified_lock:
        known = key in _verified
    if not known:
        if not files.exists(a.id) or files.size(a.id) != a.size or not files.verify(a.id,
                                                                                 a.sha256):
            raise Fatal(f"{a.filename} failed its checksum: the stored file is damaged")
        with _verified_lock:
            _verified.add(key)
    rng = parse_range(range_header, a.size)
    if rng is None:
        start, end, partial = 0, a.size - 1, False
    else:
        (start, end), partial = rng, True
    chunks = files.iter_bytes(a.id, start, end) if a.size else iter(())
    return Download(a, start, end, partial, chunks)

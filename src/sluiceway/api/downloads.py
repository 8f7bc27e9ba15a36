"""One way every family sends an artifact: verified, streamed, ranged (206), with its
checksum and file name."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import StreamingResponse

from sluiceway.services import artifacts
from sluiceway.services.platform import Platform


def send(p: Platform, a: artifacts.ArtifactView, request: Request) -> StreamingResponse:
    d = artifacts.download(p, a, request.headers.get("range"))
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(d.length if a.size else 0),
        "Content-Disposition": f'attachment; filename="{a.filename}"',
        "ETag": f'"{a.sha256}"',
        "X-Checksum-SHA256": a.sha256 or "",
    }
    if d.partial:
        headers["Content-Range"] = f"bytes {d.start}-{d.end}/{a.size}"
    return StreamingResponse(d.chunks, status_code=206 if d.partial else 200,
                             media_type=a.mime_type, headers=headers)

"""``/v1/deployment/export`` (as Airbyte had it before 0.40.7, and as Prefect's
``export_configuration`` task still calls it): the caller's configuration as a gzipped tar
archive, one JSON file per kind under ``airbyte_config/`` (``WORKSPACES``, ``SOURCES``,
``DESTINATIONS``, ``CONNECTIONS``) and ``VERSION``. Each file holds what the list
operations answer for the caller's workspaces, secrets masked as they are there: the
archive describes a deployment, it does not carry its passwords. There is no import."""

from __future__ import annotations

import io
import json
import tarfile
import time
from typing import Any

from fastapi import APIRouter, Response

from sluiceway import __version__
from sluiceway.api.airbyte import convert, rendered
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import actors, connections, workspaces

router = APIRouter(tags=["deployment"])

#: the archive's folder, as Airbyte named it
FOLDER = "airbyte_config"


def _add(archive: tarfile.TarFile, name: str, body: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(body), int(mtime), 0o644
    archive.addfile(info, io.BytesIO(body))


@router.post("/deployment/export", response_class=Response, responses={200: {
    "content": {"application/x-gzip": {}},
    "description": "the caller's workspaces, sources, destinations and connections, "
                   "secrets masked, as a gzipped tar archive"}})
def export_archive(p: PlatformDep, caller: CallerDep) -> Response:
    spaces = workspaces.list_for(p, caller)
    kinds: dict[str, list[Any]] = {"WORKSPACES": [], "SOURCES": [], "DESTINATIONS": [],
                                   "CONNECTIONS": []}
    for ws in spaces:
        kinds["WORKSPACES"].append(convert.workspace(ws).model_dump(mode="json"))
        kinds["SOURCES"] += [convert.source_json(a)
                             for a in actors.list_for(p, caller, "source", ws.id)]
        kinds["DESTINATIONS"] += [convert.destination_json(a)
                                  for a in actors.list_for(p, caller, "destination", ws.id)]
        kinds["CONNECTIONS"] += json.loads(rendered.connection_list(
            p, caller, connections.list_for(p, caller, ws.id)))["connections"]
    now = time.time()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        _add(archive, "VERSION", f"{__version__}\n".encode(), now)
        for kind, items in kinds.items():
            _add(archive, f"{FOLDER}/{kind}.json",
                 json.dumps(items, indent=1, sort_keys=True).encode(), now)
    return Response(buffer.getvalue(), media_type="application/x-gzip", headers={
        "Content-Disposition": 'attachment; filename="sluiceway-export.tar.gz"'})

"""Logs (#73-76) over the job and task logs of the space, in the shapes an Elasticsearch
client reads (``hits.hits[]._source`` with ``@timestamp``, ``@message`` and ``@fields``; a
task's line also names its task and route). ``index`` is accepted and ignored: there is one
log, Sluiceway's own."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import ConfigDict

from sluiceway.api.alumio.render import iso
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.api.inputs import RequestModel
from sluiceway.services import job_logs as service
from sluiceway.services import spaces

router = APIRouter()
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
IndexParam = Annotated[str, Query(description="Index to use (accepted and ignored: the job "
                                              "logs are the one index)")]
INDEX = "sluiceway-job-logs"


class LogQuery(RequestModel):
    model_config = ConfigDict(extra="forbid")
    prototype: str | None = None
    parameters: dict[str, Any] | None = None


def _source(e: service.LogEntry) -> dict[str, Any]:
    scope: dict[str, Any] = {"job": e.job_id, "attempt": e.attempt, "kind": e.kind,
                             "space": e.space}
    if e.task is not None:
        scope.update(task=e.task, route=e.route)
    return {"@timestamp": iso(e.at), "@message": e.message,
            "@fields": {"level": e.level.lower(), "scope": scope}}


def _ws(p: PlatformDep, caller: CallerDep, space: str | None) -> str:
    return spaces.current(p, caller, space).id


@router.post("/elasticsearch/search/result")
def search(body: LogQuery, p: PlatformDep, caller: CallerDep,
           index: IndexParam = "filebeat-*", space: SpaceParam = None) -> dict[str, Any]:
    q = service.parse(body.prototype, body.parameters)
    found, total = service.search(p, caller, _ws(p, caller, space), q)
    return {"hits": {"total": total, "hits": [
        {"_index": INDEX, "_id": str(e.id), "_source": _source(e)} for e in found]}}


@router.post("/elasticsearch/search/count")
def count(body: LogQuery, p: PlatformDep, caller: CallerDep,
          index: IndexParam = "filebeat-*", space: SpaceParam = None) -> dict[str, Any]:
    q = service.parse(body.prototype, body.parameters)
    return {"count": service.count(p, caller, _ws(p, caller, space), q)}


@router.get("/elasticsearch/export/{index}/{id}", deprecated=True)
def export(index: str, id: str, p: PlatformDep, caller: CallerDep,  # noqa: A002
           space: SpaceParam = None) -> Response:
    e = service.entry(p, caller, _ws(p, caller, space), id)
    body = json.dumps({"_index": INDEX, "_id": str(e.id), "_source": _source(e)},
                      ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="log-{e.id}.json"'})


@router.post("/elasticsearch/templates")
def templates(p: PlatformDep, caller: CallerDep,
              dry_run: Annotated[bool, Query(alias="dry-run")] = False) -> dict[str, Any]:
    return {"templates": service.apply_templates(caller)}

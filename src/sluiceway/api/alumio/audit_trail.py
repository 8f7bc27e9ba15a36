"""The audit trail (#4-9): a space's entries for its administrators, the whole trail for
system administrators; exports as CSV (default) or NDJSON files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from sluiceway.api.alumio.render import body_filter, iso, listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import audit, criteria, spaces

router = APIRouter()
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
FormatParam = Annotated[str, Query(description="csv or ndjson (extension)")]
_MIME = {"csv": "text/csv", "ndjson": "application/x-ndjson"}


def entry_json(v: audit.EntryView) -> dict[str, Any]:
    return {"identifier": v.id, "user": v.user, "spaceIdentifier": v.space,
            "action": v.action, "category": v.category, "ipAddress": v.address,
            "message": v.message, "request": v.request, "createdAt": iso(v.created_at)}


def _space_id(p: PlatformDep, caller: CallerDep, space: str | None) -> str:
    return spaces.current(p, caller, space).id


@router.get("/audit_trail/current_space")
def list_current(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
                 space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(filter, audit.COLUMNS)
    views, total = audit.list_entries(p, caller, c, _space_id(p, caller, space))
    return listing([entry_json(v) for v in views], total)


@router.get("/audit_trail/current_space/item/{identifier}")
def get_current(identifier: str, p: PlatformDep, caller: CallerDep,
                space: SpaceParam = None) -> dict[str, Any]:
    return entry_json(audit.get_entry(p, caller, identifier, _space_id(p, caller, space)))


@router.get("/audit_trail")
def list_all(p: PlatformDep, caller: CallerDep,
             filter: FilterParam = None) -> dict[str, Any]:  # noqa: A002
    c = criteria.parse(filter, audit.COLUMNS)
    views, total = audit.list_entries(p, caller, c)
    return listing([entry_json(v) for v in views], total)


@router.get("/audit_trail/item/{identifier}")
def get_any(identifier: str, p: PlatformDep, caller: CallerDep,
            space: SpaceParam = None) -> dict[str, Any]:
    ws = _space_id(p, caller, space) if space is not None else None
    return entry_json(audit.get_entry(p, caller, identifier, ws))


def _download(chunks: Any, fmt: str) -> StreamingResponse:
    name = f"audit-trail.{fmt}"
    return StreamingResponse(chunks, media_type=_MIME.get(fmt, "text/csv"),
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/audit_trail/current_space/export")
async def export_current(request: Request, p: PlatformDep, caller: CallerDep,
                         space: SpaceParam = None, format: FormatParam = "csv",  # noqa: A002
                         ) -> StreamingResponse:
    c = criteria.parse(await body_filter(request), audit.COLUMNS)
    ws = spaces.current(p, caller, space).id
    return _download(audit.export(p, caller, c, format, ws, iso), format)


@router.post("/audit_trail/export")
async def export_all(request: Request, p: PlatformDep, caller: CallerDep,
                     format: FormatParam = "csv") -> StreamingResponse:  # noqa: A002
    c = criteria.parse(await body_filter(request), audit.COLUMNS)
    return _download(audit.export(p, caller, c, format, None, iso), format)

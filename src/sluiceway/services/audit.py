"""The one audit writer: every change, on every face and from the command line, leaves one
entry (who, in which space, from which address, what, and the request with secrets masked).

Services call :func:`record` inside the session that makes the change, so an entry exists
exactly when the change was committed. Entries are never updated nor deleted here; reading
them goes through the policy: a space's entries to its administrators, every entry to a
system administrator.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError, NotFound
from sluiceway.services import criteria, policy
from sluiceway.services.caller import Caller
from sluiceway.services.listing import BadQuery
from sluiceway.services.platform import Platform
from sluiceway.store.models import AuditEntry, Workspace

MASK = "**********"
#: request keys whose values are masked wherever they sit
_SECRET = re.compile(r"pass|secret|token|key|credential|authori[sz]ation|private|cookie",
                     re.IGNORECASE)
_MAX_TEXT = 2000


def mask(value: Any, key: str = "") -> Any:
    """A copy of ``value`` fit for the trail: secret-looking keys masked, long text cut."""
    if key and _SECRET.search(key) and value is not None and not isinstance(value, bool):
        return MASK
    if isinstance(value, Mapping):
        return {str(k): mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + "…"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record(s: Session, caller: Caller, action: str, category: str, message: str, *,
           request: Mapping[str, Any] | None = None, workspace_id: str | None = None) -> None:
    """Add one entry in the session that makes the change (committed with it)."""
    ws = s.get(Workspace, workspace_id) if workspace_id is not None else None
    s.add(AuditEntry(user_id=caller.user_id, user_name=caller.username,
                     workspace_id=workspace_id, space=ws.slug if ws is not None else None,
                     action=action, category=category, address=caller.address[:100],
                     message=message, request=mask(dict(request or {}))))


def record_now(p: Platform, caller: Caller, action: str, category: str, message: str, *,
               request: Mapping[str, Any] | None = None,
               workspace_id: str | None = None) -> None:
    """:func:`record` in a session of its own (for a change made through another path)."""
    with p.db.session() as s:
        record(s, caller, action, category, message, request=request,
               workspace_id=workspace_id)


# --- reading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class EntryView:
    id: str
    user: str
    space: str | None
    action: str
    category: str
    address: str
    message: str
    request: dict[str, Any]
    created_at: float


COLUMNS: dict[str, criteria.Column] = {
    "identifier": criteria.Column(AuditEntry.id, criteria.as_text),
    "user": criteria.Column(AuditEntry.user_name, criteria.as_text),
    "spaceIdentifier": criteria.Column(AuditEntry.space, criteria.as_text),
    "action": criteria.Column(AuditEntry.action, criteria.as_text),
    "category": criteria.Column(AuditEntry.category, criteria.as_text),
    "ipAddress": criteria.Column(AuditEntry.address, criteria.as_text),
    "message": criteria.Column(AuditEntry.message, criteria.as_text),
    "createdAt": criteria.Column(AuditEntry.created_at, criteria.as_time),
}


def _view(e: AuditEntry) -> EntryView:
    return EntryView(e.id, e.user_name, e.space, e.action, e.category, e.address, e.message,
                     dict(e.request or {}), e.created_at)


def _base(caller: Caller, workspace_id: str | None) -> Select[Any]:
    """Entries of one space (its administrators), or of all (system administrators)."""
    if workspace_id is None:
        policy.require(caller, policy.SYSTEM)
        return select(AuditEntry)
    policy.require(caller, policy.MANAGE, workspace_id)
    return select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)


def _ordered(c: criteria.Criteria) -> criteria.Criteria:
    """Newest first unless the caller ordered otherwise."""
    if c.order:
        return c
    return criteria.Criteria(c.where, (("createdAt", True),), c.limit, c.skip)


def list_entries(p: Platform, caller: Caller, c: criteria.Criteria,
                 workspace_id: str | None = None) -> tuple[list[EntryView], int]:
    with p.db.session() as s:
        rows, total = criteria.apply(s, _base(caller, workspace_id), COLUMNS, _ordered(c),
                                     AuditEntry.id.desc())
        return [_view(e) for e in rows], total


def get_entry(p: Platform, caller: Caller, entry_id: str,
              workspace_id: str | None = None) -> EntryView:
    with p.db.session() as s:
        e = s.scalars(_base(caller, workspace_id).where(AuditEntry.id == entry_id)).first()
        if e is None:
            raise NotFound(f"audit trail item {entry_id} not found", entry_id)
        return _view(e)


EXPORT_FIELDS = ("identifier", "createdAt", "user", "spaceIdentifier", "ipAddress", "action",
                 "category", "message", "request")


def _row(v: EntryView, when: str) -> dict[str, Any]:
    return {"identifier": v.id, "createdAt": when, "user": v.user,
            "spaceIdentifier": v.space, "ipAddress": v.address, "action": v.action,
            "category": v.category, "message": v.message, "request": v.request}


def export(p: Platform, caller: Caller, c: criteria.Criteria, fmt: str,
           workspace_id: str | None = None, iso: Any = str) -> Iterator[bytes]:
    """The matching entries as CSV or NDJSON, page by page (``limit`` caps each page only:
    an export holds every match). ``iso`` renders a time. Refusals come before the first
    byte (this is not a generator itself)."""
    if fmt not in ("csv", "ndjson"):
        raise BadQuery("invalid export", [FieldError(
            "format", "must be csv or ndjson", fmt)])
    _base(caller, workspace_id)
    return _chunks(p, caller, c, fmt, workspace_id, iso)


def _chunks(p: Platform, caller: Caller, c: criteria.Criteria, fmt: str,
            workspace_id: str | None, iso: Any) -> Iterator[bytes]:
    skip = c.skip
    if fmt == "csv":
        head = io.StringIO()
        csv.writer(head).writerow(EXPORT_FIELDS)
        yield head.getvalue().encode()
    while True:
        page = criteria.Criteria(c.where, _ordered(c).order, criteria.MAX_LIMIT, skip)
        views, _ = list_entries(p, caller, page, workspace_id)
        out = io.StringIO()
        for v in views:
            row = _row(v, iso(v.created_at))
            if fmt == "ndjson":
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                csv.writer(out).writerow([json.dumps(row[f]) if f == "request" else
                                          ("" if row[f] is None else row[f])
                                          for f in EXPORT_FIELDS])
        yield out.getvalue().encode()
        if len(views) < criteria.MAX_LIMIT:
            return
        skip += len(views)

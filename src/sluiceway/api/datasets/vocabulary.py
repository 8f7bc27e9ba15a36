"""This family's names for what the datasets service lists: its filter and sort fields
and its job statuses, turned into the service's (the core's) names."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sluiceway.core.errors import FieldError
from sluiceway.services import datasets, listing

#: this family's names for the ledger's statuses
STATUS_NAMES: Mapping[str, str] = MappingProxyType({
    "pending": "pending", "incomplete": "pending", "running": "running",
    "succeeded": "completed", "failed": "errored", "cancelled": "errored"})
#: the ledger's statuses each of this family's status names stands for
STATUSES_OF: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "pending": ("pending", "incomplete"), "running": ("running",),
    "completed": ("succeeded",), "errored": ("failed", "cancelled")})

#: this family's filter and sort field of an export -> the service's
EXPORT_NAMES: Mapping[str, str] = MappingProxyType({
    "id": "id", "job_id": "job_id", "project_id": "workspace_id",
    "created_by_id": "created_by", "file_id": "id", "filename": "filename",
    "mime_type": "mime_type", "size": "size", "created_at": "created_at"})
#: this family's filter and sort field of a job -> the service's
JOB_NAMES: Mapping[str, str] = MappingProxyType({
    "id": "id", "job_class": "config_type", "priority": "priority", "status": "status",
    "progress": "progress", "retry_count": "retry_count", "error": "error",
    "unicity": "unicity", "scheduled_at": "scheduled_at", "created_at": "created_at",
    "updated_at": "updated_at"})


def _statuses(flt: listing.Filter) -> listing.Filter:
    values = flt.value if flt.op == "in" else [flt.value]
    bad = [v for v in values if v not in STATUSES_OF]
    if bad:
        raise listing.BadQuery("invalid filter", [FieldError(
            flt.param, f"unknown status {bad[0]!r}; statuses are: "
            + ", ".join(STATUSES_OF), bad[0])])
    return listing.Filter("status", "in", [s for v in values for s in STATUSES_OF[v]],
                          flt.param)


def _translated(query: listing.Query, names: Mapping[str, str],
                fields: Mapping[str, listing.Field], *, statuses: bool = False
                ) -> listing.Query:
    """``query`` in the service's names, checked first in this family's (so that an error
    names the field as the caller wrote it)."""
    ours = {name: fields[core] for name, core in names.items()}
    listing.check(query, ours)
    filters = []
    for flt in query.filters:
        if statuses and flt.field == "status":
            filters.append(_statuses(flt))
            continue
        listing.parse_value(ours[flt.field], flt)
        filters.append(listing.Filter(names[flt.field], flt.op, flt.value, flt.param))
    return listing.Query(query.page_number, query.page_size,
                         tuple((names[name], desc) for name, desc in query.sort),
                         query.count, tuple(filters), query.fields)


def export_query(query: listing.Query) -> listing.Query:
    return _translated(query, EXPORT_NAMES, datasets.EXPORT_FIELDS)


def job_query(query: listing.Query) -> listing.Query:
    return _translated(query, JOB_NAMES, datasets.JOB_FIELDS, statuses=True)

"""Resource objects of the dataset family: times as ISO-8601, statuses as this family names
them, download links signed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sluiceway.api import jsonapi
from sluiceway.api.datasets.vocabulary import STATUS_NAMES
from sluiceway.services import artifacts
from sluiceway.services.datasets import JobRow
from sluiceway.services.platform import Platform

EXPORT_ATTRIBUTES = ("id", "job_id", "project_id", "created_by_id", "file_id", "filename",
                     "mime_type", "size", "format", "phase", "sha256", "stream", "error",
                     "created_at", "updated_at", "expires_at", "download_url")
JOB_ATTRIBUTES = ("id", "job_class", "priority", "status", "progress", "retry_count", "error",
                  "unicity", "scheduled_at", "created_at", "updated_at", "project_id", "scope",
                  "output")


def iso(epoch: float | None) -> str | None:
    """ISO-8601 in UTC; None for no time, and for one no calendar can show (a row stored
    before times were checked on the way in)."""
    if epoch is None:
        return None
    try:
        return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


def export(p: Platform, a: artifacts.ArtifactView, fields: frozenset[str] | None
           ) -> dict[str, Any]:
    ready = a.phase == "completed"
    download = f"/exports/{a.id}/download"
    attrs = {
        "id": a.id, "job_id": a.job_id, "project_id": a.workspace_id,
        "created_by_id": a.created_by, "file_id": a.id, "filename": a.filename,
        "mime_type": a.mime_type, "size": a.size, "format": a.format, "phase": a.phase,
        "sha256": a.sha256, "stream": a.meta.get("stream"), "error": a.error,
        "created_at": iso(a.created_at), "updated_at": iso(a.updated_at),
        "expires_at": iso(a.expires_at),
        "download_url": f"{download}?{artifacts.signed_query(p, a.id)}" if ready else None,
    }
    rel = {"job": {"data": {"type": "jobs", "id": str(a.job_id)}}} if a.job_id else None
    return jsonapi.resource("exports", a.id, attrs, fields,
                            links={"self": f"/exports/{a.id}", "download": download},
                            relationships=rel)


def job(row: JobRow, fields: frozenset[str] | None) -> dict[str, Any]:
    j = row.job
    attrs = {
        "id": j.id, "job_class": j.config_type, "priority": j.priority,
        "status": STATUS_NAMES.get(j.status, j.status),
        "progress": 1.0 if j.status == "succeeded" else round(float(j.progress or 0.0), 4),
        "retry_count": row.retry_count, "error": j.error, "unicity": j.unicity,
        "scheduled_at": iso(j.scheduled_at), "created_at": iso(j.created_at),
        "updated_at": iso(j.updated_at), "project_id": j.workspace_id, "scope": j.scope,
        "output": j.output,
    }
    return jsonapi.resource("jobs", j.id, attrs, fields, links={"self": f"/jobs/{j.id}"})

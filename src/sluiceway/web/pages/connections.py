"""Connections: the new-connection wizard (discover, choose streams, modes, cursor, key,
schedule), the same choices changed after creation, the connection page (sync, cancel,
reset, live progress, job history, a chart per run) and the log viewer that follows a
running job."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluiceway.core.errors import (
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    SluicewayError,
    TooManyRequests,
)
from sluiceway.services import actors, catalogs, connections, jobs, policy
from sluiceway.services.connections import TIME_UNITS, AnySchedule, CronSchedule, Schedule
from sluiceway.web import charts, templating
from sluiceway.web.deps import Form, FormDep, Page, PageDep

router = APIRouter()
UI = templating.PREFIX
ACTIVE = ("pending", "running", "incomplete")
#: where each checked key of a stream sits in the wizard's form
PATHS = MappingProxyType({"name": "name", "syncMode": "sync mode",
                          "cursorField": "cursor", "primaryKey": "primary key",
                          "fields": "columns"})
HISTORY = 20


# --- the wizard -------------------------------------------------------------------------------

def _discovered(page: Page, source_id: str) -> list[dict[str, Any]]:
    """The source's streams with the catalog's defaults; where the source names no cursor,
    the column that suggests itself is offered (the form can change it)."""
    catalog = catalogs.from_discovered(actors.discover(page.platform, page.caller, source_id))
    streams: list[dict[str, Any]] = catalog["streams"]
    for st in streams:
        cursor = catalogs.suggested_cursor(st)
        if cursor is not None:
            st["cursor_field"] = [cursor]
    return streams


_STREAM_PATH = re.compile(r"^streams\.streams\[(\d+)\]\.?(.*)$")


def shown_errors(errors: list[FieldError], streams: list[dict[str, Any]] | None
                 ) -> list[FieldError]:
    """The errors with a stream's path named by the stream (``orders: cursor``, not
    ``streams.streams[0].cursor``); ``streams`` are those the services were given."""
    out = []
    for e in errors:
        found = _STREAM_PATH.match(e.path)
        if found and streams is not None and int(found.group(1)) < len(streams):
            name = str(streams[int(found.group(1))]["name"])
            e = FieldError(f"{name}: {found.group(2)}" if found.group(2) else name,
                           e.reason, e.value)
        out.append(e)
    return out


def _wizard(request: Request, page: Page, *, source: str, destination: str,
            streams: list[dict[str, Any]] | None, form: Form | None = None,
            errors: list[FieldError] | None = None, status: int = 200,
            runs: list[float] | None = None) -> HTMLResponse:
    p, caller, ws = page.platform, page.caller, page.workspace_id
    return templating.render(request, "connection_new.html", {
        "page": page, "sources": actors.list_for(p, caller, "source", ws),
        "destinations": actors.list_for(p, caller, "destination", ws),
        "source": source, "destination": destination, "streams": streams,
        "form": form or Form({}), "errors": errors or [], "time_units": TIME_UNITS,
        "runs": runs}, status=status)


def _unreadable(request: Request, page: Page, source: str, destination: str,
                exc: SluicewayError) -> HTMLResponse:
    """The wizard's first step again, saying why the source's streams cannot be read."""
    return _wizard(request, page, source=source, destination=destination, streams=None,
                   errors=[FieldError("source", f"its streams cannot be read: {exc} (the "
                                                "source's page has a Test button)")],
                   status=422)


@router.get("/connections/new")
def new(request: Request, page: PageDep, source: str = "",
        destination: str = "") -> HTMLResponse:
    policy.require(page.caller, policy.CHANGE, page.workspace_id)
    try:
        streams = _discovered(page, source) if source and destination else None
    except (NotFound, Forbidden, TooManyRequests):
        raise
    except SluicewayError as exc:
        return _unreadable(request, page, source, destination, exc)
    return _wizard(request, page, source=source, destination=destination, streams=streams)


def chosen_streams(form: Form, discovered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The streams the wizard's form selects, in the shape services take (what the form
    leaves out keeps the source's defaults); at least one."""
    out = []
    for i, st in enumerate(discovered):
        at = f"s{i}."
        if not form.has(at + "selected"):
            continue
        cursor = form.get(at + "cursor")
        pk = form.get(at + "pk")
        out.append({
            "name": st["name"], "selected": True,
            "sync_mode": form.get(at + "sync_mode", "full_refresh"),
            "destination_sync_mode": form.get(at + "destination_sync_mode", "overwrite"),
            "cursor_field": [cursor] if cursor else [],
            "primary_key": [[k.strip()] for k in pk.split(",") if k.strip()] or None,
            "selected_fields": form.getlist(at + "columns") or None,
        })
    if not out:
        raise InvalidInput("invalid streams", [FieldError("streams",
                                                          "select at least one stream")])
    return out


def schedule_of(form: Form) -> AnySchedule:
    """The schedule the form describes: only when started, an interval, or cron times."""
    kind = form.get("schedule", "manual")
    if kind == "manual":
        return None
    if kind == "cron":
        return CronSchedule(form.get("cron").strip(), form.get("timezone").strip() or "UTC")
    try:
        units = int(form.get("units"))
    except ValueError:
        raise InvalidInput("invalid schedule", [FieldError(
            "schedule.units", "must be a whole number", form.get("units"))]) from None
    return Schedule(units, form.get("time_unit", "hours"))


@router.post("/connections/new")
def create(request: Request, page: PageDep, form: FormDep) -> Response:
    source, destination = form.get("source"), form.get("destination")
    try:
        discovered = _discovered(page, source)
    except (NotFound, Forbidden, TooManyRequests):
        raise
    except SluicewayError as exc:
        return _unreadable(request, page, source, destination, exc)
    streams: list[dict[str, Any]] | None = None
    try:
        if form.has("preview"):  # the next five runs of the schedule, nothing created
            runs = connections.next_runs(schedule_of(form))
            return _wizard(request, page, source=source, destination=destination,
                           streams=discovered, form=form, runs=runs)
        streams = chosen_streams(form, discovered)
        made = connections.create(
            page.platform, page.caller, source_id=source, destination_id=destination,
            name=form.get("name").strip() or None,
            sync_mode=str(streams[0]["sync_mode"]), streams=streams,
            schedule=schedule_of(form), status="active", where="streams", paths=PATHS)
    except InvalidInput as exc:
        return _wizard(request, page, source=source, destination=destination,
                       streams=discovered, form=form,
                       errors=shown_errors(exc.errors, streams), status=422)
    if form.has("sync_now"):
        connections.sync(page.platform, page.caller, made.id)
    return RedirectResponse(f"{UI}/connections/{made.id}", 303)


# --- streams and schedule changed after creation -------------------------------------------

def stored_form(c: connections.ConnectionView, streams: list[dict[str, Any]]) -> Form:
    """The edit form filled with what the connection has: its selected streams with their
    modes, cursor, key and columns, and its schedule."""
    data: dict[str, list[str]] = {}
    stored = {st.get("name"): st for st in c.catalog.get("streams", [])
              if st.get("selected", True)}
    for i, st in enumerate(streams):
        have = stored.get(st["name"])
        if have is None:
            continue
        at = f"s{i}."
        data[at + "selected"] = ["on"]
        data[at + "sync_mode"] = [str(have.get("sync_mode", "full_refresh"))]
        data[at + "destination_sync_mode"] = [str(have.get("destination_sync_mode",
                                                           "overwrite"))]
        data[at + "cursor"] = [str((have.get("cursor_field") or [""])[0])]
        data[at + "pk"] = [",".join(str(k[0]) for k in have.get("primary_key") or [] if k)]
        data[at + "columns"] = [str(f["name"]) for f in have.get("fields") or []
                                if f.get("selected", True)]
    if c.schedule_cron:
        data.update(schedule=["cron"], cron=[c.schedule_cron],
                    timezone=[c.schedule_timezone or "UTC"])
    elif c.schedule_units:
        data.update(schedule=["basic"], units=[str(c.schedule_units)],
                    time_unit=[c.schedule_time_unit or "hours"])
    else:
        data["schedule"] = ["manual"]
    return Form(data)


def _streams_of(page: Page, c: connections.ConnectionView
                ) -> tuple[list[dict[str, Any]], bool]:
    """The source's streams (discovered now), or the stored ones when it cannot be read;
    and whether they were discovered."""
    try:
        return _discovered(page, c.source_id), True
    except SluicewayError:
        return [dict(st) for st in c.catalog.get("streams", [])], False


def _editor(request: Request, page: Page, c: connections.ConnectionView, form: Form,
            streams: list[dict[str, Any]], discovered: bool, *,
            errors: list[FieldError] | None = None, status: int = 200,
            runs: list[float] | None = None) -> HTMLResponse:
    return templating.render(request, "connection_edit.html", {
        "page": page, "c": c, "form": form, "streams": streams, "discovered": discovered,
        "errors": errors or [], "time_units": TIME_UNITS, "runs": runs}, status=status)


@router.get("/connections/{connection_id}/edit")
def edit(request: Request, page: PageDep, connection_id: str) -> HTMLResponse:
    c = connections.get(page.platform, page.caller, connection_id)
    policy.require(page.caller, policy.CHANGE, c.workspace_id)
    streams, discovered = _streams_of(page, c)
    return _editor(request, page, c, stored_form(c, streams), streams, discovered)


@router.post("/connections/{connection_id}/edit")
def save(request: Request, page: PageDep, form: FormDep, connection_id: str) -> Response:
    c = connections.get(page.platform, page.caller, connection_id)
    policy.require(page.caller, policy.CHANGE, c.workspace_id)
    streams, discovered = _streams_of(page, c)
    chosen: list[dict[str, Any]] | None = None
    try:
        if form.has("preview"):
            return _editor(request, page, c, form, streams, discovered,
                           runs=connections.next_runs(schedule_of(form)))
        chosen = chosen_streams(form, streams)
        connections.update(page.platform, page.caller, connection_id, streams=chosen,
                           schedule=schedule_of(form), status=c.status,
                           where="streams", paths=PATHS)
    except InvalidInput as exc:
        return _editor(request, page, c, form, streams, discovered,
                       errors=shown_errors(exc.errors, chosen), status=422)
    return RedirectResponse(f"{UI}/connections/{connection_id}", 303)


# --- the connection page ----------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    """What a job shows while it runs (and once it ended)."""

    job_id: int
    kind: str
    status: str
    attempt: int
    rows: int
    bytes: int
    seconds: float
    fraction: float | None  # known when the source estimated its size
    error: str | None

    @property
    def live(self) -> bool:
        return self.status in ACTIVE

    @property
    def mb_per_s(self) -> float | None:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 and self.rows else None

    @property
    def eta(self) -> float | None:
        f = self.fraction
        if not self.live or f is None or f <= 0 or f >= 1:
            return None
        return self.seconds * (1 - f) / f


def progress_of(view: jobs.JobView) -> Progress:
    job = view.job
    last = view.attempts[-1].attempt if view.attempts else None
    started = view.attempts[0].attempt.created_at if view.attempts else job.created_at
    ended = (last.ended_at if last is not None and last.ended_at is not None
             else job.updated_at)
    live = job.status in ACTIVE
    seconds = (time.time() if live else ended) - started
    fraction = job.progress if job.progress and 0 < job.progress <= 1 else None
    return Progress(job.id, job.config_type, job.status, last.number if last else 0,
                    last.records_synced if last else 0, last.bytes_synced if last else 0,
                    max(0.0, seconds), fraction, job.error)


def _history(page: Page, connection_id: str, offset: int = 0
             ) -> tuple[list[jobs.JobView], int]:
    return jobs.page(page.platform, page.caller, list(jobs.CONNECTION_JOBS), connection_id,
                     limit=HISTORY, offset=offset)


@router.get("/schedule")
def schedule_preview(request: Request, page: PageDep) -> HTMLResponse:
    """The next five runs of the schedule in the query (the wizard's script shows them as
    the schedule is typed)."""
    form = Form({k: request.query_params.getlist(k) for k in request.query_params})
    try:
        runs, error = connections.next_runs(schedule_of(form)), None
    except InvalidInput as exc:
        runs, error = [], "; ".join(e.reason for e in exc.errors)
    return templating.render(request, "schedule_runs.html", {"runs": runs, "error": error})


@router.get("/connections/{connection_id}")
def show(request: Request, page: PageDep, connection_id: str, offset: int = 0) -> HTMLResponse:
    c = connections.get(page.platform, page.caller, connection_id)
    named = actors.get_many(page.platform, page.caller, [c.source_id, c.destination_id])
    history, total = _history(page, connection_id, max(0, offset))
    runs = [progress_of(v) for v in history]
    current = runs[0] if runs and offset == 0 else None
    done = [r for r in reversed(runs) if r.kind == "sync" and not r.live]
    chart_rows = charts.bars("Rows per run (newest right)",
                             [charts.Bar(f"job {r.job_id}", r.rows) for r in done],
                             templating.count)
    chart_time = charts.bars("Duration per run (newest right)",
                             [charts.Bar(f"job {r.job_id}", r.seconds) for r in done],
                             templating.duration)
    return templating.render(request, "connection.html", {
        "page": page, "c": c, "source": named.get(c.source_id),
        "destination": named.get(c.destination_id), "current": current, "runs": runs,
        "total": total, "offset": max(0, offset), "size": HISTORY,
        "charts": [chart_rows, chart_time] if done else [],
        "streams": [st for st in c.catalog.get("streams", []) if st.get("selected", True)],
        "next_runs": connections.next_runs(connections.schedule_of(c))
        if c.status == "active" else [],
        "can_change": page.can(policy.CHANGE)})


@router.get("/connections/{connection_id}/progress")
def progress(request: Request, page: PageDep, connection_id: str) -> HTMLResponse:
    """The live progress block alone (the page's script swaps it in every few seconds)."""
    history, _ = jobs.page(page.platform, page.caller, list(jobs.CONNECTION_JOBS),
                           connection_id, limit=1, offset=0)
    current = progress_of(history[0]) if history else None
    return templating.render(request, "progress.html", {
        "c_id": connection_id, "current": current, "page": page,
        "can_change": page.can(policy.CHANGE)})


@router.post("/connections/{connection_id}/sync")
def sync(page: PageDep, _form_: FormDep, connection_id: str) -> RedirectResponse:
    connections.sync(page.platform, page.caller, connection_id)
    return RedirectResponse(f"{UI}/connections/{connection_id}", 303)


@router.post("/connections/{connection_id}/reset")
def reset(page: PageDep, _form_: FormDep, connection_id: str) -> RedirectResponse:
    connections.reset(page.platform, page.caller, connection_id)
    return RedirectResponse(f"{UI}/connections/{connection_id}", 303)


@router.post("/connections/{connection_id}/jobs/{job_id}/cancel")
def cancel(page: PageDep, _form_: FormDep, connection_id: str,
           job_id: int) -> RedirectResponse:
    jobs.cancel(page.platform, page.caller, job_id)
    return RedirectResponse(f"{UI}/connections/{connection_id}", 303)


@router.post("/connections/{connection_id}/delete")
def delete(page: PageDep, _form_: FormDep, connection_id: str) -> RedirectResponse:
    connections.delete(page.platform, page.caller, connection_id)
    return RedirectResponse(f"{UI}/", 303)


def _log(page: Page, connection_id: str, job_id: int) -> dict[str, Any]:
    view = jobs.get(page.platform, page.caller, job_id)
    if view.job.scope != connection_id:
        raise NotFound(f"job {job_id} not found", str(job_id))
    log = jobs.log_for(page.platform, page.caller, job_id)
    return {"page": page, "c_id": connection_id, "job": progress_of(view),
            "lines": [str(line) for line in log.lines]}


@router.get("/connections/{connection_id}/jobs/{job_id}")
def job_log(request: Request, page: PageDep, connection_id: str, job_id: int) -> HTMLResponse:
    return templating.render(request, "job.html", _log(page, connection_id, job_id))


@router.get("/connections/{connection_id}/jobs/{job_id}/log")
def job_log_part(request: Request, page: PageDep, connection_id: str,
                 job_id: int) -> HTMLResponse:
    """The log block alone, for following a running job."""
    return templating.render(request, "log.html", _log(page, connection_id, job_id))

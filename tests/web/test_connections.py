"""Connections in the UI: the wizard, the connection page with sync, cancel and reset, live
progress, job history and the log viewer; and what a viewer may not do."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from sluiceway.services import actors, policy
from sluiceway.services.auth import caller_for
from sluiceway.services.platform import Platform
from sluiceway.store.models import AuditEntry, Connection, Job
from tests.helpers import wait_until
from tests.web.conftest import Browser, add_user, csrf_of, definition, sample_connection


def _pair(p: Platform) -> tuple[str, str]:
    admin = caller_for(p, "admin")
    ws = next(iter(admin.workspace_ids))
    src = actors.create(p, admin, "source", ws, definition(p, "source", "sample"),
                        {"rows": 300}, "events")
    dst = actors.create(p, admin, "destination", ws, definition(p, "destination", "duckdb"),
                        {"path": "lake.duckdb"}, "lake")
    return src.id, dst.id


def _wizard_form(page: str, **over: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"csrf": csrf_of(page)}
    for name, value in re.findall(r'<input type="hidden" name="(source|destination)" '
                                  r'value="([^"]+)"', page):
        form[name] = value
    form |= {"s0.selected": "on", "s0.sync_mode": "incremental", "s0.cursor": "id",
             "s0.destination_sync_mode": "append_dedup", "s0.pk": "id",
             "s0.columns": ["id", "user_id", "event_type", "updated_at"],
             "name": "events to lake", "schedule": "basic", "units": "6",
             "time_unit": "hours"}
    return {k: v for k, v in (form | over).items() if v is not None}


def test_the_wizard_discovers_and_creates_an_incremental_dedup_connection(
        admin: Browser, platform: Platform) -> None:
    src, dst = _pair(platform)
    page = admin.get(f"/ui/connections/new?source={src}&destination={dst}").text
    assert '<option value="incremental" selected>' not in page  # full refresh by default
    assert "s0.cursor" in page
    assert "<option selected>id</option>" in page
    assert 'name="s0.pk" value="id"' in page
    r = admin.post("/ui/connections/new", _wizard_form(page, sync_now=None))
    connection = r.headers["location"]
    with platform.db.session() as s:
        c = s.scalars(select(Connection)).one()
    assert connection == f"/ui/connections/{c.id}"
    st = c.catalog["streams"][0]
    assert (st["sync_mode"], st["destination_sync_mode"]) == ("incremental", "append_dedup")
    assert st["cursor_field"] == ["id"]
    assert st["primary_key"] == [["id"]]
    assert [f["name"] for f in st["fields"] if f["selected"]] == [
        "id", "user_id", "event_type", "updated_at"]
    assert (c.schedule_units, c.schedule_time_unit) == (6, "hours")
    shown = admin.get(connection).text
    assert "every 6 hours" in shown
    assert "append dedup" in shown
    assert "Never run." in shown


def test_the_wizard_shows_what_is_wrong(admin: Browser, platform: Platform) -> None:
    src, dst = _pair(platform)
    page = admin.get(f"/ui/connections/new?source={src}&destination={dst}").text
    r = admin.post("/ui/connections/new", _wizard_form(page, **{"s0.cursor": ""}), 422)
    assert "events: cursor: an incremental stream needs a cursor field" in r.text
    assert 'name="s0.pk" value="id"' in r.text  # the choices stay


def test_sync_cancel_reset_and_the_log(admin: Browser, platform: Platform) -> None:
    cid = sample_connection(platform, "events")
    page = f"/ui/connections/{cid}"
    admin.post(page + "/sync", {}, csrf_from=page)
    shown = admin.get(page).text
    assert 'data-live="true"' in shown
    assert ">pending<" in shown
    job = int(re.search(r"sync job (\d+)", shown).group(1))  # type: ignore[union-attr]
    part = admin.get(page + "/progress").text
    assert part.startswith('<section id="progress"')
    assert "Cancel" in part
    admin.post(f"{page}/jobs/{job}/cancel", {}, csrf_from=page)
    with platform.db.session() as s:
        assert s.get_one(Job, job).cancel_requested
    admin.post(page + "/reset", {}, csrf_from=page)
    log = admin.get(f"{page}/jobs/{job}").text
    assert f"Sync job {job}" in log
    assert 'class="log"' in log
    admin.get(f"/ui/connections/{sample_connection(platform, 'other')}/jobs/{job}", 404)
    with platform.db.session() as s:
        actions = set(s.scalars(select(AuditEntry.action).where(
            AuditEntry.user_name == "admin")))
    assert {"connection.sync", "job.cancel", "connection.reset_connection"} <= actions


def test_a_viewer_sees_no_run_buttons_and_a_forged_sync_is_refused(
        browser: Browser, platform: Platform) -> None:
    cid = sample_connection(platform, "events")
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    browser.sign_in("viewer@example.com", "viewer-password")
    page = browser.get(f"/ui/connections/{cid}").text
    assert "Sync now" not in page
    assert "Reset" not in page
    assert "Delete" not in page
    r = browser.post(f"/ui/connections/{cid}/sync", {"csrf": csrf_of(page)}, 403)
    assert "may not do this" in r.text
    browser.get("/ui/connections/new", 403)
    with platform.db.session() as s:
        assert s.scalars(select(Job)).first() is None


def test_a_sync_runs_and_its_rows_and_log_are_shown(running: Browser) -> None:
    p: Platform = running.client.app.state.platform  # type: ignore[attr-defined]
    cid = sample_connection(p, "events")
    page = f"/ui/connections/{cid}"
    running.post(page + "/sync", {}, csrf_from=page)
    wait_until(lambda: 'data-live="false"' in running.get(page + "/progress").text,
               what="the sync to end")
    part = running.get(page + "/progress").text
    assert ">succeeded<" in part
    assert '<span id="job-rows">50</span>' in part
    job = int(re.search(r"/jobs/(\d+)", part).group(1))  # type: ignore[union-attr]
    log = running.get(f"{page}/jobs/{job}").text
    assert "succeeded: 50 records" in log
    shown = running.get(page).text
    assert "Rows per run (newest right) (highest 50)" in shown


def test_the_wizard_takes_a_cron_schedule_and_shows_the_next_five_runs(
        admin: Browser, platform: Platform) -> None:
    src, dst = _pair(platform)
    page = admin.get(f"/ui/connections/new?source={src}&destination={dst}").text
    cron = {"schedule": "cron", "cron": "15 6 * * 1-5", "timezone": "Europe/Amsterdam"}
    preview = admin.post("/ui/connections/new", _wizard_form(page, preview="on", **cron),
                         200).text
    runs = re.findall(r"<li>(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)</li>", preview)
    assert len(runs) == 5
    assert all(r[11:16] in ("04:15", "05:15") for r in runs)  # 06:15 in Amsterdam
    with platform.db.session() as s:
        assert s.scalars(select(Connection)).first() is None  # a preview creates nothing
    bad = admin.get("/ui/schedule?schedule=cron&cron=every+day&timezone=UTC").text
    assert "must be a cron expression of five fields" in bad
    assert "every 2 hours" not in bad
    hint = admin.get("/ui/schedule?schedule=basic&units=2&time_unit=hours").text
    assert hint.count("<li>") == 5
    r = admin.post("/ui/connections/new", _wizard_form(page, sync_now=None, **cron))
    with platform.db.session() as s:
        c = s.scalars(select(Connection)).one()
    assert (c.schedule_cron, c.schedule_timezone) == ("15 6 * * 1-5", "Europe/Amsterdam")
    shown = admin.get(r.headers["location"]).text
    assert "at cron times <code>15 6 * * 1-5</code> (Europe/Amsterdam)" in shown
    assert "The next five runs" in shown


def test_the_wizard_offers_a_cursor_and_names_the_stream_of_an_error(
        admin: Browser, platform: Platform, pg_database: dict[str, Any],
        pg_conn: Any) -> None:
    pg_conn.execute("CREATE TABLE audits (id bigint PRIMARY KEY, created_at timestamptz)")
    pg_conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, note text, shipped_at "
                    "timestamptz, updated_at timestamptz NOT NULL DEFAULT now())")
    admin_ = caller_for(platform, "admin")
    ws = next(iter(admin_.workspace_ids))
    src = actors.create(platform, admin_, "source", ws, definition(platform, "source",
                                                                   "postgres"),
                        pg_database, "shop").id
    dst = actors.create(platform, admin_, "destination", ws,
                        definition(platform, "destination", "duckdb"),
                        {"path": "lake.duckdb"}, "lake").id
    page = admin.get(f"/ui/connections/new?source={src}&destination={dst}").text
    names = re.findall(r'name="s(\d)\.selected"[^>]*> (\w+)', page)
    assert [n for _, n in names] == ["audits", "orders"]
    orders = next(i for i, n in names if n == "orders")
    audits = next(i for i, n in names if n == "audits")

    def cursor_of(i: str) -> str:
        box = page[page.index(f'name="s{i}.cursor"'):]
        picked = re.search(r"<option selected>(\w+)</option>", box[:box.index("</select>")])
        return picked.group(1) if picked else ""

    # the never-null column that changes with its row is offered; none where there is none
    assert cursor_of(orders) == "updated_at"
    assert cursor_of(audits) == ""
    form = {"csrf": csrf_of(page), "source": src, "destination": dst, "name": "shop",
            "schedule": "manual",
            f"s{orders}.selected": "on", f"s{orders}.sync_mode": "incremental",
            f"s{orders}.destination_sync_mode": "append_dedup", f"s{orders}.cursor": "",
            f"s{orders}.pk": "id"}
    r = admin.post("/ui/connections/new", form, 422)
    assert "orders: cursor: an incremental stream needs a cursor field" in r.text
    r = admin.post("/ui/connections/new", form | {f"s{orders}.cursor": "updated_at"})
    with platform.db.session() as s:
        st = s.scalars(select(Connection)).one().catalog["streams"]
    assert [(x["name"], x["cursor_field"]) for x in st if x["selected"]] == [
        ("orders", ["updated_at"])]


def test_a_small_run_shows_its_speed_in_kb_per_second(admin: Browser,
                                                      platform: Platform) -> None:
    from unittest.mock import patch

    from sluiceway.jobs import ledger

    cid = sample_connection(platform, "events")
    with platform.db.session() as s:
        ws = s.get_one(Connection, cid).workspace_id
    clock = [1_000_000.0]
    with patch.object(ledger, "now", lambda: clock[0]):
        job = ledger.enqueue_in(platform.db, workspace_id=ws, config_type="sync", scope=cid,
                                max_attempts=1)
        attempt = ledger.claim(platform.db, "test", None, 60.0, job_id=job.id)
        assert attempt is not None
        clock[0] += 4.0
        ledger.finish(platform.db, attempt.id, "succeeded", settings=platform.settings,
                      records=1000, bytes_=95_000)
    shown = re.sub(r"\s+", " ", admin.get(f"/ui/connections/{cid}/progress").text)
    assert "95.0 KB · 4 s · 24 KB/s" in shown, shown
    assert "0.0 MB/s" not in shown


def test_a_source_that_cannot_be_read_is_said_in_the_wizard(admin: Browser,
                                                            platform: Platform) -> None:
    admin_ = caller_for(platform, "admin")
    ws = next(iter(admin_.workspace_ids))
    src = actors.create(platform, admin_, "source", ws, definition(platform, "source",
                                                                   "postgres"),
                        {"host": "127.0.0.1", "port": 1, "database": "shop",
                         "username": "u"}, "shop").id
    _, dst = _pair(platform)
    page = admin.get(f"/ui/connections/new?source={src}&destination={dst}", 422).text
    assert re.search(r"<li>source: its streams cannot be read: [^<]*127\.0\.0\.1:1", page)
    assert f'<option value="{src}" selected>' in page  # the choices stay
    assert f'<option value="{dst}" selected>' in page
    assert "<legend>2. Streams</legend>" not in page
    r = admin.post("/ui/connections/new", {"source": src, "destination": dst,
                                           "s0.selected": "on"}, 422,
                   csrf_from="/ui/connections/new")
    assert "its streams cannot be read" in r.text

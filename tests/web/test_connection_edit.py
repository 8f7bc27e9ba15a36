"""A connection's streams (selection, sync mode, cursor, primary key, columns) and schedule
(interval or cron in a time zone, the next runs shown) changed after creation on its own
page; a viewer has no such button and the server refuses their post."""

from __future__ import annotations

import re

from sqlalchemy import select

from sluiceway.services import policy
from sluiceway.services.platform import Platform
from sluiceway.store.models import Connection
from tests.web.conftest import Browser, add_user, csrf_of, new_browser, sample_connection


def _stored(p: Platform) -> Connection:
    with p.db.session() as s:
        return s.scalars(select(Connection)).one()


def test_streams_and_schedule_are_changed_after_creation(admin: Browser,
                                                         platform: Platform) -> None:
    cid = sample_connection(platform, "events")
    shown = admin.get(f"/ui/connections/{cid}").text
    assert f'href="/ui/connections/{cid}/edit"' in shown
    page = admin.get(f"/ui/connections/{cid}/edit").text
    assert 'id="s0-selected" name="s0.selected" value="on" checked' in page
    assert '<option value="manual" selected>' in page
    form = {"csrf": csrf_of(page), "s0.selected": "on", "s0.sync_mode": "incremental",
            "s0.cursor": "id", "s0.destination_sync_mode": "append_dedup", "s0.pk": "id",
            "s0.columns": ["id", "user_id", "updated_at"], "schedule": "cron",
            "cron": "30 2 * * *", "timezone": "Europe/Amsterdam"}
    preview = admin.post(f"/ui/connections/{cid}/edit", {**form, "preview": "on"}, 200).text
    assert len(re.findall(r"<li>\d{4}-\d\d-\d\d \d\d:30:00 UTC</li>", preview)) == 5
    assert _stored(platform).schedule_cron is None  # a preview changes nothing
    bad = admin.post(f"/ui/connections/{cid}/edit", {**form, "s0.cursor": ""}, 422).text
    assert "an incremental stream needs a cursor field" in bad
    admin.post(f"/ui/connections/{cid}/edit", form)
    c = _stored(platform)
    st = c.catalog["streams"][0]
    assert (st["sync_mode"], st["destination_sync_mode"]) == ("incremental", "append_dedup")
    assert st["cursor_field"] == ["id"]
    assert st["primary_key"] == [["id"]]
    assert [f["name"] for f in st["fields"] if f["selected"]] == ["id", "user_id",
                                                                  "updated_at"]
    assert (c.schedule_cron, c.schedule_timezone) == ("30 2 * * *", "Europe/Amsterdam")
    assert "The next five runs" in admin.get(f"/ui/connections/{cid}").text
    again = admin.get(f"/ui/connections/{cid}/edit").text  # the form shows what is stored
    assert '<option value="incremental" selected>' in again
    assert 'name="cron" value="30 2 * * *"' in again
    admin.post(f"/ui/connections/{cid}/edit", {**form, "schedule": "basic", "units": "3",
                                               "time_unit": "hours"})
    c = _stored(platform)
    assert (c.schedule_units, c.schedule_time_unit, c.schedule_cron) == (3, "hours", None)
    assert "every 3 hours" in admin.get(f"/ui/connections/{cid}").text


def test_a_viewer_cannot_change_streams_or_schedule(admin: Browser,
                                                    platform: Platform) -> None:
    cid = sample_connection(platform, "events")
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    assert "/edit" not in viewer.get(f"/ui/connections/{cid}").text
    viewer.get(f"/ui/connections/{cid}/edit", 403)
    token = csrf_of(viewer.get(f"/ui/connections/{cid}").text)
    viewer.post(f"/ui/connections/{cid}/edit", {"csrf": token, "schedule": "basic",
                                                "units": "1", "time_unit": "hours",
                                                "s0.selected": "on"}, 403)
    admin.post(f"/ui/connections/{cid}/edit", {"csrf": "forged", "schedule": "manual"}, 403)
    assert _stored(platform).schedule_units is None

"""Exports in the UI: one stream into a file, its progress, and a download link that works
without signing in (a signed link, as the API gives)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from sluiceway.services import datasets, listing, policy
from sluiceway.services.auth import caller_for
from sluiceway.services.platform import Platform
from tests.helpers import wait_until
from tests.web.conftest import Browser, add_user, definition, new_browser


def _source(p: Platform) -> str:
    from sluiceway.services import actors

    admin = caller_for(p, "admin")
    ws = next(iter(admin.workspace_ids))
    return actors.create(p, admin, "source", ws, definition(p, "source", "sample"),
                         {"rows": 40}, "events").id


def test_an_export_runs_and_downloads(running: Browser) -> None:
    p: Platform = running.client.app.state.platform  # type: ignore[attr-defined]
    src = _source(p)
    running.post("/ui/exports", {"source": src, "stream": "events", "columns": "id, user_id",
                                 "format": "csv"}, csrf_from="/ui/exports")
    wait_until(lambda: 'data-live="false"' in running.get("/ui/exports/list").text,
               what="the export to be written")
    rows = running.get("/ui/exports/list").text
    assert ">completed<" in rows
    link = re.search(r'<a href="(/exports/[^"]+)" download>events\.csv</a>', rows)
    assert link is not None
    anonymous = TestClient(running.client.app)
    r = anonymous.get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 200, r.text
    lines = r.text.strip().splitlines()
    assert lines[0] == '"id","user_id"'
    assert len(lines) == 41
    export_id = re.search(r'action="/ui/exports/([^"/]+)/delete"', rows)
    assert export_id is not None
    running.post(f"/ui/exports/{export_id.group(1)}/delete", {}, csrf_from="/ui/exports")
    assert "No export yet." in running.get("/ui/exports").text
    assert anonymous.get(link.group(1).replace("&amp;", "&")).status_code == 404


def test_a_bad_export_names_the_field_and_a_viewer_has_no_form(
        admin: Browser, platform: Platform) -> None:
    src = _source(platform)
    r = admin.post("/ui/exports", {"source": src, "stream": "events", "format": "rar"}, 422,
                   csrf_from="/ui/exports")
    assert "format: unknown format" in r.text
    admin.post("/ui/exports", {"source": src, "stream": "events", "format": "csv"},
               csrf_from="/ui/exports")  # no job runs on this server: it stays pending
    pending = admin.get("/ui/exports").text
    assert "/delete" not in pending
    (made,) = datasets.list_exports(platform, caller_for(platform, "admin"),
                                    listing.Query())[0]
    refused = admin.post(f"/ui/exports/{made.id}/delete", {}, 409, csrf_from="/ui/exports")
    assert "is still being made" in refused.text
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    page = viewer.get("/ui/exports").text
    assert 'action="/ui/exports"' not in page
    viewer.post("/ui/exports", {"source": src, "stream": "events", "format": "csv"}, 403,
                csrf_from="/ui/exports")


def test_the_export_form_filters_rows(running: Browser) -> None:
    """The condition rows become the datasets API's filter (all must hold); a JSON filter
    replaces them; one that is not JSON names the field."""
    p: Platform = running.client.app.state.platform  # type: ignore[attr-defined]
    src = _source(p)
    r = running.post("/ui/exports", {"source": src, "stream": "events", "format": "csv",
                                     "filter_json": "[{oops"}, 422, csrf_from="/ui/exports")
    assert "filter: must be valid JSON" in r.text
    assert "[{oops" in r.text
    running.post("/ui/exports", {"source": src, "stream": "events", "columns": "id",
                                 "format": "csv", "column.0": "id", "op.0": "lte",
                                 "value.0": "10", "column.1": "id", "op.1": "gt",
                                 "value.1": "3"}, csrf_from="/ui/exports")
    wait_until(lambda: 'data-live="false"' in running.get("/ui/exports/list").text,
               what="the export to be written")
    rows = running.get("/ui/exports/list").text
    link = re.search(r'<a href="(/exports/[^"]+)" download>events\.csv</a>', rows)
    assert link is not None, rows
    got = TestClient(running.client.app).get(link.group(1).replace("&amp;", "&"))
    assert got.text.strip().splitlines() == ['"id"', *[str(i) for i in range(4, 11)]]


def test_the_export_form_lists_the_sources_streams(admin: Browser,
                                                   platform: Platform) -> None:
    """*Show the source's streams* reads them (nothing is exported) and offers them to
    choose; typed values stay; a source that cannot be read says why at the source."""
    src = _source(platform)
    r = admin.post("/ui/exports", {"source": src, "stream": "", "format": "parquet",
                                   "columns": "id", "list": "on"}, 200,
                   csrf_from="/ui/exports")
    box = r.text[r.text.index('<select id="x-stream"'):]
    assert "<option>events</option>" in box[:box.index("</select>")]
    assert 'value="id"' in r.text
    assert "<option selected>parquet</option>" in r.text
    assert datasets.list_exports(platform, caller_for(platform, "admin"),
                                 listing.Query())[0] == []
    from sluiceway.services import actors

    admin_ = caller_for(platform, "admin")
    ws = next(iter(admin_.workspace_ids))
    broken = actors.create(platform, admin_, "source", ws, definition(platform, "source",
                                                                      "postgres"),
                           {"host": "127.0.0.1", "port": 1, "database": "x",
                            "username": "u"}, "broken").id
    r = admin.post("/ui/exports", {"source": broken, "stream": "", "list": "on"}, 422,
                   csrf_from="/ui/exports")
    assert re.search(r"<li>source: [^<]*127\.0\.0\.1[^<]*</li>", r.text), r.text[-3000:]
    assert '<input id="x-stream"' in r.text

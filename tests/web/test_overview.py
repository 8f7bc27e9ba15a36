"""The overview: a space's connections with their last and next run, failing ones first, and
what the syncs moved per day; on SQLite and PostgreSQL metadata (each finds a connection's
latest run its own way)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from unittest.mock import patch

import pytest

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.services import policy
from sluiceway.services.platform import Platform
from tests.api.conftest import make_settings
from tests.web.conftest import Browser, add_user, new_browser, sample_connection


@pytest.fixture
def web_settings(tmp_path: Path, metadata_url: str) -> Settings:
    return make_settings(tmp_path, metadata_url)


def _run(p: Platform, connection_id: str, status: str, rows: int, nbytes: int,
         started: float, seconds: float, kind: str = "sync") -> None:
    """A run of the connection through the ledger (made, claimed, ended), on a clock that
    reads ``started`` until it ends ``seconds`` later."""
    clock = [started]
    with patch.object(ledger, "now", lambda: clock[0]):
        job = ledger.enqueue_in(p.db, workspace_id=_space(p, connection_id),
                                config_type=kind, scope=connection_id, max_attempts=1)
        attempt = ledger.claim(p.db, "test", None, 60.0, job_id=job.id)
        assert attempt is not None
        clock[0] = started + seconds
        ledger.finish(p.db, attempt.id, status, settings=p.settings, records=rows,
                      bytes_=nbytes)


def _space(p: Platform, connection_id: str) -> str:
    from sluiceway.store.models import Connection

    with p.db.session() as s:
        return s.get_one(Connection, connection_id).workspace_id


def test_failing_connections_come_first_with_their_last_run(admin: Browser,
                                                           platform: Platform) -> None:
    ok = sample_connection(platform, "a fine one")
    bad = sample_connection(platform, "b broken one")
    sample_connection(platform, "c never run")
    now = time.time()
    _run(platform, ok, "succeeded", 1234, 5_600_000, now - 100, 60)
    _run(platform, bad, "succeeded", 10, 100, now - 3 * 86400, 5)
    _run(platform, bad, "failed", 0, 0, now - 50, 2)
    _run(platform, bad, "succeeded", 0, 0, now - 40, 1, kind="check_connection_source")
    page = admin.get("/ui/").text
    names = re.findall(r'/ui/connections/[0-9a-f-]+">([^<]+)</a>', page)
    assert names == ["b broken one", "a fine one", "c never run"]
    fine = page[page.index("a fine one"):page.index("c never run")]
    assert "succeeded" in fine
    assert "1,234" in fine
    assert "5.6 MB" in fine
    assert "1 min 0 s" in fine
    assert "never run" in page
    assert "Rows moved per day, last 30 days (highest 1,234)" in page
    assert page.count("<rect ") == 60  # two charts of 30 days


def test_the_overview_pages_and_searches_on_the_server(admin: Browser,
                                                       platform: Platform) -> None:
    for n in range(3):
        sample_connection(platform, f"orders {n}")
    page = admin.get("/ui/?q=ORDERS 1").text
    assert "orders 1" in page
    assert "orders 0" not in page
    assert "1 connection," in page


def test_a_viewer_sees_no_create_button(browser: Browser, platform: Platform) -> None:
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    browser.sign_in("viewer@example.com", "viewer-password")
    assert "New connection" not in browser.get("/ui/").text
    editor = new_browser(browser.client)
    add_user(platform, "editor@example.com", "editor-password", policy.Role.EDITOR)
    editor.sign_in("editor@example.com", "editor-password")
    assert "New connection" in editor.get("/ui/").text


def test_the_chart_shows_a_run_as_soon_as_it_ended(admin: Browser, platform: Platform) -> None:
    conn = sample_connection(platform, "events")
    assert "(highest 0)" in admin.get("/ui/").text
    _run(platform, conn, "succeeded", 777, 1000, time.time() - 30, 20)
    assert "Rows moved per day, last 30 days (highest 777)" in admin.get("/ui/").text


def _route(p: Platform, ws: str, identifier: str, *, disabled: bool = False) -> str:
    from sluiceway.store.models import Configuration

    with p.db.claim() as s:
        c = Configuration(workspace_id=ws, type="route-configuration", identifier=identifier,
                          name=identifier.title(), prototype="route", disabled=disabled,
                          object={"prototype": "route", "parameters": {
                              "incoming": "shop-orders", "outgoing": "warehouse",
                              "transformers": []}}, revision="0" * 26)
        s.add(c)
        s.flush()
        return c.id


def test_routes_are_listed_with_their_last_and_next_run_failing_first(
        admin: Browser, platform: Platform) -> None:
    from sluiceway.services import auth
    from sluiceway.store.models import Attempt, Configuration, Job

    ws = next(iter(auth.caller_for(platform, "admin").workspace_ids))
    fine = _route(platform, ws, "fine")
    broken = _route(platform, ws, "broken")
    _route(platform, ws, "idle", disabled=True)
    now = time.time()
    with platform.db.claim() as s:
        for scope, stats in ((fine, {"read": 1234, "finished": 1234, "failed": 0}),
                             (broken, {"read": 10, "finished": 7, "failed": 3})):
            job = Job(workspace_id=ws, config_type="route", scope=scope, status="succeeded",
                      created_at=now - 100, updated_at=now - 40)
            s.add(job)
            s.flush()
            s.add(Attempt(job_id=job.id, number=1, status="succeeded", stats=stats,
                          created_at=now - 100, ended_at=now - 40))
        s.add(Configuration(workspace_id=ws, type="scheduler-entry", identifier="nightly",
                            name="Nightly", prototype="cron", revision="0" * 26,
                            object={"prototype": "cron", "parameters": {
                                "expression": "30 2 * * *", "timezone": "UTC",
                                "commands": [{"command": "route:run",
                                              "arguments": {"route": "fine"}}]}}))
    page = admin.get("/ui/").text
    section = page[page.index('id="routes"'):]
    names = re.findall(r'/ui/configurations/route-configuration/([a-z]+)"', section)
    assert names == ["broken", "fine", "idle"]
    rows = section.split("<tr")
    broken_row = next(r for r in rows if "/broken\"" in r)
    assert "/ui/tasks?route=broken&amp;status=failed" in broken_row
    fine_row = next(r for r in rows if "/fine\"" in r)
    assert "1,234" in fine_row
    assert "manual" not in fine_row  # its entry's next 02:30
    idle_row = next(r for r in rows if "/idle\"" in r)
    assert "disabled" in idle_row
    assert "never run" in idle_row
    assert "manual" in idle_row
    assert "manual" in broken_row


def test_an_empty_overview_says_the_next_step(admin: Browser, platform: Platform) -> None:
    from sluiceway.services import actors
    from sluiceway.services.auth import caller_for
    from tests.web.conftest import definition

    def said() -> str:
        page = admin.get("/ui/").text
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page[page.index("No connection"):]
                                          ))[:200]

    assert said().startswith("No connection yet. Add a source (where the tables come from)")
    admin_ = caller_for(platform, "admin")
    ws = next(iter(admin_.workspace_ids))
    actors.create(platform, admin_, "source", ws, definition(platform, "source", "sample"),
                  {"rows": 10}, "events")
    assert said().startswith("No connection yet. A source is there: add a destination")
    actors.create(platform, admin_, "destination", ws,
                  definition(platform, "destination", "duckdb"), {"path": "x.duckdb"}, "lake")
    assert said().startswith("No connection yet. A source and a destination are there: "
                             "create a connection between them.")
    assert 'href="/ui/connections/new">create a connection</a>' in admin.get("/ui/").text
    nothing = admin.get("/ui/?q=zzz").text
    assert "No connection matches “zzz”." in nothing

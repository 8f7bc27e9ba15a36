"""The UI in a real browser (headless Chromium against ``sluiceway serve``): a PostgreSQL
table into DuckDB from sign-in to the log, an export downloaded, a viewer's limits,
sign-out; every main page
passes axe-core with no serious or critical violation and has no horizontal scroll at
375 px. Screenshots of the main pages go to the test's temporary folder."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sluiceway.core.settings import Settings
from sluiceway.services import policy
from sluiceway.services.platform import open_platform
from tests.e2e.server import AUTH, Server
from tests.web.browser import fits, serious_violations
from tests.web.conftest import add_user

TIMEOUT = 60_000  # ms: a busy machine may be slow to run the sync
#: where to refresh the screenshots README shows (docs/ui), when set:
#: SLUICEWAY_README_SCREENSHOTS=docs/ui python -m pytest tests/web/test_browser.py
README_SHOTS = os.environ.get("SLUICEWAY_README_SCREENSHOTS")


def _readme_shot(page: Any, name: str) -> None:
    if README_SHOTS:
        Path(README_SHOTS).mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1280, "height": 720})
        page.screenshot(path=str(Path(README_SHOTS) / f"{name}.png"))


def _check(page: Any, name: str, shots: Path) -> None:
    """The page passes axe, fits 375 px, and is photographed."""
    assert serious_violations(page) == [], name
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    assert fits(page), f"{name} scrolls sideways at 375 px"
    page.set_viewport_size({"width": 1280, "height": 800})


def _sign_in(page: Any, base: str, login: str, password: str) -> None:
    page.goto(base + "/")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("h1:has-text('Connections')")


def _new_pg_source(page: Any, base: str, pg: dict[str, Any], name: str, database: str) -> str:
    page.goto(base + "/ui/sources/new")
    page.locator("li", has_text="(postgres)").locator("a").click()
    page.fill("#f-name", name)
    page.fill("#f-host", pg["host"])
    page.fill("#f-port", str(pg["port"]))
    page.fill("#f-database", database)
    page.fill("#f-username", pg["username"])
    page.fill("#f-password", "not-needed")
    page.select_option("#f-ssl-mode", "disable")
    page.click("button:has-text('Create source')")
    page.wait_for_url(re.compile(r".*/ui/sources/[0-9a-f-]{36}$"))
    return str(page.url.rsplit("/", 1)[1])


def test_a_table_from_postgresql_into_duckdb_in_the_browser(
        chrome: Any, tmp_path: Path, pg_database: dict[str, Any], pg_conn: Any) -> None:
    pg_conn.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, "
                    "updated_at timestamptz NOT NULL DEFAULT now())")
    pg_conn.execute("INSERT INTO customers (id, name) SELECT g, 'customer ' || g "
                    "FROM generate_series(1, 500) g")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    meta = f"sqlite:///{tmp_path / 'meta.db'}"
    server = Server(tmp_path, meta)
    base = f"http://127.0.0.1:{server.port}"
    try:
        page = chrome.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(base + "/")
        assert "/ui/login" in page.url
        _check(page, "sign-in", shots)
        _sign_in(page, base, *AUTH)
        _check(page, "overview-empty", shots)

        broken = _new_pg_source(page, base, pg_database, "broken", "no_such_db")
        page.click("button:has-text('Test')")
        assert 'database "no_such_db" does not exist' in page.inner_text("#check-result")
        source = _new_pg_source(page, base, pg_database, "crm", pg_database["database"])
        page.click("button:has-text('Test')")
        assert page.inner_text("#check-result").startswith("The test succeeded")
        _check(page, "source", shots)
        assert broken != source

        page.goto(base + "/ui/destinations/new")
        page.locator("li", has_text="(duckdb)").locator("a").click()
        page.fill("#f-name", "lake")
        page.fill("#f-path", "lake.duckdb")
        page.click("button:has-text('Create destination')")
        page.wait_for_url(re.compile(r".*/ui/destinations/[0-9a-f-]{36}$"))
        destination = page.url.rsplit("/", 1)[1]

        page.goto(base + "/ui/connections/new")
        page.select_option("#w-source", source)
        page.select_option("#w-destination", destination)
        page.click("button:has-text('Discover streams')")
        page.select_option("#s0-sync", "incremental")
        page.select_option("#s0-dest", "append_dedup")
        page.select_option("#s0-cursor", "updated_at")
        page.fill("#s0-pk", "id")
        page.fill("#w-name", "crm to lake")
        _check(page, "new-connection", shots)
        _readme_shot(page, "new-connection")
        page.click("button:has-text('Create connection')")  # "Sync now" is ticked
        page.wait_for_url(re.compile(r".*/ui/connections/[0-9a-f-]{36}$"))
        page.evaluate("window.stayed = true")  # gone if the page reloads
        _readme_shot(page, "connection")  # while the sync runs
        page.wait_for_selector("#job-status:has-text('succeeded')")
        assert page.evaluate("window.stayed === true")
        assert page.inner_text("#job-rows") == "500"
        _check(page, "connection", shots)
        connection = page.url
        page.click("main a:has-text('Log')")  # the header has Logs
        assert "succeeded: 500 records" in page.inner_text("pre.log")
        _check(page, "job-log", shots)
        page.goto(base + "/ui/")
        assert "crm to lake" in page.inner_text("table")
        _check(page, "overview", shots)
        _readme_shot(page, "overview")
        page.goto(base + "/ui/account")
        _check(page, "account", shots)

        page.goto(base + "/ui/exports")
        page.select_option("#x-source", source)
        page.fill("#x-stream", "customers")
        page.select_option("#x-format", "csv")
        page.click("button:has-text('Export')")
        link = page.wait_for_selector("a:has-text('customers.csv')")  # swapped in live
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / "customers.csv"
        download.value.save_as(saved)
        assert len(saved.read_text().strip().splitlines()) == 501
        _check(page, "exports", shots)

        settings = Settings(data_dir=tmp_path / "data", database_url=meta)
        p = open_platform(settings)
        try:
            add_user(p, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
        finally:
            p.close()
        viewer = chrome.new_page()
        viewer.set_default_timeout(TIMEOUT)
        _sign_in(viewer, base, "viewer@example.com", "viewer-password")
        assert viewer.locator("text=New connection").count() == 0
        viewer.goto(connection)
        assert viewer.locator("button:has-text('Sync now')").count() == 0
        token = viewer.locator("input[name=csrf]").first.get_attribute("value")
        forged = viewer.request.post(connection + "/sync", form={"csrf": token})
        assert forged.status == 403
        assert viewer.request.post(connection + "/sync", form={"csrf": "x"}).status == 403
        viewer.click("button:has-text('Sign out')")
        viewer.wait_for_url(re.compile(r".*/ui/login$"))
        viewer.goto(connection)
        assert "/ui/login" in viewer.url
    finally:
        server.stop()
    assert len(list(shots.glob("*.png"))) == 9

"""The connection page in a real browser while a sync runs: once the run ends, the job
history shows it too (not only the live block), without a reload; and at 375 px each
stacked value keeps its column's name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sluiceway.core.settings import Settings
from sluiceway.services import actors, auth, connections
from sluiceway.services.platform import open_platform
from tests.e2e.server import AUTH, Server
from tests.web.conftest import definition
from tests.web.test_browser import TIMEOUT, _sign_in


def _connection(settings: Settings) -> str:
    p = open_platform(settings)
    try:
        admin = auth.caller_for(p, "admin")
        ws = next(iter(admin.workspace_ids))
        src = actors.create(p, admin, "source", ws, definition(p, "source", "sample"),
                            {"rows": 300_000}, "events").id
        dst = actors.create(p, admin, "destination", ws,
                            definition(p, "destination", "duckdb"), {"path": "lake.duckdb"},
                            "lake").id
        return connections.create(p, admin, source_id=src, destination_id=dst,
                                  name="events to lake", sync_mode="full_refresh",
                                  streams=None, schedule=None, status="active").id
    finally:
        p.close()


def test_the_job_history_shows_the_run_once_it_ended(chrome: Any, tmp_path: Path) -> None:
    meta = f"sqlite:///{tmp_path / 'meta.db'}"
    server = Server(tmp_path, meta)
    try:
        conn = _connection(Settings(data_dir=tmp_path / "data", database_url=meta))
        base = f"http://127.0.0.1:{server.port}"
        page = chrome.new_page()
        page.set_default_timeout(TIMEOUT)
        _sign_in(page, base, *AUTH)
        page.goto(f"{base}/ui/connections/{conn}")
        page.click("button:has-text('Sync now')")
        page.wait_for_selector("#progress[data-live='true']")  # the run is shown live
        page.evaluate("window.stayed = true")  # gone if the page reloads
        history = "table caption:has-text('job') >> xpath=.. >> tbody tr >> nth=0"
        page.wait_for_selector(f"{history} >> .badge.succeeded", timeout=TIMEOUT)
        assert page.inner_text(f"{history} >> td[data-label='Rows']") == "300,000"
        assert page.evaluate("window.stayed === true")  # taken afresh, not reloaded
        page.set_viewport_size({"width": 375, "height": 800})
        shown = page.locator(f"{history} >> td[data-label='Rows']").evaluate(
            "td => getComputedStyle(td, '::before').content")
        assert shown == '"Rows: "', shown
    finally:
        server.stop()

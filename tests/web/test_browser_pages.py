"""The imports, dumps, backups (and a backup's file restored), configurations (list,
history, forms with a transformer's test cases, route editor and its test panel), tasks (and
a saved filter applied), storages, spaces, statistics, search, system administrators and
connection edit pages in a real browser: each, with rows in it, passes axe-core with no
serious or critical violation and has no horizontal scroll at 375 px (screenshots go to the
test's temporary folder); the processes page's bulk kill asks its question before it posts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

from sluiceway.core.settings import Settings
from sluiceway.services import (
    actors,
    auth,
    configuration_relations,
    configurations,
    connections,
    storages,
    table_filters,
)
from sluiceway.services.configurations import ConfigurationInput
from sluiceway.services.platform import open_platform
from sluiceway.store.models import Task
from tests.e2e.server import AUTH, Server
from tests.web.conftest import definition
from tests.web.test_browser import TIMEOUT, _check, _sign_in


def _seed(settings: Settings) -> tuple[str, str]:
    """A source, a destination (with a table, so that a backup completes), a connection
    between them, configurations (one with two revisions, a route), failed tasks and a
    storage with entities; the source's and the connection's ids."""
    p = open_platform(settings)
    try:
        admin = auth.caller_for(p, "admin")
        ws = next(iter(admin.workspace_ids))
        src = actors.create(p, admin, "source", ws, definition(p, "source", "sample"),
                            {"rows": 20}, "shop").id
        dst = actors.create(p, admin, "destination", ws,
                            definition(p, "destination", "duckdb"), {"path": "lake.duckdb"},
                            "lake").id
        lake = p.settings.allowed_roots[0] / "lake.duckdb"  # a table the backup holds
        lake.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(lake)) as db:
            db.execute("CREATE TABLE events AS SELECT 1 AS id, 'a' AS name")
        conn = connections.create(p, admin, source_id=src, destination_id=dst,
                                  name="shop to lake", sync_mode="full_refresh", streams=None,
                                  schedule=None, status="active").id
        rename = ConfigurationInput(type="transformer", identifier="rename-fields",
                                    name="Rename fields", labels=["nightly"], object={
                                        "prototype": "rename",
                                        "parameters": {"mapping": {"nm": "name"}}})
        configurations.create(p, admin, ws, rename)
        configurations.update(p, admin, ws, ConfigurationInput(
            type="transformer", identifier="rename-fields", object={
                "prototype": "rename", "parameters": {"mapping": {"nm": "full_name"}}}),
            full=False)
        configurations.create(p, admin, ws, ConfigurationInput(
            type="storage", identifier="seen", name="Seen products",
            object={"prototype": "storage", "parameters": {}}))
        for type_, ident, obj in (
                ("incoming-configuration", "orders-in", {"prototype": "sample", "parameters": {
                    "configuration": {"rows": 10}, "stream": "events"}}),
                ("outgoing-configuration", "orders-out", {"prototype": "duckdb", "parameters": {
                    "configuration": {"path": "orders.duckdb"}, "stream": "orders",
                    "key": ["id"]}}),
                ("route-configuration", "orders-route", {"prototype": "route", "parameters": {
                    "incoming": "orders-in", "outgoing": "orders-out",
                    "transformers": ["rename-fields"]}})):
            configurations.create(p, admin, ws, ConfigurationInput(
                type=type_, identifier=ident, name=ident.replace("-", " ").title(),
                object=obj))
        configuration_relations.create_relation(p, admin, ws, "rename-fields", ConfigurationInput(
            type="transformer-test", identifier="renames-nm", name="Renames nm", object={
                "prototype": "transformer-test",
                "parameters": {"entity": {"nm": "Ada"}, "expected": {"full_name": "Ada"}}}))
        table_filters.create(p, admin, table_filters.FilterInput(
            "ui/tasks", "Failed orders", {"status": "failed", "route": "orders"}))
        for i in range(3):
            storages.put_entity(p, admin, ws, "seen", f"product-with-a-long-key-{i}",
                                {"n": i, "text": "a value " * 40})
        with p.db.claim() as s:
            for i in range(3):
                s.add(Task(workspace_id=ws, route="orders", entity_type="product",
                           entity_identifier=f"sku-{i}", status="failed", entity={"i": i},
                           error="the price is missing " * 5, log=[], attempts=1))
        return src, conn
    finally:
        p.close()


def test_the_new_pages_pass_axe_and_fit_375_px(chrome: Any, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    meta = f"sqlite:///{tmp_path / 'meta.db'}"
    server = Server(tmp_path, meta)
    base = f"http://127.0.0.1:{server.port}"
    try:
        src, conn = _seed(Settings(data_dir=tmp_path / "data", database_url=meta))
        page = chrome.new_page()
        page.set_default_timeout(TIMEOUT)
        _sign_in(page, base, *AUTH)
        page.goto(base + "/ui/backups")
        page.fill("#b-description", "before the upgrade")
        page.click("button:has-text('Back up')")
        page.wait_for_selector("#backups[data-live=false] table")  # swapped in when done
        assert "before the upgrade" in page.inner_text("#backups")
        for name, path, heading in (
                ("imports", "/ui/imports", "Imports"),
                ("dumps", f"/ui/dumps?source={src}", "Dumps"),
                ("backups", "/ui/backups", "Backups"),
                ("configurations", "/ui/configurations", "Configurations"),
                ("history", "/ui/configurations/transformer/rename-fields/history",
                 "History"),
                ("tasks", "/ui/tasks", "Tasks"),
                ("storages", "/ui/storages", "Storages"),
                ("storage", "/ui/storages/seen", "Storage seen"),
                ("new configuration", "/ui/configurations/new?type=transformer&prototype=set",
                 "New transformer"),
                ("configuration form", "/ui/configurations/transformer/rename-fields",
                 "Rename fields"),
                ("route editor", "/ui/configurations/route-configuration/orders-route",
                 "Orders Route"),
                ("http-client form", "/ui/configurations/new?type=http-client",
                 "New http-client"),
                ("spaces", "/ui/spaces", "Spaces"),
                ("connection edit", f"/ui/connections/{conn}/edit", "Streams and schedule"),
                ("statistics", "/ui/statistics", "Statistics"),
                ("processes", "/ui/processes", "Processes"),
                ("logs", "/ui/logs", "Logs"),
                ("workers", "/ui/admin/workers", "Workers"),
                ("platform", "/ui/admin/platform", "Platform"),
                ("import configurations", "/ui/configurations/transfer",
                 "Import configurations"),
                ("search", "/ui/search?q=orders", "Search: orders"),
                ("system administrators", "/ui/admin/system-administrators",
                 "System administrators")):
            page.goto(base + path)
            assert page.inner_text("h1").startswith(heading), name
            _check(page, name, shots)
        # a oneOf's alternatives: the script shows the chosen one's inputs only
        page.goto(base + "/ui/configurations/new?type=http-client")
        assert not page.is_visible("#f-auth-1-username")
        page.select_option("#f-auth", "1")
        assert page.is_visible("#f-auth-1-username")
        assert not page.is_visible("#f-auth-2-token")
        # a backup's file restored into a folder from the restore form
        page.goto(base + "/ui/backups")
        page.click("#backups summary:has-text('Restore')")
        page.check("#backups input[name=path][value='config.json']")
        page.fill("#backups input[name=target_path]", "restored-from-backup")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#backups button:has-text('Restore')")
        page.wait_for_selector(
            "#backups[data-live=false] small:has-text('files into restored-from-backup')")
        assert "restore completed" in page.inner_text("#backups")
        _check(page, "backup files restored", shots)
        page.goto(base + "/ui/configurations/transformer/rename-fields/history")
        assert page.locator("table.diff tr.changed").count() == 1
        # the route editor's test panel, run in the browser
        page.goto(base + "/ui/configurations/route-configuration/orders-route")
        page.fill("#t-entity", '{"nm": "Ada"}')
        page.click("button:has-text('Run step by step')")
        page.wait_for_selector(".steps-run")
        assert '"full_name": "Ada"' in page.inner_text(".steps-run")
        _check(page, "route test panel", shots)
        # the panel runs the form as edited, unsaved: the step removed in the form is gone
        page.select_option("#f-transformers-0", "")
        page.click("button:has-text('Run step by step')")
        page.wait_for_selector("text=There are no steps to run.")
        assert page.input_value("#t-entity") == '{"nm": "Ada"}'
        page.goto(base + "/ui/configurations/route-configuration/orders-route")
        assert page.input_value("#f-transformers-0") == "rename-fields"  # not saved
        # run now: the processes page lists the run
        page.click("button:has-text('Run now')")
        page.wait_for_selector("p[role=status]:has-text('Route orders-route queued')")
        assert "route:run" in page.inner_text("table")
        _check(page, "processes after run now", shots)
        # every matching process ends once the box is ticked and the question accepted
        questions: list[str] = []
        page.check("#bulk input[name=confirm]")
        page.once("dialog", lambda dialog: (questions.append(dialog.message),
                                            dialog.accept()))
        page.click("#bulk button:has-text('Kill all matching')")
        # (the run may end on its own first: then none is left to kill)
        page.wait_for_selector("p[role=status]:has-text('Kill asked of')")
        assert questions == ["End every scheduled or running process of this space?"]
        if "Kill asked of 1 process." in page.inner_text("p[role=status]"):
            run = page.inner_text("table tbody tr:has-text('orders-route')")
            assert "killed" in run or "cancel-requested" in run, run
        # a saved filter applied from the tasks list, and the header's search box
        page.goto(base + "/ui/tasks")
        page.select_option("#sf-tasks", label="Failed orders")
        page.click(".saved-filters button:has-text('Apply')")
        page.wait_for_url(re.compile(r".*/ui/tasks\?status=failed&route=orders$"))
        assert page.input_value("#t-route") == "orders"
        _check(page, "tasks with a saved filter", shots)
        page.fill("#site-q", "rename")
        page.press("#site-q", "Enter")
        page.wait_for_selector("h1:has-text('Search: rename')")
        assert "Rename fields" in page.inner_text("#main")
        # a transformer's test cases run from its page
        page.goto(base + "/ui/configurations/transformer/rename-fields")
        page.click("button:has-text('Run the test cases')")
        page.wait_for_selector("caption:has-text('1 passed, 0 failed')")
        _check(page, "test cases run", shots)
    finally:
        server.stop()
    assert len(list(shots.glob("*.png"))) == 27

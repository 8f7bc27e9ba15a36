"""The statistics page: the space's tasks by status over the last 30 days, charts of tasks
made and failed per day (our own SVG) and the counts per route with their runs' log errors
and size; another space's tasks are not counted. A system administrator also sees the
installation's tasks per period and status (stacked bars) and every space's totals; no one
else does."""

from __future__ import annotations

import re
import time

from sluiceway.services import auth, policy, spaces
from sluiceway.services.platform import Platform
from sluiceway.store.models import Task
from tests.web.conftest import Browser, add_user, new_browser
from tests.web.test_processes import _route


def _tasks(p: Platform, workspace_id: str, route: str, status: str, n: int,
           age_days: float = 0.0) -> None:
    made = time.time() - age_days * 86_400
    with p.db.claim() as s:
        for i in range(n):
            s.add(Task(workspace_id=workspace_id, route=route, entity_type="order",
                       entity_identifier=f"{route}-{status}-{age_days}-{i}", status=status,
                       entity={"i": i}, log=[], attempts=1, created_at=made,
                       updated_at=made))


def test_statistics_count_the_spaces_tasks_by_status_day_and_route(
        admin: Browser, platform: Platform) -> None:
    caller = auth.caller_for(platform, "admin")
    ws = next(iter(caller.workspace_ids))
    other = spaces.create(platform, caller, spaces.SpaceInput("other", "Other", "prod")).id
    _tasks(platform, ws, "orders", "finished", 4)
    _tasks(platform, ws, "orders", "failed", 2, age_days=3)
    _tasks(platform, ws, "stock", "finished", 1, age_days=1)
    _tasks(platform, ws, "orders", "finished", 9, age_days=40)  # before the window
    _tasks(platform, other, "orders", "failed", 5)
    page = admin.get("/ui/statistics").text
    totals = re.search(r"<caption>Tasks by status</caption>.*?<tbody><tr>(.*?)</tr>", page,
                       re.S)
    assert totals is not None
    cells = re.findall(r"<td>([^<]*)</td>", totals.group(1))
    assert cells == ["0", "0", "0", "5", "2"]  # new, processing, skipped, finished, failed
    assert "Tasks made per day, last 30 days (highest 4)" in page
    assert "Failed tasks per day, last 30 days (highest 2)" in page
    assert page.split("<h2>Per route</h2>")[0].count("<rect ") == 60
    orders = page.split('route=orders">orders</a>', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r">([0-9,]+)</td>", orders) == ["0", "0", "0", "4", "2"]
    assert 'route=stock">stock</a>' in page


def _row(page: str, marker: str) -> list[str]:
    """The cells of the table row that holds ``marker``."""
    row = page.split(marker, 1)[1].split("</tr>", 1)[0]
    return re.findall(r"<td[^>]*>([^<]*)</td>", row)


def test_a_configured_route_shows_its_name_log_errors_and_size(admin: Browser,
                                                               platform: Platform) -> None:
    caller = auth.caller_for(platform, "admin")
    ws = next(iter(caller.workspace_ids))
    _route(platform)  # a configured route, orders-route
    page = admin.get("/ui/statistics").text
    cells = _row(page, 'route=orders-route">orders-route</a>')
    assert cells == ["0", "0", "0", "0", "0", "0", "0 B"]  # configured, no task yet
    _tasks(platform, ws, "orders-route", "failed", 3)
    _tasks(platform, ws, "gone", "finished", 1)  # tasks of a route no longer configured
    page = admin.get("/ui/statistics").text
    cells = _row(page, 'route=orders-route">orders-route</a>')
    assert cells[:6] == ["0", "0", "0", "0", "3", "0"]
    assert re.fullmatch(r"[0-9.]+ B", cells[6])
    assert cells[6] != "0 B"
    assert _row(page, 'route=gone">gone</a>') == ["0", "0", "0", "1", "0", "—", "—"]


def test_a_system_administrator_sees_every_space_and_the_series(admin: Browser,
                                                                platform: Platform) -> None:
    caller = auth.caller_for(platform, "admin")
    ws = next(iter(caller.workspace_ids))
    other = spaces.create(platform, caller, spaces.SpaceInput("other", "Other", "prod")).id
    _tasks(platform, ws, "orders", "finished", 4)
    _tasks(platform, other, "orders", "failed", 5)
    _tasks(platform, other, "orders", "skipped", 2, age_days=2)
    _tasks(platform, other, "orders", "failed", 7, age_days=60)  # outside 30 days
    page = admin.get("/ui/statistics").text
    every = page.split('id="installation-h"', 1)[1]
    assert "Tasks of every space per day by status" in every
    assert "(highest 9)" in every  # today: 4 finished + 5 failed
    rects = re.findall(r'<rect [^>]*class="k-([a-z]+)"><title>([^<]*)</title>', every)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert ("finished", f"{today}, finished: 4") in rects
    assert ("failed", f"{today}, failed: 5") in rects
    assert len(rects) == 3
    assert _row(every, ">Other <small>other</small>") == ["0", "0", "2", "0", "5"]
    assert _row(every, "<small>default</small>") == ["0", "0", "0", "4", "0"]
    monthly = admin.get("/ui/statistics?aggregation=monthly").text
    assert "Tasks of every space per month by status" in monthly
    table = monthly.split("<caption>Tasks of every space per period</caption>", 1)[1]
    assert sum(int(n) for n in re.findall(r"<td>([0-9]+)</td>", table.split("</table>")[0])) \
        == 4 + 5 + 2 + 7
    assert "per year" in admin.get("/ui/statistics?aggregation=yearly").text
    bad = admin.get("/ui/statistics?aggregation=hourly", 422).text
    assert "aggregation: must be one of daily, weekly, monthly, yearly" in bad


def test_the_installation_is_shown_to_system_administrators_only(
        admin: Browser, platform: Platform) -> None:
    caller = auth.caller_for(platform, "admin")
    ws = next(iter(caller.workspace_ids))
    other = spaces.create(platform, caller, spaces.SpaceInput("other", "Other", "prod")).id
    _tasks(platform, ws, "orders", "finished", 1)
    _tasks(platform, other, "orders", "failed", 5)
    add_user(platform, "boss@example.com", "boss-password-1", policy.Role.ADMINISTRATOR)
    boss = new_browser(admin.client)
    boss.sign_in("boss@example.com", "boss-password-1")
    page = boss.get("/ui/statistics").text
    assert "Every space" not in page
    assert "Other" not in page
    assert "class=\"k-" not in page
    assert "aggregation" not in boss.get("/ui/statistics?aggregation=hourly").text

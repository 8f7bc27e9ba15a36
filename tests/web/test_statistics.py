"""The statistics page: the space's tasks by status over the last 30 days, charts of tasks
made and failed per day (our own SVG) and the counts per route; another space's tasks are
not counted."""

from __future__ import annotations

import re
import time

from sluiceway.services import auth, spaces
from sluiceway.services.platform import Platform
from sluiceway.store.models import Task
from tests.web.conftest import Browser


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
    assert page.count("<rect ") == 60
    orders = page.split('route=orders">orders</a>', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r">([0-9,]+)</td>", orders) == ["0", "0", "0", "4", "2"]
    assert 'route=stock">stock</a>' in page

"""Alumio tasks in the UI: the table filtered on the server, bulk skip and resolve of the
tasks ticked or of every task the filter matches; a retry of a route that does not exist
changes nothing; a viewer has no bulk form and the server refuses their post."""

from __future__ import annotations

import re

from sluiceway.services import auth, policy
from sluiceway.services.platform import Platform
from sluiceway.store.models import Task
from tests.web.conftest import Browser, add_user, new_browser


def _tasks(p: Platform) -> dict[str, int]:
    """Failed tasks of two routes: ``orders`` has sku-1 .. sku-3, ``stock`` has sku-9."""
    ws = next(iter(auth.caller_for(p, "admin").workspace_ids))
    made = {}
    with p.db.claim() as s:
        for route, key in (("orders", "sku-1"), ("orders", "sku-2"), ("orders", "sku-3"),
                           ("stock", "sku-9")):
            t = Task(workspace_id=ws, route=route, entity_type="product",
                     entity_identifier=key, status="failed", entity={"sku": key},
                     error=f"{key} has no price", log=[], attempts=1)
            s.add(t)
            s.flush()
            made[key] = t.id
    return made


def _statuses(p: Platform) -> dict[str, str]:
    with p.db.session() as s:
        return {str(t.entity_identifier): t.status for t in s.query(Task)}


def _listed(html: str) -> list[str]:
    return re.findall(r"<code>(sku-\d)</code>", html)


def test_filters_and_bulk_actions(admin: Browser, platform: Platform) -> None:
    ids = _tasks(platform)
    assert sorted(_listed(admin.get("/ui/tasks").text)) == ["sku-1", "sku-2", "sku-3", "sku-9"]
    assert _listed(admin.get("/ui/tasks?route=stock").text) == ["sku-9"]
    assert sorted(_listed(admin.get("/ui/tasks?route=orders&entity=2").text)) == ["sku-2"]
    assert "sku-2 has no price" in admin.get("/ui/tasks?status=failed").text
    bad = admin.get("/ui/tasks?status=exploded", 422).text
    assert "status: one of new" in bad
    r = admin.post("/ui/tasks/bulk", {"action": "skip", "scope": "ticked",
                                      "task": [str(ids["sku-1"]), str(ids["sku-3"])]},
                   csrf_from="/ui/tasks")
    assert _statuses(platform) == {"sku-1": "skipped", "sku-2": "failed", "sku-3": "skipped",
                                   "sku-9": "failed"}
    assert "2 tasks set to skip." in admin.get(r.headers["location"]).text
    admin.post("/ui/tasks/bulk", {"action": "resolve", "scope": "matching", "route": "orders",
                                  "status": "failed"}, csrf_from="/ui/tasks")
    assert _statuses(platform)["sku-2"] == "resolved"
    assert _statuses(platform)["sku-9"] == "failed"
    page = admin.post("/ui/tasks/bulk", {"action": "retry", "scope": "ticked",
                                         "task": str(ids["sku-9"])}, 404,
                      csrf_from="/ui/tasks").text
    assert "stock" in page
    assert _statuses(platform)["sku-9"] == "failed"
    none = admin.post("/ui/tasks/bulk", {"action": "skip", "scope": "ticked"}, 422,
                      csrf_from="/ui/tasks").text
    assert "tick at least one task" in none


def test_a_viewer_sees_the_table_without_the_bulk_form(admin: Browser,
                                                      platform: Platform) -> None:
    ids = _tasks(platform)
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    page = viewer.get("/ui/tasks").text
    assert len(_listed(page)) == 4
    assert "/ui/tasks/bulk" not in page
    viewer.post("/ui/tasks/bulk", {"action": "skip", "task": str(ids["sku-1"])}, 403)
    assert _statuses(platform)["sku-1"] == "failed"

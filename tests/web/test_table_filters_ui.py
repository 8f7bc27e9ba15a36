"""Saved filters of the configurations, tasks, logs and processes lists: saved from a list's
filter with a name, applied from the list's choice (the list opens with the filter's fields),
deleted; each user's own (another user's is neither offered nor applied), refused with the
field when the name is missing, and a filter saved for another table is not offered."""

from __future__ import annotations

import re

from sluiceway.services import auth, criteria, policy, table_filters
from sluiceway.services.platform import Platform
from tests.web.conftest import Browser, add_user, csrf_of, new_browser


def _mine(p: Platform, login: str) -> dict[str, tuple[str, dict[str, object]]]:
    found, _ = table_filters.list_own(p, auth.caller_for(p, login), criteria.Criteria())
    return {f.name: (f.table_key, f.filter) for f in found}


def _options(html: str) -> dict[str, str]:
    block = html.split('action="/ui/filters/apply"', 1)
    if len(block) == 1:
        return {}
    return {name: value for value, name in re.findall(
        r'<option value="([^"]+)">([^<]+)</option>', block[1].split("</select>", 1)[0])}


def test_save_apply_and_delete_a_filter_of_each_list(admin: Browser,
                                                    platform: Platform) -> None:
    listed = admin.get("/ui/tasks").text
    assert "None saved yet" in listed
    assert 'action="/ui/filters"' not in listed  # no filter shown: nothing to save
    page = "/ui/tasks?status=failed&route=orders&entity="
    shown = admin.get(page).text
    assert 'name="f.status" value="failed"' in shown
    r = admin.post("/ui/filters", {"table": "tasks", "name": "Failed orders",
                                   "f.status": "failed", "f.route": "orders",
                                   "f.entity": ""}, csrf_from=page)
    assert r.headers["location"] == "/ui/tasks?status=failed&route=orders"
    for table, fields, url in (
            ("configurations", {"f.q": "rename", "f.favourites": "1"},
             "/ui/configurations?q=rename&favourites=1"),
            ("logs", {"f.q": "level:error", "f.start": "2030-01-01"},
             "/ui/logs?q=level%3Aerror&start=2030-01-01"),
            ("processes", {"f.status": "running"}, "/ui/processes?status=running")):
        r = admin.post("/ui/filters", {"table": table, "name": f"My {table}", **fields},
                       csrf_from=url)
        assert r.headers["location"] == url
    assert _mine(platform, "admin") == {
        "Failed orders": ("ui/tasks", {"status": "failed", "route": "orders"}),
        "My configurations": ("ui/configurations", {"q": "rename", "favourites": "1"}),
        "My logs": ("ui/logs", {"q": "level:error", "start": "2030-01-01"}),
        "My processes": ("ui/processes", {"status": "running"})}
    # each list offers its own saved filters only; applying one opens the list with it
    tasks = admin.get("/ui/tasks").text
    offered = _options(tasks)
    assert list(offered) == ["Failed orders"]
    r = admin.post("/ui/filters/apply", {"id": offered["Failed orders"]}, csrf_from="/ui/tasks")
    assert r.headers["location"] == "/ui/tasks?status=failed&route=orders"
    assert 'id="t-route" name="route" value="orders"' in admin.get(r.headers["location"]).text
    procs = _options(admin.get("/ui/processes").text)
    assert list(procs) == ["My processes"]
    r = admin.post("/ui/filters/apply", {"id": procs["My processes"]},
                   csrf_from="/ui/processes")
    assert r.headers["location"] == "/ui/processes?status=running"
    assert list(_options(admin.get("/ui/logs").text)) == ["My logs"]
    assert list(_options(admin.get("/ui/configurations").text)) == ["My configurations"]
    r = admin.post("/ui/filters/delete", {"id": offered["Failed orders"]},
                   csrf_from="/ui/tasks")
    assert r.headers["location"] == "/ui/tasks"
    assert "Failed orders" not in _mine(platform, "admin")
    assert _options(admin.get("/ui/tasks").text) == {}


def test_bad_input_is_refused_with_the_field_and_saves_nothing(admin: Browser,
                                                              platform: Platform) -> None:
    r = admin.post("/ui/filters", {"table": "tasks", "name": " ", "f.status": "failed"}, 422)
    assert "name" in r.text
    assert "must be 1 to 255 characters" in r.text
    r = admin.post("/ui/filters", {"table": "users", "name": "x"}, 422)
    assert "table" in r.text
    assert "must be one of configurations, tasks, logs, processes" in r.text
    admin.post("/ui/filters/apply", {"id": "no-such-filter"}, 404)
    assert _mine(platform, "admin") == {}
    # a filter saved for another table (through the API) is not offered nor applied
    other = table_filters.create(platform, auth.caller_for(platform, "admin"),
                                 table_filters.FilterInput("routes", "API one", {"q": "x"}))
    assert "API one" not in admin.get("/ui/tasks").text
    r = admin.post("/ui/filters/apply", {"id": other.id}, 404)
    assert "has no page here" in r.text
    admin.post("/ui/filters/delete", {"id": other.id}, 404)
    assert "API one" in _mine(platform, "admin")


def test_a_filter_is_its_users_own(admin: Browser, platform: Platform) -> None:
    admin.post("/ui/filters", {"table": "processes", "name": "Admin running",
                               "f.status": "running"}, csrf_from="/ui/processes")
    theirs = _options(admin.get("/ui/processes").text)["Admin running"]
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    page = viewer.get("/ui/processes?status=failed").text
    assert "Admin running" not in page
    token = csrf_of(page)
    viewer.post("/ui/filters/apply", {"csrf": token, "id": theirs}, 404)
    viewer.post("/ui/filters/delete", {"csrf": token, "id": theirs}, 404)
    assert "Admin running" in _mine(platform, "admin")
    # a viewer saves filters of their own (it changes only their own view)
    viewer.post("/ui/filters", {"csrf": token, "table": "processes", "name": "Failed",
                                "f.status": "failed"})
    assert _mine(platform, "viewer@example.com") == {
        "Failed": ("ui/processes", {"status": "failed"})}
    assert list(_options(admin.get("/ui/processes").text)) == ["Admin running"]

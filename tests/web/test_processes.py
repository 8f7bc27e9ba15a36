"""Routes run from the UI and the space's processes: "Run now" on a route's page queues the
queue's ``route:run``; the processes page lists the runs with Stop and Kill; a configuration's
page shows what it uses and what uses it, enables and disables it, and refuses to delete one
that another names (the error names the dependant). A viewer sees none of the buttons and the
server refuses their posts."""

from __future__ import annotations

import re

from sluiceway.services import auth, configurations, criteria, policy, routes
from sluiceway.services.platform import Platform
from tests.web.conftest import Browser, add_user, new_browser
from tests.web.test_configuration_edit import _make, _route_parts, _space

ROUTE = "/ui/configurations/route-configuration/orders-route"
PART = "/ui/configurations/transformer/add-source"


def _route(p: Platform) -> None:
    _route_parts(p)
    _make(p, "route-configuration", "orders-route", {"prototype": "route", "parameters": {
        "incoming": "orders-in", "outgoing": "orders-out",
        "transformers": ["add-source", "rename-id"]}})


def _processes(p: Platform) -> list[routes.ProcessView]:
    rows, _ = routes.list_processes(p, auth.caller_for(p, "admin"), _space(p),
                                    criteria.Criteria())
    return rows


def test_run_now_queues_the_route_and_the_processes_page_kills_it(
        admin: Browser, platform: Platform) -> None:
    _route(platform)
    page = admin.get(ROUTE).text
    assert f'action="{ROUTE}/run"' in page
    r = admin.post(f"{ROUTE}/run", {}, csrf_from=ROUTE)
    assert r.headers["location"] == "/ui/processes?started=orders-route"
    (process,) = _processes(platform)
    assert (process.command, process.arguments["route"]) == ("route:run", "orders-route")
    listed = admin.get(r.headers["location"]).text
    assert "Route orders-route queued." in listed
    assert f'action="/ui/processes/{process.identifier}/end"' in listed
    assert "scheduled" in listed
    admin.post(f"/ui/processes/{process.identifier}/end", {"how": "kill"},
               csrf_from="/ui/processes")
    (after,) = _processes(platform)
    assert after.status == "killed"
    listed = admin.get("/ui/processes?status=killed").text
    assert "/end" not in listed  # an ended process has no button
    assert "No process is running" in admin.get("/ui/processes?status=running").text
    assert "status: must be one of" in admin.get("/ui/processes?status=bogus", 422).text
    admin.post(f"/ui/processes/{process.identifier}/end", {"how": "nuke"}, 422,
               csrf_from="/ui/processes")
    admin.get("/ui/processes/999999/end", 405)
    admin.post("/ui/processes/999999/end", {"how": "stop"}, 404, csrf_from="/ui/processes")


def test_stop_asks_a_graceful_end(admin: Browser, platform: Platform) -> None:
    _route(platform)
    admin.post(f"{ROUTE}/run", {}, csrf_from=ROUTE)
    (process,) = _processes(platform)
    admin.post(f"/ui/processes/{process.identifier}/end", {"how": "stop"},
               csrf_from="/ui/processes")
    (after,) = _processes(platform)
    assert after.status == "stopped"


def test_a_disabled_route_does_not_run_and_dependencies_are_listed(
        admin: Browser, platform: Platform) -> None:
    _route(platform)
    page = admin.get(ROUTE).text
    uses = page.split('id="uses-h"')[1].split("</section>")[0]
    assert "transformer/add-source" in uses
    assert "incoming-configuration/orders-in" in uses
    used = admin.get(PART).text.split('id="used-h"')[1].split("</section>")[0]
    assert "route-configuration/orders-route" in used
    assert f'action="{PART}/run"' not in admin.get(PART).text  # only a route runs
    admin.post(f"{ROUTE}/status", {"disabled": "1"}, csrf_from=ROUTE)
    view = configurations.get(platform, auth.caller_for(platform, "admin"), _space(platform),
                              "route-configuration", "orders-route")
    assert view.disabled
    page = admin.get(ROUTE).text
    assert "/run" not in page
    assert ">Enable<" in page
    assert "is disabled" in admin.post(f"{ROUTE}/run", {}, 422, csrf_from=ROUTE).text
    assert _processes(platform) == []
    admin.post(f"{ROUTE}/status", {"disabled": "maybe"}, 422, csrf_from=ROUTE)
    admin.post(f"{ROUTE}/status", {"disabled": "0"}, csrf_from=ROUTE)
    assert not configurations.get(platform, auth.caller_for(platform, "admin"),
                                  _space(platform), "route-configuration",
                                  "orders-route").disabled


def test_delete_is_refused_while_another_names_it(admin: Browser, platform: Platform) -> None:
    _route(platform)
    refused = admin.post(f"{PART}/delete", {}, 409, csrf_from=PART).text
    assert "route-configuration/orders-route" in refused
    assert 'role="alert"' in refused
    assert configurations.get(platform, auth.caller_for(platform, "admin"), _space(platform),
                              "transformer", "add-source")
    r = admin.post(f"{ROUTE}/delete", {}, csrf_from=ROUTE)
    assert r.headers["location"] == "/ui/configurations"
    admin.get(ROUTE, 404)
    admin.post(f"{PART}/delete", {}, csrf_from=PART)
    admin.get(PART, 404)


def test_a_viewer_sees_no_button_and_is_refused(admin: Browser, platform: Platform) -> None:
    _route(platform)
    admin.post(f"{ROUTE}/run", {}, csrf_from=ROUTE)
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    page = viewer.get(ROUTE).text
    for action in ("/run", "/status", "/delete"):
        assert f'{ROUTE}{action}"' not in page
    assert "What it uses" in page
    (process,) = _processes(platform)
    listed = viewer.get("/ui/processes").text
    assert re.search(r"route:run", listed)
    assert "/end" not in listed
    viewer.post(f"{ROUTE}/run", {}, 403, csrf_from="/ui/processes")
    viewer.post(f"{ROUTE}/status", {"disabled": "1"}, 403, csrf_from="/ui/processes")
    viewer.post(f"{ROUTE}/delete", {}, 403, csrf_from="/ui/processes")
    viewer.post(f"/ui/processes/{process.identifier}/end", {"how": "kill"}, 403,
                csrf_from="/ui/processes")
    assert len(_processes(platform)) == 1
    assert _processes(platform)[0].status == "scheduled"
    admin.post(f"{ROUTE}/run", {"csrf": "forged"}, 403)
    assert len(_processes(platform)) == 1


def test_every_matching_process_ends_once_confirmed(admin: Browser,
                                                    platform: Platform) -> None:
    _route(platform)
    for _ in range(3):
        admin.post(f"{ROUTE}/run", {}, csrf_from=ROUTE)
    first, *rest = sorted(_processes(platform), key=lambda v: v.identifier)
    admin.post(f"/ui/processes/{first.identifier}/end", {"how": "stop"},
               csrf_from="/ui/processes")
    page = admin.get("/ui/processes?status=scheduled").text
    assert 'action="/ui/processes/bulk"' in page
    assert 'name="status" value="scheduled"' in page
    refused = admin.post("/ui/processes/bulk", {"how": "kill", "status": "scheduled"}, 422,
                         csrf_from="/ui/processes").text
    assert "confirm: tick the box" in refused
    assert [v.status for v in _processes(platform)].count("scheduled") == 2
    assert "how: must be one of stop, kill, skip" in admin.post(
        "/ui/processes/bulk", {"how": "nuke", "confirm": "yes"}, 422,
        csrf_from="/ui/processes").text
    assert "status: must be one of" in admin.post(
        "/ui/processes/bulk", {"how": "kill", "status": "bogus", "confirm": "yes"}, 422,
        csrf_from="/ui/processes").text
    # the filter is obeyed: nothing is running, so nothing ends
    r = admin.post("/ui/processes/bulk", {"how": "kill", "status": "running",
                                          "confirm": "yes"}, csrf_from="/ui/processes")
    assert r.headers["location"] == "/ui/processes?status=running&bulk=kill&count=0"
    assert [v.status for v in _processes(platform)].count("scheduled") == 2
    r = admin.post("/ui/processes/bulk", {"how": "kill", "status": "scheduled",
                                          "confirm": "yes"}, csrf_from="/ui/processes")
    assert "Kill asked of 2 processes." in admin.get(r.headers["location"]).text
    after = {v.identifier: v.status for v in _processes(platform)}
    assert after == {first.identifier: "stopped",
                     **{v.identifier: "killed" for v in rest}}


def test_skip_all_matching_takes_the_queued_processes(admin: Browser,
                                                      platform: Platform) -> None:
    _route(platform)
    for _ in range(2):
        admin.post(f"{ROUTE}/run", {}, csrf_from=ROUTE)
    r = admin.post("/ui/processes/bulk", {"how": "skip", "status": "", "confirm": "yes"},
                   csrf_from="/ui/processes")
    assert "Skip asked of 2 processes." in admin.get(r.headers["location"]).text
    assert all(v.status != "scheduled" for v in _processes(platform))


def test_a_viewer_has_no_bulk_form_and_is_refused(admin: Browser, platform: Platform) -> None:
    _route(platform)
    admin.post(f"{ROUTE}/run", {}, csrf_from=ROUTE)
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    listed = viewer.get("/ui/processes").text
    assert "route:run" in listed
    assert "/ui/processes/bulk" not in listed
    viewer.post("/ui/processes/bulk", {"how": "kill", "confirm": "yes"}, 403,
                csrf_from="/ui/processes")
    admin.post("/ui/processes/bulk", {"how": "kill", "confirm": "yes", "csrf": "forged"}, 403)
    assert [v.status for v in _processes(platform)] == ["scheduled"]

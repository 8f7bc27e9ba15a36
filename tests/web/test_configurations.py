"""Alumio configurations in the UI: search, labels and favourites from the list (filtered
on the server, however many configurations there are); a configuration's history, a
side-by-side diff of two revisions, and restore; a viewer may make favourites but has no
label or restore form, and the server refuses them."""

from __future__ import annotations

import json
import re

from sluiceway.services import auth, configuration_history, configurations, criteria, policy
from sluiceway.services.configurations import ConfigurationInput
from sluiceway.services.platform import Platform
from sluiceway.web.diff import side_by_side
from tests.services.test_configuration_listing import seed
from tests.web.conftest import Browser, add_user, new_browser

HISTORY = "/ui/configurations/transformer/rename-fields/history"


def _rename(p: Platform, mapping: dict[str, str], *, update: bool = False) -> str:
    admin = auth.caller_for(p, "admin")
    ws = next(iter(admin.workspace_ids))
    given = ConfigurationInput(type="transformer", identifier="rename-fields",
                               name="Rename fields", object={"prototype": "rename",
                                                             "parameters": {"mapping": mapping}})
    if update:
        configurations.update(p, admin, ws, given, full=False)
    else:
        configurations.create(p, admin, ws, given)
        configurations.create(p, admin, ws, ConfigurationInput(
            type="transformer", identifier="drop-nothing", name="Copy as it is",
            object={"prototype": "rename", "parameters": {"mapping": {"x": "x"}}}))
    return ws


def _rows(html: str) -> list[str]:
    return re.findall(r'/history">([^<]+)</a>', html)


def test_search_labels_and_favourites_filter_the_list(admin: Browser,
                                                     platform: Platform) -> None:
    _rename(platform, {"nm": "name"})
    assert _rows(admin.get("/ui/configurations").text) == ["Copy as it is", "Rename fields"]
    assert _rows(admin.get("/ui/configurations?q=renam").text) == ["Rename fields"]
    assert _rows(admin.get("/ui/configurations?type=transformer&q=zzz").text) == []
    back = "/ui/configurations?q=copy"
    r = admin.post("/ui/configurations/transformer/rename-fields/labels",
                   {"labels": "nightly, orders", "back": back}, csrf_from="/ui/configurations")
    assert r.headers["location"] == back
    assert _rows(admin.get("/ui/configurations?label=orders").text) == ["Rename fields"]
    admin.post("/ui/configurations/transformer/drop-nothing/favourite",
               {"back": "https://elsewhere.example/"}, csrf_from="/ui/configurations")
    listed = admin.get("/ui/configurations?favourites=1").text
    assert _rows(listed) == ["Copy as it is"]
    assert 'aria-pressed="true"' in listed


def test_labels_and_favourites_filter_every_page_on_the_server(admin: Browser,
                                                              platform: Platform) -> None:
    caller = auth.caller_for(platform, "admin")
    seed(platform, next(iter(caller.workspace_ids)), caller.user_id)  # 1,060 rows
    first = admin.get("/ui/configurations?label=late").text
    assert "<caption>60 configurations</caption>" in first
    assert _rows(first) == [f"Conf {i:04d}" for i in range(1000, 1050)]
    assert "Page 1 of 2" in first
    second = admin.get("/ui/configurations?label=late&p=2").text
    assert _rows(second) == [f"Conf {i:04d}" for i in range(1050, 1060)]
    favourites = admin.get("/ui/configurations?favourites=1&label=late").text
    assert "<caption>20 configurations</caption>" in favourites
    assert _rows(favourites) == [f"Conf {i:04d}" for i in range(1000, 1060, 3)]
    both = admin.get("/ui/configurations?favourites=1&label=tenth&q=conf+10").text
    assert _rows(both) == ["Conf 1000", "Conf 1030"]
    # the download of "these" takes the same matches
    exported = admin.get("/ui/configurations/export?label=late&favourites=1").text
    assert [json.loads(line)["identifier"] for line in exported.splitlines()] == [
        f"c-{i:04d}" for i in range(1000, 1060, 3)]


def test_history_diffs_two_revisions_and_restores_one(admin: Browser,
                                                     platform: Platform) -> None:
    ws = _rename(platform, {"nm": "name"})
    _rename(platform, {"nm": "full_name"}, update=True)
    page = admin.get(HISTORY).text
    assert "2 revisions" in page
    changed = re.findall(r'<tr class="changed">(.*?)</tr>', page, re.S)
    assert len(changed) == 1, changed
    assert '<code>        &#34;nm&#34;: &#34;name&#34;</code>' in changed[0]
    assert '<code>        &#34;nm&#34;: &#34;full_name&#34;</code>' in changed[0]
    admin_caller = auth.caller_for(platform, "admin")
    revisions, _ = configuration_history.history(platform, admin_caller, ws, "transformer",
                                                 "rename-fields", criteria.Criteria())
    newest, first = revisions
    same = admin.get(f"{HISTORY}?a={first.ulid}&b={first.ulid}").text
    assert "These two revisions hold the same state." in same
    admin.get(f"{HISTORY}?a=nope", 422)
    admin.post("/ui/configurations/transformer/rename-fields/restore",
               {"revision": first.ulid}, csrf_from=HISTORY)
    now = configurations.get(platform, admin_caller, ws, "transformer", "rename-fields")
    assert now.object["parameters"]["mapping"] == {"nm": "name"}
    assert "3 revisions" in admin.get(HISTORY).text


def test_a_viewer_may_favour_but_not_label_or_restore(admin: Browser,
                                                     platform: Platform) -> None:
    ws = _rename(platform, {"nm": "name"})
    _rename(platform, {"nm": "other"}, update=True)
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    listed = viewer.get("/ui/configurations").text
    assert "/labels" not in listed
    assert "/favourite" in listed
    assert "/restore" not in viewer.get(HISTORY).text
    viewer.post("/ui/configurations/transformer/rename-fields/favourite", {},
                csrf_from="/ui/configurations")
    viewer.post("/ui/configurations/transformer/rename-fields/labels", {"labels": "x"}, 403,
                csrf_from="/ui/configurations")
    first = configuration_history.history(platform, auth.caller_for(platform, "admin"), ws,
                                          "transformer", "rename-fields",
                                          criteria.Criteria())[0][-1]
    viewer.post("/ui/configurations/transformer/rename-fields/restore",
                {"revision": first.ulid}, 403, csrf_from=HISTORY)
    shown = configurations.get(platform, auth.caller_for(platform, "admin"), ws,
                               "transformer", "rename-fields")
    assert (shown.labels, shown.object["parameters"]["mapping"]) == ((), {"nm": "other"})


def test_the_side_by_side_diff_pairs_changed_lines_and_keeps_the_rest() -> None:
    rows = side_by_side("a\nb\nc\nd", "a\nB\nc\nd\ne")
    assert [(r.kind, r.left_no, r.right_no) for r in rows] == [
        ("same", 1, 1), ("changed", 2, 2), ("same", 3, 3), ("same", 4, 4), ("added", None, 5)]
    assert [r.kind for r in side_by_side("a\nb", "a")] == ["same", "removed"]

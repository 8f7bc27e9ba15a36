"""A transformer's test cases (its ``transformer-test`` relations) on its page: listed, added
(an entity and what it must give back, or the reason to skip it) and deleted by an editor; a
viewer sees the list without the forms, and the server refuses a viewer's posts."""

from __future__ import annotations

import re

from sluiceway.services import auth, configuration_relations, configurations, criteria, policy
from sluiceway.services.configurations import ConfigurationInput
from sluiceway.services.platform import Platform
from tests.web.conftest import Browser, add_user, csrf_of, new_browser

PAGE = "/ui/configurations/transformer/rename-fields"
ADD = PAGE + "/relations/transformer-test"


def _transformer(p: Platform) -> str:
    admin = auth.caller_for(p, "admin")
    ws = next(iter(admin.workspace_ids))
    configurations.create(p, admin, ws, ConfigurationInput(
        type="transformer", identifier="rename-fields", name="Rename fields",
        object={"prototype": "rename", "parameters": {"mapping": {"nm": "name"}}}))
    return ws


def _cases(p: Platform, ws: str) -> dict[str, dict[str, object]]:
    admin = auth.caller_for(p, "admin")
    views, _ = configuration_relations.list_relations(
        p, admin, ws, "transformer-test", "rename-fields", criteria.Criteria())
    return {v.identifier: v.object["parameters"] for v in views}


def test_an_editor_adds_and_deletes_test_cases(admin: Browser, platform: Platform) -> None:
    ws = _transformer(platform)
    assert "No test case yet." in admin.get(PAGE).text
    r = admin.post(ADD, {"name": "Renames nm", "identifier": "renames-nm",
                         "entity": '{"nm": "Ada"}', "expected": '{"name": "Ada"}'},
                   csrf_from=PAGE)
    assert r.headers["location"] == PAGE + "#cases"
    admin.post(ADD, {"name": "Skips the empty", "identifier": "",
                     "entity": "{}", "skipped": "nothing to rename"}, csrf_from=PAGE)
    cases = _cases(platform, ws)
    assert cases["renames-nm"] == {"entity": {"nm": "Ada"}, "expected": {"name": "Ada"}}
    made = next(k for k in cases if k != "renames-nm")  # its identifier made from the name
    assert cases[made] == {"entity": {}, "skipped": "nothing to rename"}
    page = admin.get(PAGE).text
    assert "2 test cases" in page
    assert "Renames nm" in page
    assert "skipped: nothing to rename" in page
    assert f"/relations/transformer-test/{made}/delete" in page
    # the test cases are the transformer's: they are found as its relations only
    assert configurations.get(platform, auth.caller_for(platform, "admin"), ws,
                              "transformer-test", "renames-nm").owner == "rename-fields"
    admin.post(f"{ADD}/renames-nm/delete", {}, csrf_from=PAGE)
    assert set(_cases(platform, ws)) == {made}
    assert "Renames nm" not in admin.get(PAGE).text


def test_the_test_cases_run_and_show_which_passed(admin: Browser, platform: Platform) -> None:
    _transformer(platform)
    admin.post(ADD, {"name": "Renames nm", "identifier": "renames-nm",
                     "entity": '{"nm": "Ada"}', "expected": '{"name": "Ada"}'}, csrf_from=PAGE)
    admin.post(ADD, {"name": "Wrong on purpose", "identifier": "wrong",
                     "entity": '{"nm": "Bo"}', "expected": '{"nm": "Bo"}'}, csrf_from=PAGE)
    assert "Run the test cases" in admin.get(PAGE).text
    page = admin.post(ADD + "/run", {}, 200, csrf_from=PAGE).text
    assert "2 test cases: 1 passed, 1 failed" in page
    rows = dict(re.findall(r"<small>([a-z-]+)</small></th>.*?<span class=\"badge (\w+)\">",
                           page, re.S))
    assert rows == {"renames-nm": "succeeded", "wrong": "failed"}
    assert 'gave</small> <code>{"name": "Bo"}</code>' in page  # what it gave instead


def test_a_bad_test_case_is_refused_with_the_field_and_changes_nothing(
        admin: Browser, platform: Platform) -> None:
    ws = _transformer(platform)
    r = admin.post(ADD, {"name": "Broken", "entity": "{not json", "expected": ""}, 422,
                   csrf_from=PAGE)
    assert "entity: must be valid JSON" in r.text
    assert "{not json" in r.text  # what was typed is kept
    r = admin.post(ADD, {"name": "Both", "entity": "{}", "expected": "{}",
                         "skipped": "why"}, 422, csrf_from=PAGE)
    assert "not both" in r.text
    r = admin.post(ADD, {"name": "No entity", "entity": ""}, 422, csrf_from=PAGE)
    assert "entity:" in r.text
    r = admin.post(ADD, {"name": "Bad id", "identifier": "Not An Id", "entity": "{}"}, 422,
                   csrf_from=PAGE)
    assert "identifier" in r.text
    admin.post(ADD, {"name": "Once", "identifier": "once", "entity": "{}"}, csrf_from=PAGE)
    r = admin.post(ADD, {"name": "Twice", "identifier": "once", "entity": "{}"}, 422,
                   csrf_from=PAGE)
    assert "exists already" in r.text
    assert list(_cases(platform, ws)) == ["once"]
    # a type that owns no such relation, and an owner that does not exist
    admin.post("/ui/configurations/transformer/rename-fields/relations/storage",
               {"name": "x", "entity": "{}"}, 404, csrf_from=PAGE)
    admin.post("/ui/configurations/transformer/missing/relations/transformer-test",
               {"name": "x", "entity": "{}"}, 404, csrf_from=PAGE)
    admin.post(f"{ADD}/missing/delete", {}, 404, csrf_from=PAGE)
    assert list(_cases(platform, ws)) == ["once"]


def test_a_viewer_sees_the_test_cases_without_forms_and_is_refused(
        admin: Browser, platform: Platform) -> None:
    ws = _transformer(platform)
    admin.post(ADD, {"name": "Renames nm", "identifier": "renames-nm",
                     "entity": '{"nm": "Ada"}', "expected": '{"name": "Ada"}'},
               csrf_from=PAGE)
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    page = viewer.get(PAGE).text
    assert "Renames nm" in page
    assert "/relations/transformer-test" not in page  # no add form, no delete button
    token = csrf_of(page)
    viewer.post(ADD, {"csrf": token, "name": "Sneaky", "entity": "{}"}, 403)
    viewer.post(f"{ADD}/renames-nm/delete", {"csrf": token}, 403)
    viewer.post(f"{ADD}/run", {"csrf": token}, 403)
    assert "Run the test cases" not in page
    assert list(_cases(platform, ws)) == ["renames-nm"]

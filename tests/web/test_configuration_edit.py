"""Configurations created and edited in the UI: a form per prototype generated from its JSON
Schema (each save a new revision, bad input shown next to its field), the route editor
(incoming -> ordered transformers -> outgoing, chosen among the space's configurations) and
the test panel that runs the transformers on a sample entity step by step. A viewer sees no
save button and the server refuses their posts."""

from __future__ import annotations

import re

from sluiceway.services import auth, configuration_history, configurations, criteria, policy
from sluiceway.services.configurations import ConfigurationInput
from sluiceway.services.platform import Platform
from tests.web.conftest import Browser, add_user, csrf_of, new_browser

NEW_RENAME = "/ui/configurations/new?type=transformer&prototype=rename"
ROUTE = "/ui/configurations/route-configuration/orders-route"


def _space(p: Platform) -> str:
    return next(iter(auth.caller_for(p, "admin").workspace_ids))


def _make(p: Platform, type_: str, identifier: str, obj: dict[str, object]) -> None:
    admin = auth.caller_for(p, "admin")
    configurations.create(p, admin, _space(p), ConfigurationInput(
        type=type_, identifier=identifier, name=identifier.replace("-", " ").title(),
        object=obj))


def _route_parts(p: Platform) -> None:
    _make(p, "incoming-configuration", "orders-in", {
        "prototype": "sample", "parameters": {"configuration": {"rows": 10},
                                              "stream": "events"}})
    _make(p, "outgoing-configuration", "orders-out", {
        "prototype": "duckdb", "parameters": {"configuration": {"path": "orders.duckdb"},
                                              "stream": "orders", "key": ["id"]}})
    _make(p, "transformer", "add-source", {
        "prototype": "set", "parameters": {"values": {"source": "shop"}}})
    _make(p, "transformer", "rename-id", {
        "prototype": "rename", "parameters": {"mapping": {"id": "order_id"}}})
    _make(p, "transformer", "only-big", {
        "prototype": "filter", "parameters": {"conditions": [
            {"key": "total", "op": "gt", "value": 100}]}})


def test_a_transformer_is_created_from_its_schema_form_and_edited_into_a_new_revision(
        admin: Browser, platform: Platform) -> None:
    form = admin.get(NEW_RENAME).text
    assert 'name="cfg.mapping"' in form
    r = admin.post(NEW_RENAME, {"name": "Rename fields", "identifier": "rename-fields",
                                "labels": "nightly, orders",
                                "cfg.mapping": '{"nm": "name"}'}, csrf_from=NEW_RENAME)
    edit = "/ui/configurations/transformer/rename-fields"
    assert r.headers["location"] == edit + "?saved=1"
    view = configurations.get(platform, auth.caller_for(platform, "admin"), _space(platform),
                              "transformer", "rename-fields")
    assert view.object["parameters"] == {"mapping": {"nm": "name"}}
    assert view.labels == ("nightly", "orders")
    page = admin.get(edit + "?saved=1").text
    assert "Saved as revision" in page
    admin.post(edit, {"name": "Rename fields", "labels": "nightly",
                      "cfg.mapping": '{"nm": "full_name"}'}, csrf_from=edit)
    revisions, total = configuration_history.history(
        platform, auth.caller_for(platform, "admin"), _space(platform), "transformer",
        "rename-fields", criteria.Criteria(limit=10))
    assert total == 2
    assert revisions[0].object["parameters"] == {"mapping": {"nm": "full_name"}}
    assert revisions[1].object["parameters"] == {"mapping": {"nm": "name"}}


def test_bad_input_shows_the_violations_next_to_the_fields_and_saves_nothing(
        admin: Browser, platform: Platform) -> None:
    r = admin.post(NEW_RENAME, {"name": "Broken", "identifier": "Not An Identifier",
                                "cfg.mapping": "{not json"}, 422, csrf_from=NEW_RENAME)
    assert 'id="f-mapping-error"' in r.text
    assert "must be valid JSON" in r.text
    assert "{not json" in r.text  # what was typed is kept
    r = admin.post(NEW_RENAME, {"name": "Broken", "identifier": "broken",
                                "cfg.mapping": "[1, 2]"}, 422, csrf_from=NEW_RENAME)
    error = re.search(r'id="f-mapping-error">([^<]+)<', r.text)
    assert error is not None
    assert "object" in error.group(1)
    _, total = configurations.list_configurations(
        platform, auth.caller_for(platform, "admin"), _space(platform), criteria.Criteria())
    assert total == 0


def test_the_route_editor_chooses_configurations_and_orders_its_transformers(
        admin: Browser, platform: Platform) -> None:
    _route_parts(platform)
    new = "/ui/configurations/new?type=route-configuration"
    form = admin.get(new).text
    assert '<option value="orders-in">' in form
    assert '<option value="orders-out">' in form
    assert 'name="cfg.transformers"' in form
    base = {"name": "Orders route", "identifier": "orders-route",
            "cfg.incoming": "orders-in", "cfg.outgoing": "orders-out"}
    # adding steps re-renders the form without saving
    step = admin.client.post(new + "&prototype=route", data={
        **base, "csrf": csrf_of(form), "cfg.transformers": ["add-source", "rename-id"],
        "op": "add:transformers:0"})
    assert step.status_code == 200
    assert re.findall(r'<option value="([a-z-]+)" selected>', step.text)[-2:] == [
        "add-source", "rename-id"]
    moved = admin.client.post(new + "&prototype=route", data={
        **base, "csrf": csrf_of(form), "cfg.transformers": ["add-source", "rename-id"],
        "op": "up:transformers:1"})
    assert re.findall(r'<option value="([a-z-]+)" selected>', moved.text)[-2:] == [
        "rename-id", "add-source"]
    assert configurations.list_configurations(
        platform, auth.caller_for(platform, "admin"), _space(platform), criteria.Criteria(),
        "route-configuration")[1] == 0
    admin.post(new + "&prototype=route", {**base, "cfg.transformers": [
        "rename-id", "add-source", "only-big"]}, csrf_from=new)
    view = configurations.get(platform, auth.caller_for(platform, "admin"), _space(platform),
                              "route-configuration", "orders-route")
    assert view.object["parameters"]["transformers"] == ["rename-id", "add-source",
                                                         "only-big"]
    assert view.object["parameters"]["incoming"] == "orders-in"
    assert "changeDetection" not in view.object["parameters"]
    # removing one step, then saving
    admin.post(ROUTE, {**base, "cfg.transformers": ["rename-id", "add-source"]},
               csrf_from=ROUTE)
    view = configurations.get(platform, auth.caller_for(platform, "admin"), _space(platform),
                              "route-configuration", "orders-route")
    assert view.object["parameters"]["transformers"] == ["rename-id", "add-source"]


def test_the_test_panel_runs_the_route_step_by_step(admin: Browser,
                                                     platform: Platform) -> None:
    _route_parts(platform)
    _make(platform, "route-configuration", "orders-route", {
        "prototype": "route", "parameters": {
            "incoming": "orders-in", "outgoing": "orders-out",
            "transformers": ["rename-id", "add-source", "only-big"]}})
    run = admin.client.post(ROUTE + "/try", data={
        "csrf": csrf_of(admin.get(ROUTE).text), "entity": '{"id": 7, "total": 250}'})
    assert run.status_code == 200, run.text[:2000]
    assert run.text.count("<h3>") == 3
    assert "&#34;order_id&#34;: 7" in run.text or '"order_id": 7' in run.text
    assert "Result: one entity." in run.text
    small = admin.client.post(ROUTE + "/try", data={
        "csrf": csrf_of(admin.get(ROUTE).text), "entity": '{"id": 8, "total": 5}'})
    assert "Skipped the entity" in small.text
    assert "Result: no entity." in small.text
    stopped = admin.client.post(ROUTE + "/try", data={
        "csrf": csrf_of(admin.get(ROUTE).text), "entity": '{"id": 9}', "stop": "rename-id"})
    assert stopped.text.count("<h3>") == 1
    bad = admin.client.post(ROUTE + "/try", data={
        "csrf": csrf_of(admin.get(ROUTE).text), "entity": "{oops"})
    assert bad.status_code == 422
    assert 'id="t-entity-error"' in bad.text
    unknown = admin.client.post(ROUTE + "/try", data={
        "csrf": csrf_of(admin.get(ROUTE).text), "entity": "{}", "stop": "nope"})
    assert unknown.status_code == 422
    assert 'id="t-stop-error"' in unknown.text


def test_a_viewer_sees_no_save_button_and_forged_posts_are_refused(
        browser: Browser, platform: Platform) -> None:
    _route_parts(platform)
    _make(platform, "route-configuration", "orders-route", {
        "prototype": "route", "parameters": {"incoming": "orders-in",
                                             "outgoing": "orders-out"}})
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    browser.sign_in("viewer@example.com", "viewer-password")
    page = browser.get(ROUTE).text
    assert "Save a new revision" not in page
    assert "Run step by step" not in page
    assert "Remove" not in page
    browser.get(NEW_RENAME, 403)
    token = csrf_of(page)
    browser.post(ROUTE, {"csrf": token, "name": "Taken over", "cfg.incoming": "orders-in",
                         "cfg.outgoing": "orders-out"}, 403)
    browser.post(ROUTE + "/try", {"csrf": token, "entity": "{}"}, 403)
    browser.post(NEW_RENAME, {"csrf": token, "name": "x", "cfg.mapping": "{}"}, 403)
    # an editor's forged post without the session's token is refused too
    editor = new_browser(browser.client)
    add_user(platform, "editor@example.com", "editor-password", policy.Role.EDITOR)
    editor.sign_in("editor@example.com", "editor-password")
    editor.post(ROUTE, {"csrf": "forged", "name": "Taken over"}, 403)
    editor.post(ROUTE, {"name": "Taken over", "cfg.incoming": "orders-in",
                        "cfg.outgoing": "orders-out"}, 403, csrf_from=ROUTE,
                headers={"Origin": "https://elsewhere.example"})
    view = configurations.get(platform, auth.caller_for(platform, "admin"), _space(platform),
                              "route-configuration", "orders-route")
    assert view.name == "Orders Route"

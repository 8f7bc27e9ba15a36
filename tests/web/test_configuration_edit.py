"""Configurations created and edited in the UI: a form per prototype generated from its JSON
Schema (each save a new revision, bad input shown next to its field), the route editor
(incoming -> ordered transformers -> outgoing, chosen among the space's configurations) and
the test panel that runs the transformers on a sample entity step by step. A viewer sees no
save button and the server refuses their posts."""

from __future__ import annotations

import hashlib
import json
import re
from html import unescape

from sluiceway.services import (
    audit,
    auth,
    configuration_history,
    configurations,
    criteria,
    policy,
)
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
    assert 'name="cfg.mapping[key]"' in form
    assert 'name="cfg.mapping[value]"' in form
    r = admin.post(NEW_RENAME, {"name": "Rename fields", "identifier": "rename-fields",
                                "labels": "nightly, orders",
                                "cfg.mapping[key]": ["nm", ""],
                                "cfg.mapping[value]": ["name", ""]}, csrf_from=NEW_RENAME)
    edit = "/ui/configurations/transformer/rename-fields"
    assert r.headers["location"] == edit + "?saved=1"
    view = configurations.get(platform, auth.caller_for(platform, "admin"), _space(platform),
                              "transformer", "rename-fields")
    assert view.object["parameters"] == {"mapping": {"nm": "name"}}
    assert view.labels == ("nightly", "orders")
    page = admin.get(edit + "?saved=1").text
    assert "Saved as revision" in page
    admin.post(edit, {"name": "Rename fields", "labels": "nightly",
                      "cfg.mapping[key]": "nm", "cfg.mapping[value]": "full_name"},
               csrf_from=edit)
    revisions, total = configuration_history.history(
        platform, auth.caller_for(platform, "admin"), _space(platform), "transformer",
        "rename-fields", criteria.Criteria(limit=10))
    assert total == 2
    assert revisions[0].object["parameters"] == {"mapping": {"nm": "full_name"}}
    assert revisions[1].object["parameters"] == {"mapping": {"nm": "name"}}


def test_bad_input_shows_the_violations_next_to_the_fields_and_saves_nothing(
        admin: Browser, platform: Platform) -> None:
    new_set = "/ui/configurations/new?type=transformer&prototype=set"
    r = admin.post(new_set, {"name": "Broken", "identifier": "Not An Identifier",
                             "cfg.values": "{not json"}, 422, csrf_from=new_set)
    assert 'id="f-values-error"' in r.text
    assert "must be valid JSON" in r.text
    assert "{not json" in r.text  # what was typed is kept
    r = admin.post(new_set, {"name": "Broken", "identifier": "broken",
                             "cfg.values": "[1, 2]"}, 422, csrf_from=new_set)
    error = re.search(r'id="f-values-error">([^<]+)<', r.text)
    assert error is not None
    assert "object" in error.group(1)
    # a map's rows: a value without a key, a key twice; the rows are shown as typed
    r = admin.post(NEW_RENAME, {"name": "Broken", "identifier": "broken",
                                "cfg.mapping[key]": ["nm", "", "nm"],
                                "cfg.mapping[value]": ["name", "lost", "again"]}, 422,
                   csrf_from=NEW_RENAME)
    error = re.search(r'id="f-mapping-error">([^<]+)<', r.text)
    assert error is not None
    assert "row 2: the value &#39;lost&#39; has no key" in error.group(1)
    assert "the key &#39;nm&#39; is given twice" in error.group(1)
    assert 'name="cfg.mapping[value]" value="name"' in r.text
    # no row at all: the schema's minProperties, beside the map
    r = admin.post(NEW_RENAME, {"name": "Broken", "identifier": "broken",
                                "cfg.mapping[key]": "", "cfg.mapping[value]": ""}, 422,
                   csrf_from=NEW_RENAME)
    assert re.search(r'id="f-mapping-error">[^<]*non-empty', r.text), r.text[-3000:]
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


def _route_form(**over: object) -> dict[str, object]:
    """The route editor's inputs, as a browser posts them."""
    return {"name": "Orders Route", "cfg.incoming": "orders-in", "cfg.outgoing": "orders-out",
            "cfg.transformers": ["rename-id", "add-source", "only-big"], **over}


def _try(admin: Browser, url: str, data: dict[str, object]) -> str:
    """Post the edit form with the test panel's button (it posts to ``…/try``)."""
    page = admin.get(url).text
    assert f'formaction="{url}/try"' in page
    assert 'form="c-form"' in page
    r = admin.client.post(url + "/try", data={"csrf": csrf_of(page), **data})
    return f"{r.status_code}\n{r.text}"


def test_the_test_panel_runs_the_route_step_by_step(admin: Browser,
                                                     platform: Platform) -> None:
    _route_parts(platform)
    _make(platform, "route-configuration", "orders-route", {
        "prototype": "route", "parameters": {
            "incoming": "orders-in", "outgoing": "orders-out",
            "transformers": ["rename-id", "add-source", "only-big"]}})
    run = _try(admin, ROUTE, _route_form(entity='{"id": 7, "total": 250}'))
    assert run.startswith("200\n"), run[:2000]
    assert run.count("<h3>") == 3
    assert "&#34;order_id&#34;: 7" in run or '"order_id": 7' in run
    assert "Result: one entity." in run
    small = _try(admin, ROUTE, _route_form(entity='{"id": 8, "total": 5}'))
    assert "Skipped the entity" in small
    assert "Result: no entity." in small
    stopped = _try(admin, ROUTE, _route_form(entity='{"id": 9}', stop="rename-id"))
    assert stopped.count("<h3>") == 1
    by_position = _try(admin, ROUTE, _route_form(entity='{"id": 9}', stop="1"))
    assert by_position.count("<h3>") == 2
    assert '<option value="1" selected>step 2: add-source</option>' in by_position
    bad = _try(admin, ROUTE, _route_form(entity="{oops"))
    assert bad.startswith("422\n")
    assert 'id="t-entity-error"' in bad
    assert "{oops" in bad  # what was typed is kept
    unknown = _try(admin, ROUTE, _route_form(entity="{}", stop="nope"))
    assert unknown.startswith("422\n")
    assert 'id="t-stop-error"' in unknown


def _outputs(html: str) -> list[object]:
    """The entity after each step the panel shows."""
    return [json.loads(unescape(x)) for x in re.findall(
        r'<pre class="log" tabindex="0">(.*?)</pre>', html, re.S)]


def _unchanged(platform: Platform, type_: str, identifier: str) -> tuple[object, ...]:
    """What is stored of a configuration: its object, revision, history and audit trail."""
    admin = auth.caller_for(platform, "admin")
    view = configurations.get(platform, admin, _space(platform), type_, identifier)
    revisions, _ = configuration_history.history(
        platform, admin, _space(platform), type_, identifier, criteria.Criteria(limit=10))
    _, entries = audit.list_entries(platform, admin, criteria.Criteria(limit=1),
                                    _space(platform))
    return (view.object, view.revision, view.name, [r.ulid for r in revisions], entries)


def test_the_test_panel_runs_the_forms_unsaved_state_and_saves_nothing(
        admin: Browser, platform: Platform) -> None:
    _route_parts(platform)
    _make(platform, "route-configuration", "orders-route", {
        "prototype": "route", "parameters": {
            "incoming": "orders-in", "outgoing": "orders-out",
            "transformers": ["rename-id", "add-source", "only-big"]}})
    before = _unchanged(platform, "route-configuration", "orders-route")
    # the route's steps as edited in the form (only-big removed, add-source first), unsaved
    run = _try(admin, ROUTE, _route_form(**{"name": "Renamed, not saved",
                                            "cfg.transformers": ["add-source", "rename-id"]},
                                         entity='{"id": 8, "total": 5}'))
    assert run.startswith("200\n"), run[:2000]
    assert re.findall(r"<h3>(\d: [a-z-]+)</h3>", run) == ["0: add-source", "1: rename-id"]
    assert _outputs(run)[-1] == {"order_id": 8, "total": 5, "source": "shop"}
    assert "Result: one entity." in run
    # the form shows what was posted, not the stored state, so it can be saved next
    assert 'value="Renamed, not saved"' in run
    assert re.findall(r'<option value="([a-z-]+)" selected>', run)[-2:] == [
        "add-source", "rename-id"]
    assert _unchanged(platform, "route-configuration", "orders-route") == before
    # a transformer edited in its own form: the run shows the edit; nothing is saved
    edit = "/ui/configurations/transformer/rename-id"
    before = _unchanged(platform, "transformer", "rename-id")
    run = _try(admin, edit, {"name": "Rename Id", "cfg.mapping[key]": "id",
                             "cfg.mapping[value]": "edited_id", "entity": '{"id": 3}'})
    assert run.startswith("200\n"), run[:2000]
    assert _outputs(run) == [{"edited_id": 3}]
    assert _unchanged(platform, "transformer", "rename-id") == before
    # saved afterwards, the same state is stored
    admin.post(edit, {"name": "Rename Id", "cfg.mapping[key]": "id",
                      "cfg.mapping[value]": "edited_id"}, csrf_from=edit)
    assert configurations.get(platform, auth.caller_for(platform, "admin"), _space(platform),
                              "transformer", "rename-id").object["parameters"] == {
        "mapping": {"id": "edited_id"}}


def test_the_test_panel_keeps_a_stored_secret_left_empty_in_the_form(
        admin: Browser, platform: Platform) -> None:
    _make(platform, "transformer", "hash-email", {
        "prototype": "hash", "parameters": {"keys": ["email"], "algorithm": "md5",
                                            "salt": "pepper"}})
    url = "/ui/configurations/transformer/hash-email"
    form = {"name": "Hash Email", "cfg.keys": "email", "cfg.algorithm": "md5",
            "entity": '{"email": "a@x.example"}'}
    kept = _try(admin, url, {**form, "cfg.salt": ""})
    assert _outputs(kept) == [{"email": hashlib.md5(b"peppera@x.example").hexdigest()}]
    typed = _try(admin, url, {**form, "cfg.salt": "salt"})
    assert _outputs(typed) == [{"email": hashlib.md5(b"salta@x.example").hexdigest()}]
    assert "pepper" not in kept  # the stored secret is never put into the page


def test_the_test_panel_checks_the_form_against_the_schema_field_by_field(
        admin: Browser, platform: Platform) -> None:
    _route_parts(platform)
    _make(platform, "route-configuration", "orders-route", {
        "prototype": "route", "parameters": {"incoming": "orders-in",
                                             "outgoing": "orders-out"}})
    before = _unchanged(platform, "route-configuration", "orders-route")
    missing = _try(admin, ROUTE, _route_form(**{"cfg.incoming": ""}, entity="{}"))
    assert missing.startswith("422\n")
    assert re.search(r'id="f-incoming-error">should be non-empty', missing)
    assert 'id="t-form-error"' in missing
    assert "steps-run" not in missing  # nothing ran
    unknown = _try(admin, ROUTE, _route_form(**{"cfg.transformers": ["rename-id", "gone"]},
                                             entity="{}"))
    assert unknown.startswith("422\n")
    assert re.search(r'id="f-transformers-error">names no transformer of this space: gone<',
                     unknown)
    retry = _try(admin, ROUTE, _route_form(**{"cfg.retry.maxAttempts": "99"}, entity="{}"))
    assert retry.startswith("422\n")
    assert re.search(r'id="f-retry-maxAttempts-error">[^<]*10', retry), retry[-3000:]
    typed = _try(admin, ROUTE, _route_form(**{"cfg.retry.maxAttempts": "many"}, entity="{}"))
    assert typed.startswith("422\n")
    assert "must be a whole number" in typed
    bad_mapping = _try(admin, "/ui/configurations/transformer/rename-id",
                       {"name": "Rename Id", "cfg.mapping[key]": "id",
                        "cfg.mapping[value]": "", "entity": "{}"})
    assert bad_mapping.startswith("422\n")
    assert re.search(r'id="f-mapping-error">id: [^<]*non-empty', bad_mapping)
    assert _unchanged(platform, "route-configuration", "orders-route") == before


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
    assert 'id="test-panel"' not in page
    assert 'name="entity"' not in page
    assert "Remove" not in page
    browser.get(NEW_RENAME, 403)
    token = csrf_of(page)
    browser.post(ROUTE, {"csrf": token, "name": "Taken over", "cfg.incoming": "orders-in",
                         "cfg.outgoing": "orders-out"}, 403)
    browser.post(ROUTE + "/try", {"csrf": token, "entity": "{}"}, 403)
    browser.post(NEW_RENAME, {"csrf": token, "name": "x", "cfg.mapping[key]": "a",
                              "cfg.mapping[value]": "b"}, 403)
    # an editor's forged post without the session's token is refused too
    editor = new_browser(browser.client)
    add_user(platform, "editor@example.com", "editor-password", policy.Role.EDITOR)
    editor.sign_in("editor@example.com", "editor-password")
    editor.post(ROUTE, {"csrf": "forged", "name": "Taken over"}, 403)
    editor.post(ROUTE + "/try", {"csrf": "forged", "entity": "{}"}, 403)
    editor.post(ROUTE, {"name": "Taken over", "cfg.incoming": "orders-in",
                        "cfg.outgoing": "orders-out"}, 403, csrf_from=ROUTE,
                headers={"Origin": "https://elsewhere.example"})
    view = configurations.get(platform, auth.caller_for(platform, "admin"), _space(platform),
                              "route-configuration", "orders-route")
    assert view.name == "Orders Route"

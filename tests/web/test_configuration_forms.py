"""The generated configuration forms' structured inputs: a nested object's fields labelled
with their path, a ``oneOf`` of objects as a choice of the alternative and its inputs, a map
as rows of a key and a value. What such a form saves is what the same object saves through
the service the API calls, and a form posted back as the page shows it changes nothing."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

from sluiceway.protocol.spec import MASK
from sluiceway.secrets import unseal
from sluiceway.services import auth, configurations, criteria
from sluiceway.services.configurations import ConfigurationInput
from sluiceway.services.platform import Platform
from tests.web.conftest import Browser

NEW_CLIENT = "/ui/configurations/new?type=http-client"
CLIENT = "/ui/configurations/http-client/shop-api"


class _Inputs(HTMLParser):
    """What a browser posts for the form ``c-form``: each named input, the selected option
    of each select, ticked boxes and each textarea's text (no submit button)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: list[tuple[str, str]] = []
        self._in_form = False
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._option: tuple[str | None, bool] | None = None
        self._textarea: str | None = None
        self._text = ""

    def _mine(self, a: dict[str, str | None]) -> bool:
        return a.get("form") == "c-form" or (self._in_form and "form" not in a)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("id") == "c-form":
            self._in_form = True
        name = a.get("name")
        if tag == "input" and name and self._mine(a) and "disabled" not in a:
            kind = a.get("type") or "text"
            if kind == "checkbox":
                if "checked" in a:
                    self.data.append((name, a.get("value") or "on"))
            elif kind not in ("submit", "button"):
                self.data.append((name, a.get("value") or ""))
        elif tag == "select" and name and self._mine(a) and "disabled" not in a:
            self._select = (name, [])
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a)
            self._text = ""
        elif tag == "textarea" and name and self._mine(a):
            self._textarea, self._text = name, ""

    def handle_data(self, data: str) -> None:
        self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "option" and self._select is not None and self._option is not None:
            value, selected = self._option
            self._select[1].append((value if value is not None else self._text.strip(),
                                    selected))
            self._option = None
        elif tag == "select" and self._select is not None:
            name, options = self._select
            chosen = [v for v, s in options if s] or [v for v, _ in options[:1]]
            self.data += [(name, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.data.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def _inputs(html: str) -> dict[str, list[str]]:
    parser = _Inputs()
    parser.feed(html)
    out: dict[str, list[str]] = {}
    for name, value in parser.data:
        out.setdefault(name, []).append(value)
    return out


def _space(p: Platform) -> str:
    return next(iter(auth.caller_for(p, "admin").workspace_ids))


def _stored(p: Platform, type_: str, identifier: str) -> dict[str, Any]:
    """The parameters as stored, secrets unsealed."""
    with p.db.session() as s:
        c = configurations.find(s, _space(p), type_, identifier)
        return dict(unseal(dict(c.object.get("parameters") or {}), p.cipher))


def _label(html: str, input_id: str) -> str:
    found = re.search(rf'<label for="{input_id}">([^<]+)<', html)
    assert found is not None, input_id
    return unescape(found.group(1)).strip()


def test_nested_fields_are_labelled_with_their_path(admin: Browser) -> None:
    route = admin.get("/ui/configurations/new?type=route-configuration").text
    assert _label(route, "f-changeDetection-storage") == "Change detection › Storage"
    assert _label(route, "f-retry-maxAttempts") == "Retry › Max attempts"
    client = admin.get(NEW_CLIENT).text
    assert _label(client, "f-retries-maxAttempts") == "Retries › Max attempts"
    # two alternatives' inputs of the same name are told apart by the alternative
    assert _label(client, "f-auth-4-clientSecret") == (
        "Auth › oauth2-client-credentials › Client secret")
    assert _label(client, "f-auth-5-clientSecret") == "Auth › oauth2-token › Client secret"


def _client_form(**over: Any) -> dict[str, Any]:
    return {"name": "Shop API", "identifier": "shop-api",
            "cfg.baseUrl": "https://shop.example/api",
            "cfg.auth": "1", "cfg.auth.1.username": "ada", "cfg.auth.1.password": "s3cret",
            # an input of an alternative not chosen is not read
            "cfg.auth.2.token": "not-read",
            "cfg.pagination": "1", "cfg.pagination.1.parameter": "page",
            "cfg.pagination.1.size": "50", "cfg.pagination.1.start": "1",
            "cfg.headers[key]": ["Accept", "X-Team", ""],
            "cfg.headers[value]": ["application/json", "data", ""],
            # the defaults the new form shows
            "cfg.retries.maxAttempts": "3", "cfg.retries.backoffSeconds": "1",
            "cfg.retries.maxWaitSeconds": "60", **over}


def test_an_http_client_form_saves_what_the_api_saves(admin: Browser,
                                                      platform: Platform) -> None:
    form = admin.get(NEW_CLIENT).text
    choice = form[form.index('<select id="f-auth"'):]
    choice = choice[:choice.index("</select>")]
    assert re.findall(r'<option value="(\d)">([^<]+)</option>', choice)[:3] == [
        ("0", "none"), ("1", "basic"), ("2", "bearer")]
    assert 'name="cfg.auth.1.username"' in form
    assert 'name="cfg.headers[key]"' in form
    # the new form's inputs as the browser posts them, filled in
    admin.post(NEW_CLIENT + "&prototype=http-client", {**_inputs(form), **_client_form()})
    admin_caller = auth.caller_for(platform, "admin")
    configurations.create(platform, admin_caller, _space(platform), ConfigurationInput(
        type="http-client", identifier="same-by-api", name="Same", object={
            "prototype": "http-client", "parameters": {
                "baseUrl": "https://shop.example/api",
                "auth": {"type": "basic", "username": "ada", "password": "s3cret"},
                "pagination": {"type": "page", "parameter": "page", "size": 50,
                               "start": 1},
                "headers": {"Accept": "application/json", "X-Team": "data"},
                "retries": {"maxAttempts": 3, "backoffSeconds": 1, "maxWaitSeconds": 60},
                "public": False}}))
    assert _stored(platform, "http-client", "shop-api") == _stored(
        platform, "http-client", "same-by-api")
    # the edit page shows the chosen alternatives and the rows; posted back, nothing changes
    page = admin.get(CLIENT).text
    assert '<option value="1" selected>basic</option>' in page
    assert '<option value="1" selected>page</option>' in page
    assert 'name="cfg.headers[value]" value="application/json"' in page
    before = _stored(platform, "http-client", "shop-api")
    admin.post(CLIENT, _inputs(page), csrf_from=CLIENT)
    assert _stored(platform, "http-client", "shop-api") == before
    assert before["auth"]["password"] == "s3cret"  # the secret left empty is kept
    # another alternative chosen: only its inputs are read, with its const
    edited = {**_inputs(page), "cfg.auth": "2", "cfg.auth.2.token": "t0ken",
              "cfg.headers[key]": ["Accept", "", ""],
              "cfg.headers[value]": ["text/csv", "", ""]}
    admin.post(CLIENT, edited, csrf_from=CLIENT)
    after = _stored(platform, "http-client", "shop-api")
    assert after["auth"] == {"type": "bearer", "token": "t0ken"}
    assert after["headers"] == {"Accept": "text/csv"}
    shown = configurations.get(platform, admin_caller, _space(platform), "http-client",
                               "shop-api")
    assert shown.object["parameters"]["auth"] == {"type": "bearer", "token": MASK}


def test_a_chosen_alternative_is_checked_and_bad_rows_are_refused(
        admin: Browser, platform: Platform) -> None:
    url = NEW_CLIENT + "&prototype=http-client"
    r = admin.post(url, _client_form(**{"cfg.auth.1.username": ""}), 422,
                   csrf_from=NEW_CLIENT)
    # the chosen alternative's own violation, beside its input
    assert re.search(r'id="f-auth-1-username-error">should be non-empty<', r.text), r.text[-3000:]
    assert 'id="f-auth-error"' not in r.text
    assert '<option value="1" selected>basic</option>' in r.text  # the choice is kept
    r = admin.post(url, _client_form(**{"cfg.auth": "4", "cfg.auth.4.clientId": "me"}), 422,
                   csrf_from=NEW_CLIENT)
    assert re.search(r'id="f-auth-4-tokenUrl-error">should be non-empty<', r.text)
    assert 'id="f-auth-5-tokenUrl-error"' not in r.text  # not the alternative chosen
    r = admin.post(url, _client_form(**{"cfg.auth": "9"}), 422, csrf_from=NEW_CLIENT)
    assert re.search(r'id="f-auth-error">is not one of the choices<', r.text)
    r = admin.post(url, _client_form(**{"cfg.headers[key]": ["", "X-Team"],
                                        "cfg.headers[value]": ["orphan", "data"]}), 422,
                   csrf_from=NEW_CLIENT)
    assert "row 1: the value &#39;orphan&#39; has no key" in r.text
    assert 'name="cfg.headers[key]" value="X-Team"' in r.text
    r = admin.post(url, _client_form(**{"cfg.pagination.1.size": "lots"}), 422,
                   csrf_from=NEW_CLIENT)
    assert re.search(r'id="f-pagination-1-size-error">must be a whole number<', r.text)
    assert 'value="lots"' in r.text
    assert configurations.list_configurations(
        platform, auth.caller_for(platform, "admin"), _space(platform),
        criteria.Criteria(),
        "http-client")[1] == 0


def test_a_route_saved_from_the_form_holds_what_the_api_saves(admin: Browser,
                                                              platform: Platform) -> None:
    admin_caller = auth.caller_for(platform, "admin")
    for type_, ident, obj in (
            ("incoming-configuration", "orders-in", {"prototype": "sample", "parameters": {
                "configuration": {"rows": 10}, "stream": "events"}}),
            ("outgoing-configuration", "orders-out", {"prototype": "duckdb", "parameters": {
                "configuration": {"path": "orders.duckdb"}, "stream": "orders",
                "key": ["id"]}}),
            ("storage", "seen", {"prototype": "storage", "parameters": {}})):
        configurations.create(platform, admin_caller, _space(platform), ConfigurationInput(
            type=type_, identifier=ident, name=ident, object=obj))
    new = "/ui/configurations/new?type=route-configuration"
    admin.post(new + "&prototype=route", {
        "name": "Orders", "identifier": "orders", "cfg.incoming": "orders-in",
        "cfg.outgoing": "orders-out", "cfg.changeDetection.storage": "seen",
        "cfg.retry.maxAttempts": "2"}, csrf_from=new)
    configurations.create(platform, admin_caller, _space(platform), ConfigurationInput(
        type="route-configuration", identifier="orders-api", name="Orders", object={
            "prototype": "route", "parameters": {
                "incoming": "orders-in", "outgoing": "orders-out", "transformers": [],
                "changeDetection": {"storage": "seen"}, "retry": {"maxAttempts": 2},
                "realtime": False, "waitingStatus": False}}))
    assert _stored(platform, "route-configuration", "orders") == _stored(
        platform, "route-configuration", "orders-api")
    page = admin.get("/ui/configurations/route-configuration/orders").text
    admin.post("/ui/configurations/route-configuration/orders", _inputs(page),
               csrf_from="/ui/configurations/route-configuration/orders")
    assert _stored(platform, "route-configuration", "orders") == _stored(
        platform, "route-configuration", "orders-api")

"""Sources and destinations in the UI: forms from each connector's spec, secrets never shown
and kept when left empty, the Test button with the server's own reason, and roles."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import select

from sluiceway.services import policy
from sluiceway.services.platform import Platform
from sluiceway.store.models import AuditEntry
from tests.web.conftest import Browser, add_user, csrf_of, definition


def _pg_form(config: dict[str, Any], **over: str) -> dict[str, str]:
    form = {"name": "crm", "cfg.host": config["host"], "cfg.port": str(config["port"]),
            "cfg.database": config["database"], "cfg.username": config["username"],
            "cfg.password": "s3cret-value", "cfg.ssl_mode": "disable",
            "cfg.schemas": "public"}
    return form | over


def test_the_form_follows_the_connectors_spec(admin: Browser, platform: Platform) -> None:
    pg = definition(platform, "source", "postgres")
    page = admin.get(f"/ui/sources/new?definition={pg}").text
    assert '<label for="f-host">Host <span aria-hidden="true">*</span></label>' in page
    assert re.search(r'name="cfg.port" value="5432"\s+type="number"', page)
    assert 'name="cfg.password" value=""' in page
    assert 'type="password"' in page
    ssl = page[page.index('name="cfg.ssl_mode"'):]
    assert "<option selected>prefer</option>" in ssl[:ssl.index("</select>")]
    assert "verify-full" in ssl[:ssl.index("</select>")]
    assert "Connections that read one keyed table" in page  # the description as help
    duck = definition(platform, "destination", "duckdb")
    assert 'name="cfg.path"' in admin.get(f"/ui/destinations/new?definition={duck}").text


def test_create_test_and_edit_a_postgres_source(admin: Browser, platform: Platform,
                                                pg_database: dict[str, Any]) -> None:
    pg = definition(platform, "source", "postgres")
    url = f"/ui/sources/new?definition={pg}"
    r = admin.post(url, _pg_form(pg_database), csrf_from=url)
    source = r.headers["location"]
    page = admin.get(source).text
    assert "s3cret-value" not in page
    assert "A secret is stored: leave empty to keep it." in page
    page = admin.post(source + "/test", {}, 200, csrf_from=source).text
    assert "The test succeeded" in page
    # a secret left empty is kept while the target stays; another target needs it again
    r = admin.post(source, _pg_form(pg_database, name="crm2", **{"cfg.password": ""}),
                   csrf_from=source)
    r = admin.post(source, _pg_form(pg_database, **{"cfg.password": "",
                                                    "cfg.database": "nope_db"}),
                   422, csrf_from=source)
    assert "password" in r.text
    assert "nope_db" in r.text
    admin.post(source, _pg_form(pg_database, **{"cfg.database": "nope_db"}),
               csrf_from=source)
    page = admin.post(source + "/test", {}, 200, csrf_from=source).text
    assert "The test failed" in page
    assert 'database "nope_db" does not exist' in html.unescape(page)
    assert "The test failed" in page
    with platform.db.session() as s:
        actions = [(e.action, e.user_name) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.category == "source")
            .order_by(AuditEntry.created_at))]
    assert actions[0] == ("source.create", "admin")
    assert ("source.update", "admin") in actions


def test_a_bad_number_is_shown_at_its_field(admin: Browser, platform: Platform) -> None:
    pg = definition(platform, "source", "postgres")
    url = f"/ui/sources/new?definition={pg}"
    form = _pg_form({"host": "127.0.0.1", "port": 5432, "database": "x", "username": "u"},
                    **{"cfg.port": "five"})
    r = admin.post(url, form, 422, csrf_from=url)
    assert '<p class="error" id="f-port-error">must be a whole number</p>' in r.text
    assert 'value="127.0.0.1"' in r.text  # what was typed stays


def test_a_viewer_sees_no_create_button_and_a_forged_post_is_refused(
        browser: Browser, platform: Platform) -> None:
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    browser.sign_in("viewer@example.com", "viewer-password")
    listing = browser.get("/ui/destinations").text
    assert "New destination" not in listing
    duck = definition(platform, "destination", "duckdb")
    url = f"/ui/destinations/new?definition={duck}"
    assert "a viewer (ROLE_USER)" in browser.get(url, 403).text  # no form to make one
    r = browser.post(url, {"csrf": csrf_of(browser.get("/ui/account").text), "name": "lake",
                           "cfg.path": "x.duckdb"}, 403)
    assert "a viewer (ROLE_USER) of this space may not do this" in r.text
    assert "Not allowed" in r.text


def test_a_viewer_has_no_test_button_and_a_forged_test_is_refused(
        browser: Browser, platform: Platform) -> None:
    from sluiceway.store.models import Connection
    from tests.web.conftest import sample_connection

    made = sample_connection(platform, "tested")
    with platform.db.session() as s:
        source_id = s.get_one(Connection, made).source_id
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    browser.sign_in("viewer@example.com", "viewer-password")
    page = browser.get(f"/ui/sources/{source_id}").text
    assert f"/ui/sources/{source_id}/test" not in page
    r = browser.post(f"/ui/sources/{source_id}/test", {"csrf": csrf_of(page)}, 403)
    assert "a viewer (ROLE_USER) of this space may not do this" in r.text


def test_a_source_without_a_password_is_edited_and_tested_again(
        admin: Browser, platform: Platform, pg_database: dict[str, Any]) -> None:
    # a server that lets the user in without a password: no secret is stored, so an edit
    # that leaves the password empty saves (it is not sent as a stored secret's mask)
    pg = definition(platform, "source", "postgres")
    url = f"/ui/sources/new?definition={pg}"
    source = admin.post(url, _pg_form(pg_database, **{"cfg.password": ""}),
                        csrf_from=url).headers["location"]
    page = admin.get(source).text
    assert "A secret is stored" not in page
    admin.post(source, _pg_form(pg_database, **{"cfg.password": "",
                                                "cfg.database": "nope_db"}),
               csrf_from=source)
    assert 'value="nope_db"' in admin.get(source).text
    page = admin.post(source + "/test", {}, 200, csrf_from=source).text
    assert 'database "nope_db" does not exist' in html.unescape(page)
    admin.post(source, _pg_form(pg_database, **{"cfg.password": ""}), csrf_from=source)
    page = admin.post(source + "/test", {}, 200, csrf_from=source).text
    assert "The test succeeded" in page


def test_a_new_duckdb_destination_offers_a_file_in_the_allowed_folder(
        admin: Browser, platform: Platform) -> None:
    duck = definition(platform, "destination", "duckdb")
    url = f"/ui/destinations/new?definition={duck}"
    page = html.unescape(admin.get(url).text)
    folder = str(platform.settings.allowed_roots[0])
    assert re.search(r'name="cfg.path" value="warehouse.duckdb"', page)
    assert f"On this server a relative path lands in {folder}" in page
    assert "working directory" not in page  # the command line's rule, not the server's
    # taken as offered, it is created there
    r = admin.post(url, {"name": "lake", "cfg.path": "warehouse.duckdb",
                         "cfg.schema": "main"}, csrf_from=url)
    page = html.unescape(admin.get(r.headers["location"]).text)
    assert f'value="{folder}/warehouse.duckdb"' in page
    # a path outside says which folders are allowed, and what was typed stays
    r = admin.post(url, {"name": "lake2", "cfg.path": "/etc/lake.duckdb"}, 422, csrf_from=url)
    assert f"must be inside an allowed folder: {folder}" in html.unescape(r.text)
    assert 'value="/etc/lake.duckdb"' in r.text
    assert 'value="lake2"' in r.text


def test_an_empty_required_field_says_so_at_the_field(admin: Browser,
                                                      platform: Platform) -> None:
    pg = definition(platform, "source", "postgres")
    url = f"/ui/sources/new?definition={pg}"
    form = _pg_form({"host": "", "port": 5432, "database": "shop", "username": "u"})
    r = admin.post(url, form, 422, csrf_from=url)
    assert '<p class="error" id="f-host-error">must be non-empty</p>' in r.text
    assert 'value="shop"' in r.text  # what was typed stays

"""Administration in the UI: users and roles, API tokens shown once, variables whose
encrypted values are never shown, and the audit trail with filters and export."""

from __future__ import annotations

import re

from sluiceway.services import auth, policy, spaces
from sluiceway.services.platform import Platform
from tests.api.conftest import ADMIN
from tests.web.conftest import Browser, add_user, csrf_of, new_browser


def test_users_and_roles(admin: Browser) -> None:
    url = "/ui/admin/users"
    admin.post(url, {"email": "ann@example.com", "role": "ROLE_EDITOR",
                     "password": "ann-password"}, csrf_from=url)
    page = admin.get(url).text
    assert "ann@example.com" in page
    ann = new_browser(admin.client)
    ann.sign_in("ann@example.com", "ann-password")
    assert "New connection" in ann.get("/ui/").text
    admin.post(url + "/role", {"email": "ann@example.com", "role": "ROLE_USER"},
               csrf_from=url)
    assert "New connection" not in ann.get("/ui/").text  # the role applies at once
    r = admin.post(url, {"email": "not-an-email", "role": "ROLE_USER"}, 422, csrf_from=url)
    assert "email" in r.text
    admin.post(url + "/remove", {"email": "ann@example.com"}, csrf_from=url)
    assert "ann@example.com" not in admin.get(url).text


def test_a_space_administrator_sets_passwords_of_their_spaces_only_and_a_viewer_sees_no_admin(
        browser: Browser, platform: Platform) -> None:
    add_user(platform, "boss@example.com", "boss-password", policy.Role.ADMINISTRATOR)
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    admin = auth.caller_for(platform, "admin")
    spaces.create(platform, admin, spaces.SpaceInput("elsewhere", "Elsewhere", "dev", ""),
                  [("both@example.com", policy.Role.VIEWER.value),
                   ("far@example.com", policy.Role.VIEWER.value)])
    add_user(platform, "both@example.com", "both-password", policy.Role.VIEWER)
    browser.sign_in("boss@example.com", "boss-password")
    page = browser.get("/ui/admin/users").text
    assert 'name="password"' not in page
    r = browser.post("/ui/admin/users/password", {"email": "both@example.com",
                                                  "password": "taken-over"}, 403,
                     csrf_from="/ui/admin/users")
    assert "system administrator" in r.text  # both is also in a space boss does not run
    r = browser.post("/ui/admin/users", {"email": "far@example.com", "role": "ROLE_USER",
                                         "password": "taken-over"}, 403,
                     csrf_from="/ui/admin/users")  # far is in elsewhere only: not added
    assert "far@example.com" not in browser.get("/ui/admin/users").text
    browser.post("/ui/admin/users/password", {"email": "viewer@example.com",
                                              "password": "given-by-boss"},
                 csrf_from="/ui/admin/users")
    new_browser(browser.client).sign_in("viewer@example.com", "viewer-password", 401)
    viewer = new_browser(browser.client)
    viewer.sign_in("viewer@example.com", "given-by-boss")
    assert ">Administration<" not in viewer.get("/ui/").text
    viewer.get("/ui/admin/users", 403)
    viewer.get("/ui/admin/audit", 403)


def test_a_token_is_shown_once_and_can_be_revoked(admin: Browser) -> None:
    url = "/ui/admin/tokens"
    page = admin.post(url, {"name": "airflow", "expires": "30d"}, 200, csrf_from=url).text
    token = re.search(r'<p class="secret-once" id="new-token">([^<]+)</p>', page)
    assert token is not None
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    health = admin.client.post("/api/v1/workspaces/list", headers=bearer)
    assert health.status_code == 200
    listing = admin.get(url).text
    assert "airflow" in listing
    assert token.group(1) not in listing
    token_id = re.search(r"/ui/admin/tokens/([^/]+)/revoke", listing).group(1)  # type: ignore[union-attr]
    admin.post(f"{url}/{token_id}/revoke", {}, csrf_from=url)
    assert admin.client.post("/api/v1/workspaces/list", headers=bearer).status_code == 401
    r = admin.post(url, {"name": "", "expires": "yesterday"}, 422, csrf_from=url)
    assert "expires" in r.text


def test_variables_never_show_an_encrypted_value(admin: Browser, platform: Platform) -> None:
    url = "/ui/admin/variables"
    admin.post(url, {"name": "DB_HOST", "value": "db.internal"}, csrf_from=url)
    admin.post(url, {"name": "DB_PASSWORD", "value": "hunter2-secret", "encrypted": "on"},
               csrf_from=url)
    page = admin.get(url).text
    assert "db.internal" in page
    assert "hunter2-secret" not in page
    assert "<em>encrypted</em>" in page
    r = admin.post(url, {"name": "DB_HOST", "value": "again"}, 409, csrf_from=url)
    assert "exists already" in r.text
    add_user(platform, "ed@example.com", "editor-password", policy.Role.EDITOR)
    editor = new_browser(admin.client)
    editor.sign_in("ed@example.com", "editor-password")
    form = editor.get(url).text
    assert 'name="encrypted"' not in form
    editor.post(url, {"csrf": csrf_of(form), "name": "TOKEN", "value": "x",
                      "encrypted": "on"}, 403)
    admin.post(url + "/delete", {"name": "DB_HOST"}, csrf_from=url)
    assert "db.internal" not in admin.get(url).text


def test_the_audit_trail_filters_and_exports(admin: Browser, platform: Platform) -> None:
    url = "/ui/admin/variables"
    admin.post(url, {"name": "A", "value": "1"}, csrf_from=url)
    add_user(platform, "boss@example.com", "boss-password", policy.Role.ADMINISTRATOR)
    boss = new_browser(admin.client)
    boss.sign_in("boss@example.com", "boss-password")
    boss.post(url, {"name": "B", "value": "2"}, csrf_from=url)
    page = admin.get("/ui/admin/audit?user=boss").text
    assert "environment variable &#39;B&#39; created" in page
    assert "environment variable &#39;A&#39; created" not in page
    assert "1 entry" in page
    export = admin.get("/ui/admin/audit/export?user=boss&format=csv")
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[0].startswith("identifier,createdAt,user")
    assert len(lines) == 2
    assert "boss@example.com" in lines[1]
    r = admin.get("/ui/admin/audit?since=last+week", 422)
    assert "since: must be a date" in r.text
    assert admin.get("/ui/admin/audit?since=2000-01-01&until=2000-01-02").text.count(
        "<tr><td>") == 0
    assert ADMIN[0] in admin.get("/ui/admin/audit").text

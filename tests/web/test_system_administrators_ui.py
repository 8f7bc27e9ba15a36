"""System administrators in the UI: a system administrator lists them, grants the role to an
email (a new user is made) and revokes it (the user stays); the last one is refused; a space
administrator sees neither the page nor its link, and the server refuses their forms."""

from __future__ import annotations

import re

from sqlalchemy import select

from sluiceway.services import auth, policy
from sluiceway.services.platform import Platform
from sluiceway.store.models import User
from tests.api.conftest import ADMIN
from tests.web.conftest import Browser, add_user, csrf_of, new_browser

URL = "/ui/admin/system-administrators"


def _admins(p: Platform) -> list[str]:
    with p.db.session() as s:
        return sorted(s.scalars(select(User.username).where(User.system_admin.is_(True))))


def _listed(html: str) -> list[str]:
    return re.findall(r'<tr><th scope="row">([^<]+?)(?: <small>|</th>)', html)


def test_grant_and_revoke_a_system_administrator(admin: Browser, platform: Platform) -> None:
    page = admin.get(URL).text
    assert _listed(page) == ["admin"]
    assert "the last one" in page
    assert f'action="{URL}/remove"' not in page  # no button to revoke the last one
    assert f'href="{URL}"' in admin.get("/ui/admin/platform").text  # the nav link
    r = admin.post(URL, {"email": "ops@example.com"}, csrf_from=URL)
    assert r.headers["location"] == f"{URL}?changed=granted"
    assert _admins(platform) == ["admin", "ops@example.com"]
    page = admin.get(URL).text
    assert _listed(page) == ["admin", "ops@example.com"]
    # the new one is a system administrator at once
    auth.set_password(platform, "ops@example.com", "ops-password-1")
    ops = new_browser(admin.client)
    ops.sign_in("ops@example.com", "ops-password-1")
    assert _listed(ops.get(URL).text) == ["admin", "ops@example.com"]
    r = admin.post(URL + "/remove", {"email": "ops@example.com"}, csrf_from=URL)
    assert r.headers["location"] == f"{URL}?changed=revoked"
    assert _admins(platform) == ["admin"]
    with platform.db.session() as s:  # the user stays, without the system role
        user = s.scalars(select(User).where(User.username == "ops@example.com")).one()
        assert user.system_admin is False
    ops.get(URL, 403)
    assert f'href="{URL}"' not in ops.get("/ui/admin/tokens").text


def test_the_last_one_is_refused_and_bad_input_named(admin: Browser,
                                                    platform: Platform) -> None:
    r = admin.post(URL + "/remove", {"email": "admin"}, 409, csrf_from=URL)
    assert "last system administrator" in r.text
    assert _admins(platform) == ["admin"]
    r = admin.post(URL, {"email": "not-an-email"}, 422, csrf_from=URL)
    assert "email: must be an email address" in r.text
    assert 'value="not-an-email"' in r.text  # what was typed is kept
    r = admin.post(URL, {"email": "admin"}, 409, csrf_from=URL)
    assert "system administrator already" in r.text
    admin.post(URL + "/remove", {"email": "nobody@example.com"}, 404, csrf_from=URL)
    assert _admins(platform) == ["admin"]
    # with two, one may revoke oneself, and then has the page no more
    admin.post(URL, {"email": "ops@example.com"}, csrf_from=URL)
    r = admin.post(URL + "/remove", {"email": ADMIN[0]}, csrf_from=URL)
    assert r.headers["location"] == "/ui/"
    assert _admins(platform) == ["ops@example.com"]
    admin.get(URL, 403)


def test_a_space_administrator_sees_no_link_and_is_refused(admin: Browser,
                                                          platform: Platform) -> None:
    add_user(platform, "boss@example.com", "boss-password", policy.Role.ADMINISTRATOR)
    boss = new_browser(admin.client)
    boss.sign_in("boss@example.com", "boss-password")
    assert "System administrators" not in boss.get("/ui/admin/users").text
    boss.get(URL, 403)
    token = csrf_of(boss.get("/ui/admin/users").text)
    boss.post(URL, {"csrf": token, "email": "boss@example.com"}, 403)
    boss.post(URL + "/remove", {"csrf": token, "email": "admin"}, 403)
    assert _admins(platform) == ["admin"]

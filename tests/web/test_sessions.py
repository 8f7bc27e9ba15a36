"""Signing in and out of the UI: the session cookie, CSRF on every form, idle expiry, the
login throttle, one's own password and the space switcher."""

from __future__ import annotations

from sqlalchemy import select, update

from sluiceway.services import policy, spaces
from sluiceway.services.auth import caller_for
from sluiceway.services.platform import Platform
from sluiceway.services.web_sessions import IDLE_SECONDS
from sluiceway.store.models import AuditEntry, WebSession
from tests.api.conftest import ADMIN
from tests.web.conftest import Browser, add_user, csrf_of, new_browser


def test_root_leads_to_the_sign_in_page(browser: Browser) -> None:
    assert browser.get("/", 303).headers["location"] == "/ui/"
    assert browser.get("/ui/", 303).headers["location"] == "/ui/login?next=/ui/"
    page = browser.get("/ui/login").text
    assert 'name="password"' in page
    assert 'type="password"' in page


def test_sign_in_sets_a_strict_cookie_and_shows_the_overview(browser: Browser) -> None:
    r = browser.sign_in(*ADMIN)
    assert r.headers["location"] == "/"
    cookie = next(c for c in r.headers.get_list("set-cookie")
                  if c.startswith("sluiceway_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    page = browser.get("/ui/")
    assert "Connections of Default Workspace" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_sign_in_goes_back_to_the_page_asked_for_but_never_to_another_host(
        browser: Browser) -> None:
    token = csrf_of(browser.get("/ui/login?next=/ui/account").text)
    r = browser.post("/ui/login", {"csrf": token, "login": "admin", "password": ADMIN[1],
                                   "next": "/ui/account"})
    assert r.headers["location"] == "/ui/account"
    other = new_browser(browser.client)
    token = csrf_of(other.get("/ui/login").text)
    r = other.post("/ui/login", {"csrf": token, "login": "admin", "password": ADMIN[1],
                                 "next": "//evil.example/"})
    assert r.headers["location"] == "/"


def test_a_wrong_password_is_refused_and_the_login_throttle_applies(browser: Browser) -> None:
    for _ in range(5):
        r = browser.sign_in("admin", "wrong-password", status=401)
        assert "wrong login or password" in r.text
        assert "sluiceway_session" not in r.headers.get("set-cookie", "")
    r = browser.sign_in(*ADMIN, status=429)  # locked: even the right password waits
    assert int(r.headers["retry-after"]) > 0
    assert "too many failed logins" in r.text


def test_the_sign_in_form_needs_its_csrf_token(browser: Browser) -> None:
    browser.get("/ui/login")
    browser.post("/ui/login", {"csrf": "forged", "login": "admin", "password": ADMIN[1]},
                 status=403)


def test_a_form_without_the_sessions_csrf_token_is_refused(admin: Browser) -> None:
    r = admin.post("/ui/logout", {"csrf": ""}, status=403)
    assert "security token" in r.text
    admin.post("/ui/logout", {"csrf": "not-the-token"}, status=403)
    admin.get("/ui/")  # still signed in


def test_a_form_posted_from_another_site_is_refused(admin: Browser) -> None:
    token = csrf_of(admin.get("/ui/").text)
    r = admin.post("/ui/logout", {"csrf": token}, status=403,
                   headers={"Origin": "https://evil.example"})
    assert "another site" in r.text
    admin.get("/ui/")


def test_sign_out_ends_the_session_on_the_server(admin: Browser, platform: Platform) -> None:
    stolen = admin.client.cookies.get("sluiceway_session")
    assert stolen
    r = admin.post("/ui/logout", {})
    assert r.headers["location"] == "/ui/login"
    with platform.db.session() as s:
        assert s.scalars(select(WebSession)).first() is None
    thief = new_browser(admin.client)
    thief.client.cookies.set("sluiceway_session", stolen)
    assert thief.get("/ui/", 303).headers["location"].startswith("/ui/login")


def test_a_session_idle_for_twelve_hours_is_over(admin: Browser, platform: Platform) -> None:
    admin.get("/ui/")
    with platform.db.session() as s:
        s.execute(update(WebSession).values(last_seen_at=WebSession.last_seen_at
                                            - IDLE_SECONDS + 120))
    admin.get("/ui/")  # 11 h 58 min idle: still on
    with platform.db.session() as s:
        s.execute(update(WebSession).values(last_seen_at=WebSession.last_seen_at
                                            - IDLE_SECONDS - 1))
    admin.get("/ui/", 303)
    with platform.db.session() as s:
        assert s.scalars(select(WebSession)).first() is None


def test_a_sign_in_sweeps_sessions_that_ran_out(admin: Browser, platform: Platform) -> None:
    with platform.db.session() as s:
        s.execute(update(WebSession).values(last_seen_at=WebSession.last_seen_at
                                            - IDLE_SECONDS - 1))
    other = new_browser(admin.client)
    other.sign_in(*ADMIN)
    with platform.db.session() as s:
        assert len(s.scalars(select(WebSession)).all()) == 1  # only the new one


def test_changing_ones_own_password(admin: Browser, platform: Platform) -> None:
    other = new_browser(admin.client)
    other.sign_in(*ADMIN)
    r = admin.post("/ui/account/password", {"current": "wrong-one", "new": "n3w-password",
                                            "repeat": "n3w-password"}, 422,
                   csrf_from="/ui/account")
    assert "is not your password" in r.text
    r = admin.post("/ui/account/password", {"current": ADMIN[1], "new": "short",
                                            "repeat": "other"}, 422, csrf_from="/ui/account")
    assert "does not match" in r.text
    assert "at least 8 characters" in r.text
    r = admin.post("/ui/account/password", {"current": ADMIN[1], "new": "n3w-password",
                                            "repeat": "n3w-password"}, 200,
                   csrf_from="/ui/account")
    assert "Your password was changed" in r.text
    admin.get("/ui/account")  # this session goes on
    other.get("/ui/", 303)  # the other one ended
    other.sign_in(*ADMIN, status=401)
    other.sign_in("admin", "n3w-password")
    with platform.db.session() as s:
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "user.set_password")).one()
    assert entry.user_name == "admin"
    assert entry.request["password"] == "**********"


def test_the_space_switcher_shows_only_the_users_spaces(browser: Browser,
                                                        platform: Platform) -> None:
    admin = caller_for(platform, "admin")
    team = spaces.create(platform, admin, spaces.SpaceInput("team", "Team space", "dev"))
    secret = spaces.create(platform, admin, spaces.SpaceInput("other", "Other space", "dev"))
    add_user(platform, "ann@example.com", "ann-password", policy.Role.VIEWER)
    add_user(platform, "ann@example.com", "ann-password", policy.Role.EDITOR, "team")
    browser.sign_in("ann@example.com", "ann-password")
    page = browser.get("/ui/").text
    assert "Team space" in page
    assert "Other space" not in page
    assert "Connections of Default Workspace" in page
    browser.post("/ui/space", {"workspace": team.id})
    assert "Connections of Team space" in browser.get("/ui/").text
    r = browser.post("/ui/space", {"workspace": secret.id}, 404)
    assert "not found" in r.text
    assert "Connections of Team space" in browser.get("/ui/").text


def test_the_sign_in_page_says_where_the_admin_password_comes_from(browser: Browser) -> None:
    for page in (browser.get("/ui/login").text,
                 browser.sign_in("admin", "wrong-password", status=401).text):
        assert "The first start of the server printed the <code>admin</code> password" in page
        assert "<code>sluiceway users set-password admin</code> sets a new one" in page

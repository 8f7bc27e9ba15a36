"""The installation's administration in the UI: the workers each space may use, set by a
system administrator (a bad count is a 422 naming the field, a non-system user is refused
and changes nothing), and the platform's information, read-only for every member."""

from __future__ import annotations

import re

from sluiceway import __version__
from sluiceway.services import auth, policy, workers
from sluiceway.services.platform import Platform
from tests.api.conftest import ADMIN
from tests.web.conftest import Browser, add_user, new_browser

PAGE = "/ui/admin/workers"


def _default(p: Platform) -> workers.SpaceWorkers:
    found = workers.allocation(p, auth.caller_for(p, "admin"))
    return next(s for s in found.spaces if s.identifier == "default")


def test_a_system_administrator_sets_a_spaces_workers(admin: Browser,
                                                      platform: Platform) -> None:
    pool = platform.settings.workers
    page = admin.get(PAGE).text
    assert f"The pool has {pool} worker" in page
    assert "(the whole pool)" in page
    admin.post(PAGE, {"space": "default", "workers": "0"}, csrf_from=PAGE)
    assert (_default(platform).workers, _default(platform).capped) == (0, True)
    assert "The workers of default are set." in admin.get(PAGE + "?changed=default").text
    bad = admin.post(PAGE, {"space": "default", "workers": str(pool + 1)}, 422,
                     csrf_from=PAGE).text
    assert f"workers: must be 0 to {pool}" in bad
    assert "workers: must be a whole number" in admin.post(
        PAGE, {"space": "default", "workers": "many"}, 422, csrf_from=PAGE).text
    admin.post(PAGE, {"space": "nowhere", "workers": "1"}, 404, csrf_from=PAGE)
    assert _default(platform).workers == 0
    admin.post(PAGE, {"space": "default", "workers": ""}, csrf_from=PAGE)
    assert not _default(platform).capped


def test_the_platform_page_and_who_may_set_workers(admin: Browser,
                                                   platform: Platform) -> None:
    info = admin.get("/ui/admin/platform").text
    assert __version__ in info
    assert "http://testserver/api/v1" in info
    assert re.search(r"<dt>Data folder</dt><dd>[^<]+</dd>", info)
    add_user(platform, "boss@example.com", "boss-password-1", policy.Role.ADMINISTRATOR)
    boss = new_browser(admin.client)
    boss.sign_in("boss@example.com", "boss-password-1")
    assert __version__ in boss.get("/ui/admin/platform").text
    nav = boss.get("/ui/admin/users").text
    assert "/ui/admin/workers" not in nav
    boss.get(PAGE, 403)
    boss.post(PAGE, {"space": "default", "workers": "0"}, 403, csrf_from="/ui/admin/users")
    assert not _default(platform).capped
    admin.post(PAGE, {"space": "default", "workers": "0", "csrf": "forged"}, 403)
    assert not _default(platform).capped


PIN = "/ui/admin/workers/pin"


def test_a_system_administrator_pins_and_releases_slots(admin: Browser,
                                                        platform: Platform) -> None:
    pool = platform.settings.workers
    assert pool >= 2
    page = admin.get(PAGE).text
    assert f'action="{PIN}"' in page
    assert "(pinned)" not in page
    r = admin.post(PIN, {"space": "default", "slots": f"{pool}, 1"}, csrf_from=PAGE)
    assert r.headers["location"] == "/ui/admin/workers?changed=default"
    got = _default(platform)
    assert (got.slots, got.workers, got.pinned) == ([1, pool], 2, True)
    page = admin.get(PAGE).text
    assert f"1, {pool} <small>(pinned)</small>" in page
    assert "Release the slots pinned to default" in page
    for slots, reason in ((str(pool + 1), f"slots: worker identifiers are 1 to {pool}"),
                          ("0", f"slots: worker identifiers are 1 to {pool}"),
                          ("1, 1", "slots: must not repeat a worker"),
                          ("one", "slots: must be slot numbers")):
        assert reason in admin.post(PIN, {"space": "default", "slots": slots}, 422,
                                    csrf_from=PAGE).text, slots
    admin.post(PIN, {"space": "nowhere", "slots": "1"}, 404, csrf_from=PAGE)
    assert _default(platform).slots == [1, pool]
    admin.post(PIN, {"space": "default", "slots": ""}, csrf_from=PAGE)
    got = _default(platform)
    assert (got.pinned, got.capped, got.workers) == (False, False, pool)
    assert "Release the slots" not in admin.get(PAGE).text


def test_only_a_system_administrator_pins_slots(admin: Browser, platform: Platform) -> None:
    add_user(platform, "boss@example.com", "boss-password-1", policy.Role.ADMINISTRATOR)
    boss = new_browser(admin.client)
    boss.sign_in("boss@example.com", "boss-password-1")
    boss.post(PIN, {"space": "default", "slots": "1"}, 403, csrf_from="/ui/admin/users")
    admin.post(PIN, {"space": "default", "slots": "1", "csrf": "forged"}, 403)
    assert not _default(platform).pinned
    assert not _default(platform).capped


def test_the_platform_page_shows_subscription_environment_and_windows(
        admin: Browser, platform: Platform) -> None:
    info = admin.get("/ui/admin/platform").text
    for heading in ("Subscription", "Environment", "Maintenance windows", "Environments"):
        assert f">{heading}</h2>" in info
    for url in ("oauth/callback", "oauth1/callback", "webhook", "http-proxy"):
        assert f"<code>http://testserver/api/v1/{url}</code>" in info
    assert re.search(r"<dt>Workers in the pool</dt><dd>"
                     f"{platform.settings.workers}</dd>", info)
    assert "<th scope=\"row\">Sluiceway at http://testserver</th>" in info
    # the API reads the same values
    api = admin.client.get("/api/v1/application/subscription", auth=ADMIN).json()
    assert api["webHookUrl"] in info
    assert api["oauth1CallbackUrl"] in info
    # nothing here can be changed: no form on the page (the update cycle answers 501)
    assert 'method="post"' not in info.split('<h2 id="subscription-h">')[1].split("</main>")[0]

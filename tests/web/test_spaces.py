"""The spaces page: a system administrator lists, creates, renames and deletes spaces (a
space that still holds objects is refused, naming them); anyone else sees their own spaces
and switches between them, with no button to change them, and the server refuses forged
posts."""

from __future__ import annotations

from sluiceway.services import auth, configurations, policy, spaces
from sluiceway.services.configurations import ConfigurationInput
from sluiceway.services.platform import Platform
from tests.web.conftest import Browser, add_user


def _identifiers(p: Platform) -> list[str]:
    return [s.identifier for s in spaces.list_spaces(p, auth.caller_for(p, "admin"))]


def test_a_system_administrator_creates_renames_and_deletes_a_space(
        admin: Browser, platform: Platform) -> None:
    page = admin.get("/ui/spaces").text
    assert "Create the space" in page
    admin.post("/ui/spaces", {"identifier": "shop-uat", "name": "Shop UAT",
                              "purpose": "uat"}, csrf_from="/ui/spaces")
    assert _identifiers(platform) == ["default", "shop-uat"]
    bad = admin.post("/ui/spaces", {"identifier": "Not Valid", "name": "x"}, 422,
                     csrf_from="/ui/spaces")
    assert "identifier" in bad.text
    taken = admin.post("/ui/spaces", {"identifier": "shop-uat", "name": "again"}, 409,
                       csrf_from="/ui/spaces")
    assert "exists already" in taken.text
    admin.post("/ui/spaces/shop-uat/rename", {"name": "Shop acceptance"},
               csrf_from="/ui/spaces")
    assert "Shop acceptance" in admin.get("/ui/spaces").text
    # a space holding a configuration is not deleted: the page says what it holds
    caller = auth.caller_for(platform, "admin")
    ws = spaces.get(platform, caller, "shop-uat").id
    configurations.create(platform, caller, ws, ConfigurationInput(
        type="storage", identifier="seen", name="Seen", object={"prototype": "storage",
                                                   "parameters": {}}))
    refused = admin.post("/ui/spaces/shop-uat/delete", {}, 409, csrf_from="/ui/spaces")
    assert "1 configurations" in refused.text
    assert "shop-uat" in _identifiers(platform)
    configurations.delete(platform, caller, ws, "storage", "seen")
    admin.post("/ui/spaces/shop-uat/delete", {}, csrf_from="/ui/spaces")
    assert _identifiers(platform) == ["default"]


def test_a_member_sees_their_spaces_switches_and_changes_none(
        browser: Browser, platform: Platform) -> None:
    admin = auth.caller_for(platform, "admin")
    for ident in ("north", "south"):
        spaces.create(platform, admin, spaces.SpaceInput(ident, ident.title(), "prod"))
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER, "north")
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER, "south")
    browser.sign_in("viewer@example.com", "viewer-password")
    page = browser.get("/ui/spaces").text
    assert "North" in page
    assert "South" in page
    assert "Default" not in page.split("<main", 1)[1]
    for button in ("Create the space", "Rename", "Delete"):
        assert button not in page.split("<main", 1)[1]
    south = spaces.get(platform, admin, "south").id
    browser.post("/ui/space", {"workspace": south}, csrf_from="/ui/spaces")
    listed = browser.get("/ui/spaces").text.split("<main", 1)[1]
    assert "shown now" in listed.split("<small>south</small>", 1)[1].split("</tr>")[0]
    assert "Switch to North" in listed
    browser.post("/ui/spaces", {"identifier": "mine", "name": "Mine"}, 403,
                 csrf_from="/ui/spaces")
    browser.post("/ui/spaces/north/rename", {"name": "Taken"}, 403, csrf_from="/ui/spaces")
    browser.post("/ui/spaces/north/delete", {}, 403, csrf_from="/ui/spaces")
    browser.post("/ui/spaces/north/delete", {"csrf": "forged"}, 403)
    assert sorted(_identifiers(platform)) == ["default", "north", "south"]
    assert spaces.get(platform, admin, "north").name == "North"

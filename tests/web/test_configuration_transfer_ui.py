"""Configurations downloaded as NDJSON from the UI (all, or those the list's search matches)
and uploaded back: a preview names each line's decision and writes nothing; an import with an
invalid line writes nothing and names the line's errors; a valid one writes them all. A viewer
sees no link or form and the server refuses their posts."""

from __future__ import annotations

import json

from sluiceway.services import auth, configurations, criteria, policy
from sluiceway.services.platform import Platform
from tests.web.conftest import Browser, add_user, csrf_of, new_browser
from tests.web.test_configuration_edit import _make, _space

FORM = "/ui/configurations/transfer"


def _two(p: Platform) -> None:
    _make(p, "transformer", "add-source", {
        "prototype": "set", "parameters": {"values": {"source": "shop"}}})
    _make(p, "transformer", "rename-id", {
        "prototype": "rename", "parameters": {"mapping": {"id": "order_id"}}})


def _count(p: Platform) -> int:
    return configurations.list_configurations(p, auth.caller_for(p, "admin"), _space(p),
                                              criteria.Criteria())[1]


def _post(b: Browser, mode: str, body: bytes, status: int) -> str:
    token = csrf_of(b.get(FORM).text)
    r = b.client.post(FORM, data={"csrf": token, "mode": mode},
                      files={"file": ("c.ndjson", body, "application/x-ndjson")},
                      follow_redirects=False)
    assert r.status_code == status, r.text[:2000]
    return r.text


def test_export_filters_and_import_previews_refuses_and_writes(
        admin: Browser, platform: Platform) -> None:
    _two(platform)
    listed = admin.get("/ui/configurations?q=rename").text
    assert 'href="/ui/configurations/export?q=rename"' in listed
    r = admin.get("/ui/configurations/export?q=rename")
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in r.headers["content-disposition"]
    items = [json.loads(line) for line in r.text.splitlines()]
    assert [i["identifier"] for i in items] == ["rename-id"]
    everything = admin.get("/ui/configurations/export").text.splitlines()
    assert sorted(json.loads(x)["identifier"] for x in everything) == [
        "add-source", "rename-id"]
    changed = dict(items[0], identifier="rename-copy", name="Rename copy")
    body = (everything[0] + "\n\n" + json.dumps(changed) + "\n").encode()
    preview = _post(admin, "preview", body, 200)
    assert "Dry run" in preview
    assert ">unchanged<" in preview
    assert ">create<" in preview
    assert "<th scope=\"row\">3</th>" in preview  # the line number, blank lines counted
    assert _count(platform) == 2
    bad = body + b"{not json\n"
    refused = _post(admin, "import", bad, 422)
    assert "nothing was imported" in refused
    assert "<th scope=\"row\">4</th>" in refused
    assert ">invalid<" in refused
    assert _count(platform) == 2
    done = _post(admin, "import", body, 200)
    assert "Imported" in done
    assert ">created<" in done
    assert _count(platform) == 3
    empty = _post(admin, "preview", b"\n", 422)
    assert "choose an NDJSON file" in empty


def test_a_viewer_has_no_transfer_and_is_refused(admin: Browser, platform: Platform) -> None:
    _two(platform)
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    listed = viewer.get("/ui/configurations").text
    assert "/configurations/export" not in listed
    assert "/configurations/transfer" not in listed
    viewer.get(FORM, 403)
    viewer.get("/ui/configurations/export", 403)
    token = csrf_of(viewer.get("/ui/configurations").text)
    line = json.dumps({"type": "transformer", "identifier": "sneaked", "name": "x", "object": {
        "prototype": "set", "parameters": {"values": {}}}})
    r = viewer.client.post(FORM, data={"csrf": token, "mode": "import", "ndjson": line},
                           follow_redirects=False)
    assert r.status_code == 403
    r = admin.client.post(FORM, data={"csrf": "forged", "mode": "import", "ndjson": line},
                          follow_redirects=False)
    assert r.status_code == 403
    assert _count(platform) == 2

"""Alumio storages in the UI: the list with sizes, a storage's entities searched by key and
paged, deleting one entity and clearing the storage; a viewer has no delete button and the
server refuses them."""

from __future__ import annotations

import re

from sluiceway.services import auth, configurations, criteria, policy, storages
from sluiceway.services.configurations import ConfigurationInput
from sluiceway.services.platform import Platform
from tests.web.conftest import Browser, add_user, new_browser

PAGE = "/ui/storages/seen"


def _storage(p: Platform, n: int) -> str:
    admin = auth.caller_for(p, "admin")
    ws = next(iter(admin.workspace_ids))
    configurations.create(p, admin, ws, ConfigurationInput(
        type="storage", identifier="seen", name="Seen products",
        object={"prototype": "storage", "parameters": {}}))
    for i in range(n):
        storages.put_entity(p, admin, ws, "seen", f"key-{i:03}", {"n": i, "note": "<b>"})
    return ws


def _keys(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><code>(key-\d+)</code>', html)


def test_storages_entities_pages_delete_and_clear(admin: Browser, platform: Platform) -> None:
    ws = _storage(platform, 55)
    listed = admin.get("/ui/storages").text
    assert "Seen products" in listed
    assert "<td>55</td>" in listed
    assert "No storage matches" in admin.get("/ui/storages?q=nothing").text
    first = admin.get(PAGE).text
    assert _keys(first) == [f"key-{i:03}" for i in range(50)]
    assert "&#34;note&#34;: &#34;&lt;b&gt;&#34;" in first
    more = re.search(r'href="\?q=&amp;next=([^"]+)">Next', first)
    assert more is not None
    assert _keys(admin.get(f"{PAGE}?next={more.group(1)}").text) == [
        f"key-{i:03}" for i in range(50, 55)]
    assert _keys(admin.get(f"{PAGE}?q=key-01").text) == [f"key-{i:03}" for i in range(10, 20)]
    assert "next: must be a cursor" in admin.get(f"{PAGE}?next=garbage", 422).text
    admin.post(f"{PAGE}/entities/delete", {"entity": "key-007"}, csrf_from=PAGE)
    caller = auth.caller_for(platform, "admin")
    crit = criteria.Criteria()
    left = storages.list_entities(platform, caller, ws, "seen", crit)
    assert left.total == 54
    admin.post(f"{PAGE}/clear", {}, csrf_from=PAGE)
    assert storages.list_entities(platform, caller, ws, "seen", crit).total == 0
    admin.get("/ui/storages/missing", 404)


def test_a_viewer_reads_but_may_not_delete(admin: Browser, platform: Platform) -> None:
    ws = _storage(platform, 3)
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    page = viewer.get(PAGE).text
    assert _keys(page) == ["key-000", "key-001", "key-002"]
    assert "/entities/delete" not in page
    assert "/clear" not in page
    viewer.post(f"{PAGE}/clear", {}, 403, csrf_from="/ui/storages")
    caller = auth.caller_for(platform, "admin")
    assert storages.list_entities(platform, caller, ws, "seen",
                                  criteria.Criteria()).total == 3

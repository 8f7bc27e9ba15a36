"""Dumps in the UI: a config posted for a source, the dump's output and its signed download,
deletion; a bad config names its field; a viewer has no form and is refused."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from sluiceway.services import actors, auth, dumps, policy
from sluiceway.services.platform import Platform
from tests.helpers import wait_until
from tests.web.conftest import Browser, add_user, definition, new_browser

CONFIG = {"parameters": {}, "steps": [
    {"id": "u", "type": "resources", "parameters": {"stream": "users", "columns": "id"}}],
    "output": [{"source": "steps", "id": "u", "key": "id", "label": "ids"}]}


def _source(p: Platform) -> str:
    admin = auth.caller_for(p, "admin")
    ws = next(iter(admin.workspace_ids))
    return actors.create(p, admin, "source", ws, definition(p, "source", "sample"),
                         {"rows": 30, "streams": ["users"]}, "shop").id


def test_a_dump_runs_downloads_and_is_deleted(running: Browser) -> None:
    p: Platform = running.client.app.state.platform  # type: ignore[attr-defined]
    src = _source(p)
    page = f"/ui/dumps?source={src}"
    r = running.post("/ui/dumps", {"source": src, "config": json.dumps(CONFIG)},
                     csrf_from=page)
    assert r.headers["location"] == page
    wait_until(lambda: 'data-live="false"' in running.get(f"/ui/dumps/list?source={src}").text,
               what="the dump to finish")
    rows = running.get(f"/ui/dumps/list?source={src}").text
    assert ">completed<" in rows, rows
    assert "&#34;ids&#34;" in rows
    link = re.search(r'<a href="(/apis/[^"]+/download\?[^"]+)" download>', rows)
    assert link is not None, rows
    r = TestClient(running.client.app).get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 200, r.text[:500]
    assert len(r.text.strip().splitlines()) == 30
    admin = auth.caller_for(p, "admin")
    (made,) = dumps.list_dumps(p, admin, src)
    running.post(f"/ui/dumps/{src}/{made.id}/delete", {}, csrf_from=page)
    assert dumps.list_dumps(p, admin, src) == []


def test_a_bad_dump_names_the_field_and_a_viewer_is_refused(
        admin: Browser, platform: Platform) -> None:
    src = _source(platform)
    page = f"/ui/dumps?source={src}"
    r = admin.post("/ui/dumps", {"source": src, "config": "{steps"}, 422, csrf_from=page)
    assert "config: is not JSON" in r.text
    bad = {**CONFIG, "steps": [{"id": "u", "type": "teleport", "parameters": {}}]}
    r = admin.post("/ui/dumps", {"source": src, "config": json.dumps(bad)}, 422,
                   csrf_from=page)
    assert "steps[0].type" in r.text
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    assert 'action="/ui/dumps" class' in viewer.get(page).text  # the source picker (GET)
    assert 'method="post" action="/ui/dumps"' not in viewer.get(page).text
    viewer.post("/ui/dumps", {"source": src, "config": json.dumps(CONFIG)}, 403,
                csrf_from=page)
    assert dumps.list_dumps(platform, auth.caller_for(platform, "admin"), src) == []

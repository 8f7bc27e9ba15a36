"""Imports in the UI: a file uploaded from the browser into a destination table, with the
rows that did not load shown beside it; a viewer has no form and the server refuses them."""

from __future__ import annotations

import re

from sluiceway.services import policy
from sluiceway.services.auth import caller_for
from sluiceway.services.platform import Platform
from tests.helpers import wait_until
from tests.web.conftest import Browser, add_user, csrf_of, definition, new_browser


def _destination(p: Platform) -> str:
    from sluiceway.services import actors

    admin = caller_for(p, "admin")
    ws = next(iter(admin.workspace_ids))
    return actors.create(p, admin, "destination", ws, definition(p, "destination", "duckdb"),
                         {"path": "imports.duckdb"}, "lake").id


def _upload(b: Browser, fields: dict[str, str], body: bytes, status: int = 303,
            name: str = "amounts.csv") -> str:
    token = csrf_of(b.get("/ui/imports").text)
    r = b.client.post("/ui/imports", data={"csrf": token, **fields},
                      files={"file": (name, body, "text/csv")}, follow_redirects=False)
    assert r.status_code == status, r.text[:2000]
    return r.text


def test_an_import_loads_and_shows_its_bad_rows(running: Browser) -> None:
    p: Platform = running.client.app.state.platform  # type: ignore[attr-defined]
    dst = _destination(p)
    body = b"id,amount\n1,1.5\n2,2.5\n3,3.5,surplus\n4,4.5\n"
    _upload(running, {"destination": dst, "table": "amounts", "mode": "append",
                      "bad_rows": "skip", "max_bad_rows": "10"}, body)
    wait_until(lambda: 'data-live="false"' in running.get("/ui/imports/list").text,
               what="the import to load")
    rows = running.get("/ui/imports/list").text
    assert ">completed<" in rows, rows
    assert "1 row not loaded" in rows
    assert "expected 2 fields, found 3" in rows
    assert "<td>3</td><td>1</td>" in rows
    import_id = re.search(r'action="/ui/imports/([^"/]+)/delete"', rows)
    assert import_id is not None
    add_user(p, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(running.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    assert "/delete" not in viewer.get("/ui/imports").text
    viewer.post(f"/ui/imports/{import_id.group(1)}/delete", {}, 403, csrf_from="/ui/imports")
    running.post(f"/ui/imports/{import_id.group(1)}/delete", {}, csrf_from="/ui/imports")
    assert "No import yet." in running.get("/ui/imports").text


def test_a_bad_import_names_the_field_and_a_viewer_is_refused(
        admin: Browser, platform: Platform) -> None:
    dst = _destination(platform)
    page = _upload(admin, {"destination": dst, "table": "t", "mode": "merge"}, b"a\n1\n", 422)
    assert "mode: must be append or replace" in page
    page = _upload(admin, {"destination": dst, "table": "t"}, b"a\n1\n", 422, name="x.rar")
    assert "format: &#39;rar&#39; cannot be imported" in page
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    assert 'action="/ui/imports"' not in viewer.get("/ui/imports").text
    token = csrf_of(viewer.get("/ui/").text)
    r = viewer.client.post("/ui/imports", data={"csrf": token, "destination": dst,
                                                "table": "t"},
                           files={"file": ("a.csv", b"a\n1\n", "text/csv")},
                           follow_redirects=False)
    assert r.status_code == 403, r.text[:500]
    forged = admin.client.post("/ui/imports", data={"csrf": "forged", "destination": dst,
                                                    "table": "t"},
                               files={"file": ("a.csv", b"a\n1\n", "text/csv")},
                               follow_redirects=False)
    assert forged.status_code == 403

"""Backups in the UI: made, exported as a password-protected ZIP, downloaded through the
signed link, then deleted; a viewer has no button and the server refuses their post."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from sluiceway.services import auth, backups, policy
from sluiceway.services.platform import Platform
from tests.helpers import wait_until
from tests.web.conftest import Browser, add_user, new_browser


def _backups(p: Platform) -> list[backups.BackupView]:
    admin = auth.caller_for(p, "admin")
    ws = next(iter(admin.workspace_ids))
    return backups.list_backups(p, admin, ws, backups.ListQuery())[0]


def _settled(b: Browser) -> str:
    wait_until(lambda: 'data-live="false"' in b.get("/ui/backups/list").text,
               what="the backups to settle")
    return b.get("/ui/backups/list").text


def test_a_backup_is_made_exported_downloaded_and_deleted(running: Browser) -> None:
    p: Platform = running.client.app.state.platform  # type: ignore[attr-defined]
    running.post("/ui/backups", {"description": "before the migration", "expires_days": "3"},
                 csrf_from="/ui/backups")
    rows = _settled(running)
    assert "before the migration" in rows
    assert ">completed<" in rows, rows
    (made,) = _backups(p)
    running.post(f"/ui/backups/{made.id}/export", {"format": "zip", "password": "s3cret"},
                 csrf_from="/ui/backups")
    rows = _settled(running)
    link = re.search(r'<a href="(/v2/project-backups/[^"]+)" download>', rows)
    assert link is not None, rows
    assert "(password)" in rows
    r = TestClient(running.client.app).get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 200, r.text[:500]
    assert r.content[:2] == b"PK"
    running.post(f"/ui/backups/{made.id}/export/delete", {}, csrf_from="/ui/backups")
    assert _backups(p)[0].export is None
    running.post(f"/ui/backups/{made.id}/delete", {}, csrf_from="/ui/backups")
    assert _backups(p) == []
    assert "No backup yet." in running.get("/ui/backups").text


def test_a_bad_backup_names_the_field_and_a_viewer_is_refused(
        admin: Browser, platform: Platform) -> None:
    r = admin.post("/ui/backups", {"expires_days": "-1"}, 422, csrf_from="/ui/backups")
    assert "expiration_time: must be in the future" in r.text
    r = admin.post("/ui/backups", {"expires_days": "soon"}, 422, csrf_from="/ui/backups")
    assert "expires_days: must be a number of days" in r.text
    r = admin.post("/ui/backups", {"destination": "nope"}, 422, csrf_from="/ui/backups")
    assert "destination_ids[0]: is not a destination of this project" in r.text
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    assert 'action="/ui/backups"' not in viewer.get("/ui/backups").text
    viewer.post("/ui/backups", {"description": "x"}, 403, csrf_from="/ui/backups")
    assert _backups(platform) == []


def test_a_backup_is_restored_from_the_ui_with_its_options(running: Browser) -> None:
    """The configuration is put back (a renamed source gets its name again) and the restore's
    phase shows in the list until it completes; a restore with nothing chosen names the
    field."""
    from sluiceway.services import actors
    from tests.web.conftest import sample_connection

    p: Platform = running.client.app.state.platform  # type: ignore[attr-defined]
    admin = auth.caller_for(p, "admin")
    import duckdb

    sample_connection(p, "orders")
    lake = p.settings.data_dir / "files" / "orders.duckdb"
    lake.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(lake)) as db:  # the destination's table the backup holds
        db.execute("CREATE TABLE events AS SELECT 1 AS id, 'a' AS name")
    ws = next(iter(admin.workspace_ids))
    (src,) = actors.list_for(p, admin, "source", ws)
    running.post("/ui/backups", {"description": "known good"}, csrf_from="/ui/backups")
    _settled(running)
    (made,) = _backups(p)
    assert f'action="/ui/backups/{made.id}/restore"' in running.get("/ui/backups").text
    actors.update_config(p, admin, "source", src.id, {"rows": 50}, "renamed by mistake")
    r = running.post(f"/ui/backups/{made.id}/restore", {}, 422, csrf_from="/ui/backups")
    assert "database_restores: name what to restore" in r.text
    running.post(f"/ui/backups/{made.id}/restore", {"configuration": "on"},
                 csrf_from="/ui/backups")
    rows = _settled(running)
    assert "restore <span class=\"badge completed\">completed</span>" in rows, rows
    assert actors.get(p, admin, "source", src.id).name == "orders events"


def test_a_viewer_has_no_restore_button_and_is_refused(admin: Browser,
                                                       platform: Platform) -> None:
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    assert "/restore" not in viewer.get("/ui/backups").text
    viewer.post("/ui/backups/nope/restore", {"configuration": "on"}, 403,
                csrf_from="/ui/backups")
    viewer.post("/ui/backups/nope/restore", {"csrf": "forged", "configuration": "on"}, 403)


def test_files_of_a_backup_are_restored_from_the_ui_into_a_folder(running: Browser) -> None:
    """The restore form offers the backup's files, a folder and whether to empty it; the
    files land there and the list says where; a path the backup lacks names the field."""
    import json

    p: Platform = running.client.app.state.platform  # type: ignore[attr-defined]
    running.post("/ui/backups", {"description": "files"}, csrf_from="/ui/backups")
    _settled(running)
    (made,) = _backups(p)
    page = running.get("/ui/backups").text
    assert 'name="path" value="config.json"' in page
    assert 'name="target_path"' in page
    assert 'name="clear_target"' in page
    root = p.settings.allowed_roots[0]
    folder = root / "restored-here"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stale.txt").write_text("old")
    r = running.post(f"/ui/backups/{made.id}/restore", {"paths": "nothing/here"}, 422,
                     csrf_from="/ui/backups")
    assert "path_restore.source_paths[0]: is not a path of the backup" in r.text
    r = running.post(f"/ui/backups/{made.id}/restore", {"target_path": "restored-here"},
                     422, csrf_from="/ui/backups")
    assert "path_restore.source_paths: must name at least one path" in r.text
    assert (folder / "stale.txt").exists()
    assert _backups(p)[0].restore is None
    running.post(f"/ui/backups/{made.id}/restore",
                 {"path": "config.json", "target_path": "restored-here",
                  "clear_target": "on"}, csrf_from="/ui/backups")
    rows = _settled(running)
    assert "restore <span class=\"badge completed\">completed</span>" in rows, rows
    assert "files into restored-here" in rows
    restored = json.loads((folder / "config.json").read_text())
    assert restored["workspace"]["id"] == made.workspace_id
    assert not (folder / "stale.txt").exists()
    view = _backups(p)[0].restore
    assert view is not None
    assert view.path_restore is not None
    assert view.path_restore.source_paths == ("config.json",)


def test_a_viewer_sees_no_file_restore_and_a_forged_one_is_refused(running: Browser) -> None:
    p: Platform = running.client.app.state.platform  # type: ignore[attr-defined]
    running.post("/ui/backups", {"description": "kept"}, csrf_from="/ui/backups")
    _settled(running)
    (made,) = _backups(p)
    add_user(p, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(running.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    page = viewer.get("/ui/backups").text
    assert "kept" in page
    assert 'name="path"' not in page
    assert "/restore" not in page
    viewer.post(f"/ui/backups/{made.id}/restore",
                {"path": "config.json", "target_path": "by-viewer"}, 403,
                csrf_from="/ui/backups")
    assert _backups(p)[0].restore is None
    assert not (p.settings.allowed_roots[0] / "by-viewer").exists()

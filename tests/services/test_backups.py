"""The backup service called directly: typed views in the core's words, the policy, the
audit writer, and errors naming the typed inputs' fields."""

from __future__ import annotations

import dataclasses
import time

import pytest
from sqlalchemy import select

from sluiceway.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sluiceway.services import audit, auth, backups, criteria, space_users
from sluiceway.services.platform import Platform
from sluiceway.store.models import Workspace


def _default(p: Platform) -> str:
    with p.db.session() as s:
        return s.scalars(select(Workspace.id).where(Workspace.slug == "default")).one()


def test_a_new_backup_is_a_frozen_view_in_the_cores_words(platform: Platform,
                                                           admin: auth.Caller) -> None:
    ws = _default(platform)
    made = backups.create_backup(platform, admin, ws, description="before the upgrade")
    assert isinstance(made, backups.BackupView)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.phase = "completed"  # type: ignore[misc]
    assert (made.workspace_id, made.phase, made.description) == (
        ws, "pending", "before the upgrade")
    assert (made.creating, made.running, made.deletable) == (True, True, False)
    assert (made.export, made.restore, made.dumps) == (None, None, ())
    assert (made.expires_at or 0) > time.time()
    assert backups.get_backup(platform, admin, made.id) == made


def test_a_change_writes_one_audit_entry_in_the_cores_words(platform: Platform,
                                                             admin: auth.Caller) -> None:
    ws = _default(platform)
    made = backups.create_backup(platform, admin, ws)
    backups.update_backup(platform, admin, made.id, description="kept")
    entries, total = audit.list_entries(platform, admin, criteria.Criteria(), ws)
    assert total == 2
    assert [e.action for e in entries] == ["backup.update", "backup.create"]
    assert set(entries[1].request) == {"id", "description", "expires_at", "destination_ids"}
    assert backups.get_backup(platform, admin, made.id).description == "kept"


def test_a_viewer_reads_but_may_not_change(platform: Platform, admin: auth.Caller) -> None:
    ws = _default(platform)
    made = backups.create_backup(platform, admin, ws)
    space_users.add_member(platform, admin, "default", "viewer@example.com", ["ROLE_USER"])
    viewer = auth.caller_for(platform, "viewer@example.com", "192.0.2.9")
    assert backups.get_backup(platform, viewer, made.id).id == made.id
    before = audit.list_entries(platform, admin, criteria.Criteria(), ws)[1]
    with pytest.raises(Forbidden):
        backups.create_backup(platform, viewer, ws)
    with pytest.raises(Forbidden):
        backups.update_backup(platform, viewer, made.id, description="mine")
    assert audit.list_entries(platform, admin, criteria.Criteria(), ws)[1] == before


def test_another_spaces_caller_finds_nothing(platform: Platform, admin: auth.Caller) -> None:
    made = backups.create_backup(platform, admin, _default(platform))
    auth.create_user(platform, "eve", "eve-password", "eve-team")
    eve = auth.caller_for(platform, "eve")
    with pytest.raises(NotFound):
        backups.get_backup(platform, eve, made.id)
    with pytest.raises(NotFound):
        backups.delete_backup(platform, eve, made.id)
    (own,) = eve.workspace_ids
    assert backups.list_backups(platform, eve, own, backups.ListQuery()) == ([], 0)


@pytest.mark.parametrize(("kw", "path"), [
    ({"expires_at": 1.0}, "expiration_time"),
    ({"expires_at": time.time() + 400 * 86400}, "expiration_time"),
    ({"destination_ids": ["00000000-0000-4000-8000-000000000000"]}, "destination_ids[0]"),
    ({"description": "x" * 1001}, "description"),
])
def test_bad_input_names_the_typed_inputs_field(platform: Platform, admin: auth.Caller,
                                                kw: dict[str, object], path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        backups.create_backup(platform, admin, _default(platform), **kw)  # type: ignore[arg-type]
    assert [e.path for e in caught.value.errors] == [path]


def test_a_restore_of_an_incomplete_backup_is_refused(platform: Platform,
                                                      admin: auth.Caller) -> None:
    made = backups.create_backup(platform, admin, _default(platform))
    with pytest.raises(InvalidInput) as caught:
        backups.restore(platform, admin, made.id)
    assert caught.value.errors[0].path == "database_restores"
    with pytest.raises(Conflict, match="not complete"):
        backups.restore(platform, admin, made.id, restore_configuration=True)


def test_the_list_pages_newest_first(platform: Platform, admin: auth.Caller) -> None:
    ws = _default(platform)
    ids = [backups.create_backup(platform, admin, ws, description=f"night {n}").id
           for n in range(3)]
    page, total = backups.list_backups(platform, admin, ws, backups.ListQuery(
        newest_first=True, limit=2))
    assert total == 3
    assert [v.id for v in page] == ids[::-1][:2]
    found, _ = backups.list_backups(platform, admin, ws, backups.ListQuery(search_term="NIGHT 1"))
    assert [v.id for v in found] == [ids[1]]

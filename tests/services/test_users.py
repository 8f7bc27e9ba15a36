"""The users' services directly: system administrators (never the last one, also when two
removals race), a user's preferences, table filters and ``retry_sync``."""

from __future__ import annotations

import threading

import pytest

from sluiceway.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sluiceway.services import (
    auth,
    criteria,
    directory,
    profile,
    space_sync,
    space_users,
    table_filters,
)
from sluiceway.services.platform import Platform


def test_two_removals_at_once_leave_one_system_administrator(platform: Platform,
                                                             admin: auth.Caller) -> None:
    directory.add_admin(platform, admin, "ops@example.com")
    ops = auth.caller_for(platform, "ops@example.com")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def remove(caller: auth.Caller, email: str) -> None:
        start.wait()
        try:
            directory.remove_admin(platform, caller, email)
            outcomes.append("removed")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=remove, args=(admin, "ops@example.com")),
               threading.Thread(target=remove, args=(ops, "admin"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["refused", "removed"]
    # (``admin`` is the caller as loaded before the race: its role may be gone since)
    left, total = directory.list_admins(platform, admin, criteria.Criteria())
    assert total == 1
    assert auth.caller_for(platform, left[0].email).system_admin


def test_only_a_system_administrator_manages_them(platform: Platform,
                                                  admin: auth.Caller) -> None:
    space_users.assign(platform, admin, "default", [("ann@example.com", ["ROLE_ADMINISTRATOR"])])
    ann = auth.caller_for(platform, "ann@example.com")
    with pytest.raises(Forbidden):
        directory.add_admin(platform, ann, "ann@example.com")
    with pytest.raises(Forbidden):
        directory.list_users(platform, ann)
    with pytest.raises(InvalidInput) as bad:
        directory.add_admin(platform, admin, "ann@example.com", ["ROLE_ADMINISTRATOR"])
    assert [e.path for e in bad.value.errors] == ["roles[0]"]
    directory.add_admin(platform, admin, "ann@example.com")
    everyone, total = directory.list_users(platform, admin)
    assert total == 2
    assert [(u.email, u.system_admin, u.has_password, u.spaces) for u in everyone] == [
        ("admin", True, True, (("default", "ROLE_ADMINISTRATOR"),)),
        ("ann@example.com", True, False, (("default", "ROLE_ADMINISTRATOR"),))]


def test_preferences_merge_and_a_null_removes_a_key(platform: Platform,
                                                    admin: auth.Caller) -> None:
    profile.update_preferences(platform, admin, None, {"a": 1, "b": {"c": 2}})
    view = profile.update_preferences(platform, admin, None, {"a": None, "d": [1]})
    assert view.preferences == {"b": {"c": 2}, "d": [1]}
    assert profile.me(platform, admin, "default").preferences == {"b": {"c": 2}, "d": [1]}
    with pytest.raises(InvalidInput):
        profile.update_preferences(platform, admin, None,
                                   {"big": "x" * profile.MAX_PREFERENCES})
    assert profile.me(platform, admin, None).terms_accepted_at is None
    accepted = profile.accept_terms(platform, admin, None).terms_accepted_at
    assert accepted is not None
    assert profile.me(platform, admin, None).terms_accepted_at == accepted


def test_a_table_filter_is_its_owners_alone(platform: Platform, admin: auth.Caller) -> None:
    space_users.assign(platform, admin, "default", [("bo@example.com", ["ROLE_USER"])])
    bo = auth.caller_for(platform, "bo@example.com")
    made = table_filters.create(platform, bo, table_filters.FilterInput(
        "tasks", "failed", {"status": "failed"}))
    assert table_filters.list_own(platform, admin, criteria.Criteria()) == ([], 0)
    with pytest.raises(NotFound):
        table_filters.delete(platform, admin, made.id)
    views, total = table_filters.list_own(platform, bo, criteria.Criteria())
    assert (total, [v.filter for v in views]) == (1, [{"status": "failed"}])
    with pytest.raises(InvalidInput):
        table_filters.update(platform, bo, made.id,
                             table_filters.FilterInput(" ", "x", {}))


def test_retry_sync_is_for_system_administrators_and_knows_the_space(
        platform: Platform, admin: auth.Caller) -> None:
    assert "nothing to retry" in space_sync.retry_sync(platform, admin, "default")
    with pytest.raises(NotFound):
        space_sync.retry_sync(platform, admin, "no-such-space")
    space_users.assign(platform, admin, "default", [("cy@example.com", ["ROLE_ADMINISTRATOR"])])
    with pytest.raises(Forbidden):
        space_sync.retry_sync(platform, auth.caller_for(platform, "cy@example.com"), "default")


def test_who_may_set_a_password(platform: Platform, admin: auth.Caller) -> None:
    """An administrator of every space the user is in, or a system administrator; a user
    in none of the caller's spaces is not found; the old password stops working at once."""
    from sluiceway.services import spaces

    spaces.create(platform, admin, spaces.SpaceInput("other", "Other", "dev", ""))
    for email, role in (("boss@example.com", "ROLE_ADMINISTRATOR"),
                        ("ed@example.com", "ROLE_EDITOR"), ("vi@example.com", "ROLE_USER"),
                        ("two@example.com", "ROLE_USER")):
        space_users.add_member(platform, admin, "default", email, [role])
    space_users.add_member(platform, admin, "other", "two@example.com", ["ROLE_USER"])
    space_users.add_member(platform, admin, "other", "far@example.com", ["ROLE_USER"])
    boss = auth.caller_for(platform, "boss@example.com")
    editor = auth.caller_for(platform, "ed@example.com")
    space_users.set_password(platform, boss, "vi@example.com", "given-by-boss")
    with pytest.raises(Forbidden):
        space_users.set_password(platform, editor, "vi@example.com", "given-by-ed-1")
    with pytest.raises(Forbidden, match="system administrator"):
        space_users.set_password(platform, boss, "two@example.com", "given-by-boss")
    with pytest.raises(NotFound):
        space_users.set_password(platform, boss, "far@example.com", "given-by-boss")
    with pytest.raises(InvalidInput):
        space_users.set_password(platform, boss, "vi@example.com", "short")
    with pytest.raises(Forbidden):  # a password refused with the user's addition undone
        space_users.add_member(platform, boss, "default", "far@example.com", ["ROLE_USER"],
                               "given-by-boss")
    with pytest.raises(NotFound):
        space_users.get_member(platform, boss, "default", "far@example.com")
    space_users.set_password(platform, admin, "two@example.com", "given-by-admin")
    with platform.db.session() as s:
        from sqlalchemy import select

        from sluiceway.artifacts import verify_password
        from sluiceway.store.models import User

        stored = {u: h for u, h in s.execute(select(User.username, User.password_hash))}
    assert verify_password("given-by-boss", stored["vi@example.com"])
    assert verify_password("given-by-admin", stored["two@example.com"])
    assert stored["far@example.com"] == ""

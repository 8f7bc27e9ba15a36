"""The one policy: roles per space, system administrators, and the services that consult it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sluiceway.core.errors import Forbidden, InvalidInput, NotFound
from sluiceway.services import actors, auth, policy, workspaces
from sluiceway.services.platform import Platform
from sluiceway.store.models import ConnectorDefinition, Membership, User, Workspace

OWN, OTHER = "ws-own", "ws-other"


def _caller(role: str | None, system_admin: bool = False) -> auth.Caller:
    roles = {OWN: role} if role else {}
    return auth.Caller("u1", "someone@example.com", frozenset(roles), roles, system_admin)


@pytest.mark.parametrize(("role", "action", "expected"), [
    ("ROLE_USER", policy.READ, None),
    ("ROLE_USER", policy.CHANGE, Forbidden),
    ("ROLE_USER", policy.MANAGE, Forbidden),
    ("ROLE_EDITOR", policy.CHANGE, None),
    ("ROLE_EDITOR", policy.MANAGE, Forbidden),
    ("ROLE_ADMINISTRATOR", policy.MANAGE, None),
    ("ROLE_ADMINISTRATOR", policy.SYSTEM, Forbidden),
])
def test_a_role_allows_what_it_names_and_no_more(role: str, action: policy.Action,
                                                 expected: type[Exception] | None) -> None:
    caller = _caller(role)
    if expected is None:
        policy.require(caller, action, OWN)
    else:
        with pytest.raises(expected):
            policy.require(caller, action, OWN)
    assert policy.allows(caller, action, OWN) is (expected is None)


@pytest.mark.parametrize("role", ["ROLE_USER", "ROLE_EDITOR", "ROLE_ADMINISTRATOR"])
def test_a_space_the_caller_is_not_in_is_not_found_whatever_the_action(role: str) -> None:
    for action in (policy.READ, policy.CHANGE, policy.MANAGE):
        with pytest.raises(NotFound):
            policy.require(_caller(role), action, OTHER)


def test_a_system_administrator_is_an_administrator_in_every_space() -> None:
    sysadmin = _caller(None, system_admin=True)
    policy.require(sysadmin, policy.MANAGE, OTHER)
    policy.require(sysadmin, policy.SYSTEM)
    assert policy.role_in(sysadmin, OTHER) is policy.Role.ADMINISTRATOR


@pytest.mark.parametrize(("roles", "expected"), [
    (["ROLE_USER"], policy.Role.VIEWER),
    (["ROLE_USER", "ROLE_EDITOR"], policy.Role.EDITOR),
    (["ROLE_ADMINISTRATOR", "ROLE_USER"], policy.Role.ADMINISTRATOR),
])
def test_a_role_array_counts_as_its_strongest_role(roles: list[str],
                                                   expected: policy.Role) -> None:
    assert policy.strongest(roles) is expected


@pytest.mark.parametrize(("roles", "reason"), [
    ([], "at least one"), (["ROLE_USER", "ROLE_USER"], "repeat"),
    (["ROLE_OWNER"], "unknown role"), (["ROLE_SYSTEM_ADMINISTRATOR"], "unknown role")])
def test_a_bad_role_array_is_refused_naming_the_field(roles: list[str], reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        policy.strongest(roles)
    assert caught.value.errors[0].path == "roles"
    assert reason in caught.value.errors[0].reason


def test_existing_users_keep_their_rights(platform: Platform) -> None:
    auth.create_user(platform, "bob", "bob-password", "bob-team")
    admin = auth.caller_for(platform, "admin")
    bob = auth.caller_for(platform, "bob")
    assert admin.system_admin
    assert not bob.system_admin
    (bob_space,) = bob.workspace_ids
    assert policy.role_in(bob, bob_space) is policy.Role.ADMINISTRATOR
    assert admin.address == "cli"


def _viewer_in_default(p: Platform) -> tuple[auth.Caller, str]:
    with p.db.session() as s:
        ws = s.scalars(select(Workspace).where(Workspace.slug == "default")).one()
        user = User(username="viewer@example.com", password_hash="")
        s.add(user)
        s.flush()
        s.add(Membership(user_id=user.id, workspace_id=ws.id, role="ROLE_USER"))
        ws_id = ws.id
    return auth.caller_for(p, "viewer@example.com"), ws_id


def _sample_definition(p: Platform) -> str:
    with p.db.session() as s:
        return s.scalars(select(ConnectorDefinition.id).where(
            ConnectorDefinition.docker_repository == "sample",
            ConnectorDefinition.kind == "source")).one()


def test_a_viewer_reads_a_source_but_may_not_make_change_or_delete_one(
        platform: Platform, admin: auth.Caller) -> None:
    viewer, ws_id = _viewer_in_default(platform)
    definition = _sample_definition(platform)
    made = actors.create(platform, admin, "source", ws_id, definition, {}, "sample")
    assert [a.id for a in actors.list_for(platform, viewer, "source", ws_id)] == [made.id]
    with pytest.raises(Forbidden):
        actors.create(platform, viewer, "source", ws_id, definition, {}, "mine")
    with pytest.raises(Forbidden):
        actors.update_config(platform, viewer, "source", made.id, {}, "renamed")
    with pytest.raises(Forbidden):
        actors.delete(platform, viewer, "source", made.id)
    assert actors.get(platform, admin, "source", made.id).name == "sample"


def test_only_a_system_administrator_makes_a_workspace(platform: Platform,
                                                       admin: auth.Caller) -> None:
    auth.create_user(platform, "bob", "bob-password", "bob-team")
    with pytest.raises(Forbidden):
        workspaces.create(platform, auth.caller_for(platform, "bob"), "Bob's second")
    ws, widened = workspaces.create(platform, admin, "Team two")
    assert policy.role_in(widened, ws.id) is policy.Role.ADMINISTRATOR

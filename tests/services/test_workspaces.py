"""Workspaces and connector definitions called directly: frozen views, the policy, audit."""

from __future__ import annotations

import dataclasses

import pytest

from sluiceway.core.errors import Forbidden, NotFound
from sluiceway.services import audit, auth, criteria, definitions, space_users, workspaces
from sluiceway.services.platform import Platform


def test_a_workspace_is_a_frozen_view(platform: Platform, admin: auth.Caller) -> None:
    (found,) = workspaces.list_for(platform, admin)
    assert isinstance(found, workspaces.WorkspaceView)
    assert (found.slug, found.initial_setup_complete) == ("default", False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.name = "other"  # type: ignore[misc]
    assert workspaces.get(platform, admin, found.id) == found
    assert workspaces.get_by_slug(platform, admin, "default") == found


def test_an_update_answers_the_new_view_and_leaves_one_entry(platform: Platform,
                                                             admin: auth.Caller) -> None:
    (ws,) = workspaces.list_for(platform, admin)
    changed = workspaces.update(platform, admin, ws.id, "ops@example.com",
                                {"onboarding_complete": True})
    assert (changed.email, changed.onboarding_complete) == ("ops@example.com", True)
    entries, total = audit.list_entries(platform, admin, criteria.Criteria(), ws.id)
    assert (total, entries[0].action) == (1, "workspace.update")


def test_only_an_administrator_changes_a_workspace(platform: Platform,
                                                   admin: auth.Caller) -> None:
    (ws,) = workspaces.list_for(platform, admin)
    space_users.add_member(platform, admin, "default", "ed@example.com", ["ROLE_EDITOR"])
    editor = auth.caller_for(platform, "ed@example.com")
    with pytest.raises(Forbidden):
        workspaces.update(platform, editor, ws.id, None, {"news": True})
    assert workspaces.get(platform, admin, ws.id).news is False
    auth.create_user(platform, "eve", "eve-password", "eve-team")
    with pytest.raises(NotFound):
        workspaces.get(platform, auth.caller_for(platform, "eve"), ws.id)


def test_definitions_are_views_naming_their_connector(platform: Platform,
                                                      admin: auth.Caller) -> None:
    shown = definitions.list_all(platform, admin, "source")
    assert all(isinstance(d, definitions.DefinitionView) for d in shown)
    sample = next(d for d in shown if d.connector == "sample")
    assert (sample.builtin, sample.workspace_id, sample.kind) == (True, None, "source")
    d, spec = definitions.spec(platform, admin, "source", sample.id)
    assert d == sample
    assert spec.connection_specification["type"] == "object"

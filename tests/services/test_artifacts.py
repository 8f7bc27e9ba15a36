"""Artifacts leave the services as frozen views: no row, no password hash; a protected file
is handed only with its password, and only to its space."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from sluiceway.core.errors import Forbidden, NotFound
from sluiceway.services import actors, artifacts, auth, datasets, dumps, listing
from sluiceway.services.platform import Platform
from sluiceway.store.models import ConnectorDefinition, Workspace


def _sample_source(p: Platform, caller: auth.Caller) -> tuple[str, str]:
    with p.db.session() as s:
        ws = s.scalars(select(Workspace.id).where(Workspace.slug == "default")).one()
        definition = s.scalars(select(ConnectorDefinition.id).where(
            ConnectorDefinition.docker_repository == "sample",
            ConnectorDefinition.kind == "source")).one()
    made = actors.create(p, caller, "source", ws, definition, {"rows": 10}, "sample")
    return ws, made.id


def _export(p: Platform, caller: auth.Caller, password: str | None
            ) -> artifacts.ArtifactView:
    ws, source_id = _sample_source(p, caller)
    made, _ = datasets.create_export(p, caller, datasets.ExportRequest(
        ws, source_id, None, "users", None, None, "csv", password=password))
    return made


def test_an_export_is_a_frozen_view_without_its_password_hash(platform: Platform,
                                                              admin: auth.Caller) -> None:
    made = _export(platform, admin, "export-password")
    assert isinstance(made, artifacts.ArtifactView)
    assert (made.kind, made.phase, made.protected) == ("export", "pending", True)
    assert made.job_id is not None
    assert "password_hash" not in {f.name for f in dataclasses.fields(made)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.phase = "completed"  # type: ignore[misc]
    assert artifacts.get(platform, admin, made.id, kind="export") == made
    page, _ = datasets.list_exports(platform, admin, listing.Query())
    assert [a.id for a in page] == [made.id]


def test_a_protected_file_needs_its_password(platform: Platform, admin: auth.Caller) -> None:
    made = _export(platform, admin, "export-password")
    for wrong in (None, "", "not-it"):
        with pytest.raises(Forbidden):
            artifacts.check_password(platform, made, wrong)
    artifacts.check_password(platform, made, "export-password")
    plain = _export(platform, admin, None)
    assert plain.protected is False
    artifacts.check_password(platform, plain, None)


def test_another_spaces_caller_does_not_find_it(platform: Platform, admin: auth.Caller) -> None:
    made = _export(platform, admin, None)
    auth.create_user(platform, "eve", "eve-password", "eve-team")
    with pytest.raises(NotFound):
        artifacts.get(platform, auth.caller_for(platform, "eve"), made.id)


def test_a_dump_is_a_view_with_the_ledgers_status(platform: Platform,
                                                   admin: auth.Caller) -> None:
    _, source_id = _sample_source(platform, admin)
    config = {"steps": [{"id": "all", "type": "resources",
                         "parameters": {"stream": "users", "columns": "id"}}],
              "output": []}
    made, queued = dumps.create(platform, admin, source_id, config)
    assert queued
    assert isinstance(made, artifacts.ArtifactView)
    assert (made.kind, made.phase) == ("dump", "pending")
    again, queued_again = dumps.create(platform, admin, source_id, config)
    assert (again.id, queued_again) == (made.id, False)  # the same config is the same dump
    shown = dumps.get(platform, admin, source_id, made.id)
    assert (shown.status, shown.error) == ("pending", None)  # not the family's "scheduled"
    assert shown.artifact == artifacts.get(platform, admin, made.id, kind="dump")

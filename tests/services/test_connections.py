"""Connections called directly: each answer is a frozen view, never a database row."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from sluiceway.core import frozen
from sluiceway.core.errors import NotFound
from sluiceway.services import actors, auth, connections, datasets, definitions, listing, workspaces
from sluiceway.services.platform import Platform
from sluiceway.store.models import Base


def _definition(p: Platform, caller: auth.Caller, kind: str, connector: str) -> str:
    return next(d.id for d in definitions.list_all(p, caller, kind)  # type: ignore[arg-type]
                if d.connector == connector)


def _made(p: Platform, admin: auth.Caller) -> connections.ConnectionView:
    ws_id = workspaces.get_by_slug(p, admin, "default").id
    src = actors.create(p, admin, "source", ws_id, _definition(p, admin, "source", "sample"),
                        {"rows": 5}, "events")
    dst = actors.create(p, admin, "destination", ws_id,
                        _definition(p, admin, "destination", "duckdb"),
                        {"path": "lake.duckdb"}, "lake")
    return connections.create(p, admin, source_id=src.id, destination_id=dst.id, name=None,
                              sync_mode="full_refresh", streams=None, schedule=None,
                              status="active")


def test_create_get_and_update_answer_frozen_views(platform: Platform,
                                                   admin: auth.Caller) -> None:
    made = _made(platform, admin)
    assert type(made) is connections.ConnectionView
    assert not isinstance(made, Base)
    assert (made.name, made.status, made.schedule_units) == ("events → lake", "active", None)
    assert made.catalog["streams"]
    assert made.created_at <= made.updated_at
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.status = "inactive"  # type: ignore[misc]
    assert connections.get(platform, admin, made.id) == made
    changed = connections.update(platform, admin, made.id, streams=None,
                                 schedule=connections.Schedule(2, "hours"), status="inactive")
    assert type(changed) is connections.ConnectionView
    assert (changed.status, changed.schedule_units, changed.schedule_time_unit) == (
        "inactive", 2, "hours")
    assert changed.catalog == made.catalog
    assert changed.updated_at >= made.updated_at
    assert connections.get(platform, admin, made.id) == changed
    assert connections.schedule_of(changed) == connections.Schedule(2, "hours")
    assert connections.by_ids(platform, admin, [made.id, "no-such-id"]) == {made.id: changed}


def test_a_views_catalog_is_a_read_only_deep_copy(platform: Platform,
                                                   admin: auth.Caller) -> None:
    made = _made(platform, admin)
    stream = made.catalog["streams"][0]
    with pytest.raises(TypeError):
        made.catalog["streams"] = []  # type: ignore[index]
    with pytest.raises(TypeError):
        made.catalog["streams"].append({})
    with pytest.raises(TypeError):
        stream["fields"][0]["selected"] = False
    with pytest.raises(TypeError):
        stream.update(name="other")
    # it renders and compares as the stored document; a copy of it is changeable
    assert json.loads(json.dumps(made.catalog)) == made.catalog
    changeable = copy.deepcopy(made.catalog)
    changeable["streams"].clear()
    assert frozen.thaw(made.catalog)["streams"] == made.catalog["streams"]
    assert connections.get(platform, admin, made.id).catalog == made.catalog


def test_listings_answer_stamps_without_catalogs(platform: Platform,
                                                 admin: auth.Caller) -> None:
    made = _made(platform, admin)
    stamp = connections.ConnectionStamp(made.id, made.updated_at, made.source_id,
                                        made.destination_id)
    assert connections.list_for(platform, admin, made.workspace_id) == [stamp]
    assert connections.page_for(platform, admin, [made.workspace_id], limit=10,
                                offset=0) == [stamp]
    connections.delete(platform, admin, made.id)
    assert connections.list_for(platform, admin, made.workspace_id) == []
    (deleted,) = connections.page_for(platform, admin, [made.workspace_id], limit=10,
                                      offset=0, include_deleted=True)
    assert type(deleted) is connections.ConnectionStamp
    assert deleted.id == made.id
    assert connections.get(platform, admin, made.id).status == "deprecated"


def test_a_foreign_connection_is_not_found(platform: Platform, admin: auth.Caller) -> None:
    made = _made(platform, admin)
    auth.create_user(platform, "eve", "eve-password", "eve-team")
    eve = auth.caller_for(platform, "eve")
    with pytest.raises(NotFound):
        connections.get(platform, eve, made.id)
    assert connections.by_ids(platform, eve, [made.id]) == {}


def test_the_job_listing_speaks_the_ledgers_names(platform: Platform,
                                                  admin: auth.Caller) -> None:
    made = _made(platform, admin)
    queued = connections.sync(platform, admin, made.id)

    def listed(*filters: listing.Filter) -> list[int]:
        rows, _ = datasets.list_jobs(platform, admin, listing.Query(filters=filters))
        assert all(type(r) is datasets.JobRow for r in rows)
        return [r.job.id for r in rows]

    assert listed(listing.Filter("status", "in", ["pending", "incomplete"], "s")) == [
        queued.id]
    assert listed(listing.Filter("status", "eq", "succeeded", "s")) == []
    assert listed(listing.Filter("config_type", "eq", "sync", "c")) == [queued.id]
    with pytest.raises(listing.BadQuery) as refused:
        listed(listing.Filter("job_class", "eq", "sync", "filter[job_class]"))
    assert refused.value.errors[0].path == "filter[job_class]"
    exports, total = datasets.list_exports(platform, admin, listing.Query(
        count=True, filters=(listing.Filter("workspace_id", "eq", made.workspace_id, "w"),)))
    assert (exports, total) == ([], 0)
    with pytest.raises(listing.BadQuery):
        datasets.list_exports(platform, admin, listing.Query(filters=(
            listing.Filter("project_id", "eq", made.workspace_id, "p"),)))

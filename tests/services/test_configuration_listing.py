"""The configuration listing filters labels and the caller's favourites in its query (SQLite
and PostgreSQL): the page and the count are right past the first thousand rows."""

from __future__ import annotations

from sluiceway.services import auth, configurations, criteria, policy, spaces
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Configuration, ConfigurationFavourite

ROWS = 1060


def seed(p: Platform, workspace_id: str, user_id: str) -> None:
    """``ROWS`` transformers ``c-0000``…: those from 1000 on labelled ``late`` (and every
    tenth of all ``tenth``); the user's favourites: every third from 1000 on."""
    with p.db.claim() as s:
        s.add_all(Configuration(
            workspace_id=workspace_id, type="transformer", identifier=f"c-{i:04d}",
            name=f"Conf {i:04d}", prototype="remove",
            object={"prototype": "remove", "parameters": {"keys": ["x"]}},
            labels=(["late"] if i >= 1000 else []) + (["tenth"] if i % 10 == 0 else []),
            revision=f"{i:026d}", created_at=now(), updated_at=now()) for i in range(ROWS))
        s.add_all(ConfigurationFavourite(
            workspace_id=workspace_id, user_id=user_id, type="transformer",
            identifier=f"c-{i:04d}", tags=["favourite"], created_at=now(), updated_at=now())
            for i in range(1000, ROWS, 3))


def _ids(found: list[configurations.ConfigurationView]) -> list[str]:
    return [v.identifier for v in found]


def test_labels_and_favourites_are_filtered_in_the_query(platform: Platform,
                                                         admin: auth.Caller) -> None:
    ws = next(iter(admin.workspace_ids))
    seed(platform, ws, admin.user_id)
    page = criteria.Criteria(limit=50, skip=50)
    found, total = configurations.list_configurations(platform, admin, ws, page,
                                                      label="late")
    assert total == 60
    assert _ids(found) == [f"c-{i:04d}" for i in range(1050, 1060)]
    found, total = configurations.list_configurations(
        platform, admin, ws, criteria.Criteria(limit=50), label="late", favourites=True)
    assert total == 20
    assert _ids(found) == [f"c-{i:04d}" for i in range(1000, ROWS, 3)]
    assert all("favourite" in v.tags for v in found)
    # both filters with a search and a type
    term = criteria.Group("and", (criteria.Cond("name", "ilike", "Conf 10"),))
    found, total = configurations.list_configurations(
        platform, admin, ws, criteria.Criteria(term, limit=50), "transformer",
        label="tenth")
    assert _ids(found) == [f"c-{i:04d}" for i in range(1000, ROWS, 10)]
    assert total == 6
    # a label is matched whole, never as a part of another
    assert configurations.list_configurations(
        platform, admin, ws, criteria.Criteria(limit=1), label="lat")[1] == 0


def test_favourites_are_the_callers_own(platform: Platform, admin: auth.Caller) -> None:
    ws = next(iter(admin.workspace_ids))
    seed(platform, ws, admin.user_id)
    with platform.db.session() as s:
        spaces.put_member(s, spaces.find(s, admin, "default").id, "viewer@example.com",
                          policy.Role.VIEWER)
    viewer = auth.caller_for(platform, "viewer@example.com")
    assert configurations.list_configurations(
        platform, viewer, ws, criteria.Criteria(limit=5), favourites=True) == ([], 0)
    assert configurations.list_configurations(
        platform, viewer, ws, criteria.Criteria(limit=5), label="late")[1] == 60

"""The audit writer: one entry per change, secrets masked, read through the policy, filtered."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from sluiceway.core.errors import Forbidden, NotFound
from sluiceway.services import actors, audit, auth, criteria
from sluiceway.services.listing import BadQuery
from sluiceway.services.platform import Platform
from sluiceway.store.models import ConnectorDefinition, Workspace


def _default(p: Platform) -> str:
    with p.db.session() as s:
        return s.scalars(select(Workspace.id).where(Workspace.slug == "default")).one()


def _definition(p: Platform, repository: str) -> str:
    with p.db.session() as s:
        return s.scalars(select(ConnectorDefinition.id).where(
            ConnectorDefinition.docker_repository == repository,
            ConnectorDefinition.kind == "source")).one()


@pytest.mark.parametrize(("request_in", "expected"), [
    ({"password": "hunter22", "host": "db"}, {"password": audit.MASK, "host": "db"}),
    ({"cfg": {"api_key": "k", "nested": [{"client_secret": "s"}]}},
     {"cfg": {"api_key": audit.MASK, "nested": [{"client_secret": audit.MASK}]}}),
    ({"Authorization": "Bearer x", "ssl": True, "token": None},
     {"Authorization": audit.MASK, "ssl": True, "token": None}),
])
def test_mask_hides_secret_looking_keys_at_any_depth(request_in: dict[str, object],
                                                     expected: dict[str, object]) -> None:
    assert audit.mask(request_in) == expected


def test_each_change_of_a_source_leaves_one_entry_with_its_secrets_masked(
        platform: Platform, admin: auth.Caller) -> None:
    ws = _default(platform)
    made = actors.create(platform, admin, "source", ws, _definition(platform, "postgres"),
                         {"host": "db.example.com", "port": 5432, "database": "d",
                          "username": "u", "password": "pg-secret-value"}, "pg")
    actors.delete(platform, admin, "source", made.id)
    entries, total = audit.list_entries(platform, admin, criteria.Criteria(), ws)
    assert total == 2
    assert [e.action for e in entries] == ["source.delete", "source.create"]
    created = entries[1]
    assert (created.user, created.space, created.address, created.category) == (
        "admin", "default", "192.0.2.1", "source")
    assert "pg-secret-value" not in json.dumps(created.request)
    assert created.request["configuration"]["host"] == "db.example.com"


def test_a_refused_change_leaves_no_entry(platform: Platform, admin: auth.Caller) -> None:
    auth.create_user(platform, "bob", "bob-password", "bob-team")
    bob = auth.caller_for(platform, "bob")
    with pytest.raises(NotFound):
        actors.create(platform, bob, "source", _default(platform),
                      _definition(platform, "sample"), {}, "x")
    entries, total = audit.list_entries(platform, admin, criteria.Criteria())
    assert (entries, total) == ([], 0)


def test_the_cli_records_cli_as_the_address(platform: Platform) -> None:
    cli = auth.caller_for(platform, "admin")
    auth.create_user(platform, "carol", "carol-password", "team-c", by=cli)
    (entry,), _ = audit.list_entries(platform, cli, criteria.Criteria())
    assert (entry.action, entry.address, entry.space) == ("user.create", "cli", "team-c")
    assert entry.request["password"] == audit.MASK


def test_reading_the_trail_follows_the_policy(platform: Platform, admin: auth.Caller) -> None:
    auth.create_user(platform, "bob", "bob-password", "bob-team", by=admin)
    bob = auth.caller_for(platform, "bob")
    (bob_space,) = bob.workspace_ids
    with pytest.raises(Forbidden):  # the whole installation: system administrators only
        audit.list_entries(platform, bob, criteria.Criteria())
    with pytest.raises(NotFound):  # a space bob is not in
        audit.list_entries(platform, bob, criteria.Criteria(), _default(platform))
    entries, _ = audit.list_entries(platform, bob, criteria.Criteria(), bob_space)
    assert [e.action for e in entries] == ["user.create"]
    with pytest.raises(NotFound):
        audit.get_entry(platform, bob, entries[0].id, _default(platform))


def test_filters_select_order_and_page_in_sql(platform: Platform, admin: auth.Caller) -> None:
    ws = _default(platform)
    for n in range(5):
        audit.record_now(platform, admin, f"thing.{'create' if n % 2 else 'delete'}",
                         "thing", f"number {n}", workspace_id=ws)
    since = time.time() - 60
    c = criteria.parse(json.dumps({
        "where": {"action": "thing.create", "createdAt": {"gte": since}},
        "order": "message asc", "limit": 1, "skip": 1}), audit.COLUMNS)
    entries, total = audit.list_entries(platform, admin, c, ws)
    assert total == 2
    assert [e.message for e in entries] == ["number 3"]
    c = criteria.parse(json.dumps({"where": {"or": [{"message": "number 0"},
                                                    {"message": {"like": "4"}}]}}),
                       audit.COLUMNS)
    entries, total = audit.list_entries(platform, admin, c, ws)
    assert sorted(e.message for e in entries) == ["number 0", "number 4"]
    assert total == 2


@pytest.mark.parametrize(("text", "path"), [
    ('{"where": {"password": "x"}}', "filter.where.password"),
    ('{"where": {"action": {"regexp": "x"}}}', "filter.where.action.regexp"),
    ('{"order": "nothing desc"}', "filter.order"),
    ('{"limit": 5000}', "filter.limit"),
    ('{"where": {"createdAt": {"gte": "yesterday"}}}', "filter.where.createdAt.gte"),
    ('{"where": {"action": {"inq": "x"}}}', "filter.where.action.inq"),
    ("not json", "filter"),
    ('{"fields": ["a"]}', "filter.fields"),
])
def test_a_bad_filter_is_refused_naming_what_is_wrong(text: str, path: str) -> None:
    with pytest.raises(BadQuery) as caught:
        criteria.parse(text, audit.COLUMNS)
    assert caught.value.errors[0].path == path


def test_an_export_holds_every_match_as_csv_or_ndjson(platform: Platform,
                                                      admin: auth.Caller) -> None:
    ws = _default(platform)
    for n in range(3):
        audit.record_now(platform, admin, "thing.create", "thing", f"n{n}", workspace_id=ws,
                         request={"secret": "s3cr3t"})
    c = criteria.Criteria(limit=1)
    lines = b"".join(audit.export(platform, admin, c, "ndjson", ws)).decode().splitlines()
    assert len(lines) == 3
    assert {json.loads(line)["request"]["secret"] for line in lines} == {audit.MASK}
    text = b"".join(audit.export(platform, admin, c, "csv", ws)).decode()
    assert text.splitlines()[0].startswith("identifier,createdAt,user")
    assert len(text.splitlines()) == 4
    assert "s3cr3t" not in text

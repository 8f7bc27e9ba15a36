"""Storages on the platform API (#113-126): entities by key in a ``storage`` configuration,
cursor pages, delete by filter, NDJSON export, copy, clear, prune by TTL, sizes, encryption
at rest, audit entries and the roles."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from sluiceway.store.models import AuditEntry, StorageEntity
from tests.api.conftest import E, V
from tests.api.test_alumio_face import _error, _platform

S = "/api/v1/storages"



def _storage(client: TestClient, headers: dict[str, str], identifier: str,
             **parameters: Any) -> None:
    r = client.post("/api/v1/di/configurations", headers=headers, json={
        "type": "storage", "identifier": identifier, "name": identifier,
        "object": {"prototype": "storage", "parameters": parameters}})
    assert r.status_code == 200, r.text


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def test_an_entity_is_created_read_updated_and_deleted(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _storage(client, team[E], "seen")
    url = f"{S}/seen/entity"
    made = _ok(client.post(url, params={"entity": "sku-1"}, headers=team[E],
                           json={"price": 3, "tags": ["a"]}))
    assert made["value"] == {"price": 3, "tags": ["a"]}
    assert made["updatedAt"].endswith("+00:00")
    _error(client.post(url, params={"entity": "sku-1"}, headers=team[E], json=1), 409)
    assert _ok(client.get(url, params={"entity": "sku-1"}, headers=team[V]))["value"] == {
        "price": 3, "tags": ["a"]}
    assert _ok(client.put(url, params={"entity": "sku-1"}, headers=team[E],
                          json="plain text"))["value"] == "plain text"
    # the deprecated routes name the entity in the path (any text, slashes too)
    assert _ok(client.put(f"{S}/seen/entities/a/b", headers=team[E], json=[1, 2]))[
        "value"] == [1, 2]
    assert _ok(client.get(f"{S}/seen/entities/a/b", headers=team[V]))["value"] == [1, 2]
    assert "message" in _ok(client.delete(f"{S}/seen/entities/a/b", headers=team[E]))
    _error(client.get(f"{S}/seen/entities/a/b", headers=team[V]), 404)
    assert "message" in _ok(client.delete(url, params={"entity": "sku-1"}, headers=team[E]))
    _error(client.get(url, params={"entity": "sku-1"}, headers=team[V]), 404)
    _error(client.get(f"{S}/nope/entity", params={"entity": "x"}, headers=team[V]), 404)
    with _platform(client).db.session() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(
            AuditEntry.category == "storage").order_by(AuditEntry.created_at))]
    assert actions == ["storage.entity.create", "storage.entity.update",
                       "storage.entity.create", "storage.entity.delete",
                       "storage.entity.delete"]


def test_entities_page_with_a_cursor_filter_and_delete_by_filter(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _storage(client, team[E], "seen")
    for i in range(7):
        _ok(client.put(f"{S}/seen/entity", params={"entity": f"k{i}"}, headers=team[E],
                       json={"i": i}))
    seen: list[str] = []
    params: dict[str, str] = {"filter": json.dumps({"limit": 3})}
    while True:
        page = _ok(client.get(f"{S}/seen/entities", params=params, headers=team[V]))
        assert page["metadata"] == {"totalCount": 7}
        seen += [e["identifier"] for e in page["results"]]
        if not page["next"]:
            break
        params["next"] = page["next"][0]
    assert seen == [f"k{i}" for i in range(7)]
    desc = _ok(client.get(f"{S}/seen/entities", headers=team[V], params={
        "filter": json.dumps({"order": "identifier desc", "limit": 2})}))
    assert [e["identifier"] for e in desc["results"]] == ["k6", "k5"]
    after = _ok(client.get(f"{S}/seen/entities", headers=team[V], params={
        "filter": json.dumps({"order": "identifier desc", "limit": 2}),
        "next": desc["next"][0]}))
    assert [e["identifier"] for e in after["results"]] == ["k4", "k3"]
    bad = _error(client.get(f"{S}/seen/entities", headers=team[V],
                            params={"filter": '{"where": {"price": 1}}'}), 400)
    assert bad["violations"][0]["propertyPath"] == "filter.where.price"
    _error(client.get(f"{S}/seen/entities", headers=team[V], params={"next": "garbage"}), 400)
    r = _ok(client.post(f"{S}/seen/entities/delete", headers=team[E],
                        json={"filter": json.dumps({"where": {"identifier": {
                            "inq": ["k1", "k2"]}}})}))
    assert r["message"].startswith("2 ")
    left = _ok(client.get(f"{S}/seen/entities", headers=team[V]))
    assert [e["identifier"] for e in left["results"]] == ["k0", "k3", "k4", "k5", "k6"]
    assert left["next"] == []


def test_export_streams_ndjson_and_copy_clear_and_sizes(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _storage(client, team[E], "seen")
    _storage(client, team[E], "backup")
    for i in range(3):
        _ok(client.put(f"{S}/seen/entity", params={"entity": f"k{i}"}, headers=team[E],
                       json={"i": i}))
    r = client.post(f"{S}/seen/export", headers=team[E],
                    json={"filter": json.dumps({"where": {"identifier": {"neq": "k1"}}}),
                          "clientTime": "1700000000000"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert "seen-1700000000000.ndjson" in r.headers["content-disposition"]
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [(x["identifier"], x["value"]) for x in lines] == [("k0", {"i": 0}),
                                                              ("k2", {"i": 2})]
    bad = _error(client.post(f"{S}/seen/export", headers=team[E],
                             json={"clientTime": "soon"}), 400)
    assert bad["violations"][0]["propertyPath"] == "clientTime"
    _error(client.post(f"{S}/seen/export", headers=team[V], json={}), 403)

    assert _ok(client.post(f"{S}/seen/copy/backup", headers=team[E]))["copied"] == 3
    assert _ok(client.get(f"{S}/backup/entity", params={"entity": "k2"},
                          headers=team[V]))["value"] == {"i": 2}
    sizes = {s["identifier"]: s["sizeInBytes"] for s in _ok(
        client.get(S, headers=team[V]))["results"]}
    expected = sum(len(f"k{i}") + len(json.dumps({"i": i}, separators=(",", ":")))
                   for i in range(3))
    assert sizes == {"backup": expected, "seen": expected}
    assert expected == 27
    _storage(client, team[E], "empty")
    _storage(client, team[E], "tiny")
    _ok(client.put(f"{S}/tiny/entity", params={"entity": "a"}, headers=team[E], json=1234567))
    by_size = _ok(client.get(S, headers=team[V], params={
        "filter": json.dumps({"order": "sizeInBytes asc", "limit": 3})}))
    # by number (8 before 27), not as text ("27" before "8")
    assert [x["identifier"] for x in by_size["results"]] == ["empty", "tiny", "backup"]
    assert by_size["metadata"]["totalCount"] == 4
    only = _ok(client.get(S, headers=team[V], params={
        "filter": json.dumps({"where": {"identifier": "seen"}})}))
    assert only["metadata"]["totalCount"] == 1
    assert "3 entities" in _ok(client.post(f"{S}/seen/clear", headers=team[E]))["message"]
    assert _ok(client.get(f"{S}/seen/entities", headers=team[V]))["results"] == []
    assert _ok(client.get(S, headers=team[V]))["results"][2] == {"identifier": "seen",
                                                                 "sizeInBytes": 0}


def test_expired_entities_are_gone_and_pruned(client: TestClient,
                                              team: dict[str, dict[str, str]]) -> None:
    _storage(client, team[E], "short", ttlSeconds=3600)
    for key in ("old", "new"):
        _ok(client.put(f"{S}/short/entity", params={"entity": key}, headers=team[E],
                       json=key))
    with _platform(client).db.session() as s:
        s.execute(update(StorageEntity).where(StorageEntity.key == "old")
                  .values(expires_at=1.0))
    _error(client.get(f"{S}/short/entity", params={"entity": "old"}, headers=team[V]), 404)
    listed = _ok(client.get(f"{S}/short/entities", headers=team[V]))
    assert [e["identifier"] for e in listed["results"]] == ["new"]
    # expired rows still take room until pruned: the size says so
    before = _ok(client.get(S, headers=team[V]))["results"][0]["sizeInBytes"]
    assert before == len("old") + len('"old"') + len("new") + len('"new"')
    _error(client.post(f"{S}/prune", headers=team[V]), 403)
    assert _ok(client.post(f"{S}/prune", params={"identifier": "short"},
                           headers=team[E]))["message"].startswith("1 ")
    after = _ok(client.get(S, headers=team[V]))["results"][0]["sizeInBytes"]
    assert after == len("new") + len('"new"')
    # an expired key can be created again, and lives for the storage's TTL from then
    with _platform(client).db.session() as s:
        s.execute(update(StorageEntity).values(expires_at=1.0))
    _ok(client.post(f"{S}/short/entity", params={"entity": "new"}, headers=team[E], json=2))
    with _platform(client).db.session() as s:
        row = s.scalars(select(StorageEntity)).one()
    assert row.expires_at == pytest.approx(row.updated_at + 3600)


def test_an_encrypted_storage_keeps_no_plain_value_at_rest(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _storage(client, team[E], "vault", encrypted=True)
    _ok(client.put(f"{S}/vault/entity", params={"entity": "card"}, headers=team[E],
                   json={"number": "4111-1111"}))
    with _platform(client).db.session() as s:
        row = s.scalars(select(StorageEntity)).one()
        assert row.value is None
        assert row.sealed is not None
        assert "4111" not in row.sealed
    assert _ok(client.get(f"{S}/vault/entity", params={"entity": "card"},
                          headers=team[V]))["value"] == {"number": "4111-1111"}
    # a copy keeps values as its target does: plain here, readable the same
    _storage(client, team[E], "open")
    assert _ok(client.post(f"{S}/vault/copy/open", headers=team[E]))["copied"] == 1
    with _platform(client).db.session() as s:
        copied = s.scalars(select(StorageEntity).where(StorageEntity.storage == "open")).one()
        assert (copied.value, copied.sealed) == ({"number": "4111-1111"}, None)
    _error(client.post(f"{S}/vault/copy/vault", headers=team[E]), 400)
    _error(client.post(f"{S}/vault/copy/nowhere", headers=team[E]), 404)


def test_deleting_a_storage_removes_its_entities(client: TestClient,
                                                 team: dict[str, dict[str, str]]) -> None:
    _storage(client, team[E], "seen")
    _ok(client.put(f"{S}/seen/entity", params={"entity": "k"}, headers=team[E], json=1))
    _ok(client.delete("/api/v1/di/configurations/storage/seen", headers=team[E]))
    with _platform(client).db.session() as s:
        assert s.scalars(select(StorageEntity)).all() == []

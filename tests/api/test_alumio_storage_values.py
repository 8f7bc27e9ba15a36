"""Storages: expired entities are pruned by the job the server queues on its own (not only
by ``POST /storages/prune``), and entities are filtered by the keys of their values
(``value.<key>``) in listings, deletes by filter and exports."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from sluiceway.jobs.runtime import enqueue_prune
from sluiceway.store.models import StorageEntity
from tests.api.conftest import E, V
from tests.api.test_alumio_face import _error, _platform
from tests.api.test_alumio_storages import S, _ok, _storage
from tests.api.test_datasets import run_jobs

PEOPLE = {"ada": {"city": "Leiden", "age": 36, "vip": True, "address": {"zip": "2311"}},
          "bo": {"city": "Gouda", "age": 51, "vip": False, "address": {"zip": "2801"}},
          "cy": {"city": "Leiden", "age": 17, "vip": False},
          "di": "just text"}


def _keys(client: TestClient, headers: dict[str, str], where: dict[str, Any],
          storage: str = "people") -> list[str]:
    got = _ok(client.get(f"{S}/{storage}/entities", headers=headers,
                         params={"filter": json.dumps({"where": where})}))
    assert got["metadata"]["totalCount"] == len(got["results"])
    return sorted(e["identifier"] for e in got["results"])


def test_expired_entities_are_pruned_by_the_scheduled_job(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _storage(client, team[E], "short", ttlSeconds=3600)
    _storage(client, team[E], "forever")
    for storage in ("short", "forever"):
        for key in ("old", "new"):
            _ok(client.put(f"{S}/{storage}/entity", params={"entity": key}, headers=team[E],
                           json=key))
    p = _platform(client)
    with p.db.session() as s:
        s.execute(update(StorageEntity).where(StorageEntity.key == "old",
                                              StorageEntity.storage == "short")
                  .values(expires_at=1.0))
    assert enqueue_prune(p.settings, p.db) is not None
    run_jobs(client)
    with p.db.session() as s:
        kept = sorted(s.execute(select(StorageEntity.storage, StorageEntity.key)).all())
    assert kept == [("forever", "new"), ("forever", "old"), ("short", "new")]
    sizes = {r["identifier"]: r["sizeInBytes"] for r in _ok(client.get(S, headers=team[V]))[
        "results"]}
    assert sizes["short"] == len("new") + len('"new"')


def test_entities_are_filtered_by_their_values(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _storage(client, team[E], "people")
    for key, value in PEOPLE.items():
        _ok(client.put(f"{S}/people/entity", params={"entity": key}, headers=team[E],
                       json=value))
    assert _keys(client, team[V], {"value.city": "Leiden"}) == ["ada", "cy"]
    assert _keys(client, team[V], {"value.age": {"gte": 36}}) == ["ada", "bo"]
    assert _keys(client, team[V], {"value.age": {"between": [18, 40]}}) == ["ada"]
    assert _keys(client, team[V], {"value.vip": True}) == ["ada"]
    assert _keys(client, team[V], {"value.address.zip": {"like": "28%"}}) == ["bo"]
    assert _keys(client, team[V], {"value.city": {"inq": ["Gouda", "Delft"]}}) == ["bo"]
    assert _keys(client, team[V], {"or": [{"value.city": "Gouda"},
                                          {"identifier": "di"}]}) == ["bo", "di"]
    assert _keys(client, team[V], {"value.nowhere": "x"}) == []
    # a bad key or value is a 400 naming the field
    bad = _error(client.get(f"{S}/people/entities", headers=team[V], params={
        "filter": json.dumps({"where": {"value.a;drop": 1}})}), 400)
    assert bad["violations"][0]["propertyPath"].startswith("filter.where")
    _error(client.get(f"{S}/people/entities", headers=team[V], params={
        "filter": json.dumps({"where": {"value.city": {"eq": {"nested": 1}}}})}), 400)
    # delete by filter and export take the same fields
    r = client.post(f"{S}/people/export", headers=team[E], json={
        "filter": json.dumps({"where": {"value.city": "Leiden"}})})
    assert r.status_code == 200, r.text
    exported = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    assert len(exported) == 2
    _ok(client.post(f"{S}/people/entities/delete", headers=team[E],
                    json={"filter": json.dumps({"where": {"value.age": {"lt": 18}}})}))
    assert _keys(client, team[V], {}) == ["ada", "bo", "di"]

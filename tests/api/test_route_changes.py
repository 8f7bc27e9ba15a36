"""Change detection of a route (``changeDetection: {storage}``), on SQLite and PostgreSQL
metadata: an entity whose hash (of what would be sent) did not change since it was written
is neither recorded as a task nor written again, and is counted as ``unchanged``; an entity
the outgoing refused keeps no hash, so it is tried again."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.store.models import Job, StorageEntity
from tests.api.test_alumio_face import _platform
from tests.api.test_alumio_routes import (  # noqa: F401 - fixtures
    CODE_FIXED,
    URL,
    E,
    V,
    _ok,
    _publish,
    _save,
    _tasks,
    route,
    team,
)
from tests.api.test_datasets import run_jobs


def _detecting(client: TestClient, editor: dict[str, str], pg_database: dict[str, Any],
               ) -> None:
    """Route ``orders`` with change detection in storage ``seen``, codes made for every
    order, into PostgreSQL ``orders_out`` (which refuses a quantity of 4 or more)."""
    _save(client, editor, "storage", "seen", "storage", {"ttlSeconds": None})
    _ok(client.put(URL, headers=editor, json={
        "type": "transformer", "identifier": "make-code", "name": "make-code",
        "object": {"prototype": "jsonata",
                   "parameters": {"expression": CODE_FIXED, "target": "code"}}}))
    _ok(client.put(URL, headers=editor, json={
        "type": "outgoing-configuration", "identifier": "orders-out", "name": "orders-out",
        "object": {"prototype": "postgres", "parameters": {
            "configuration": pg_database, "stream": "orders_out", "key": ["code"]}}}))
    _ok(client.put(URL, headers=editor, json={
        "type": "route-configuration", "identifier": "orders", "name": "orders",
        "object": {"prototype": "route", "parameters": {
            "incoming": "orders-in", "outgoing": "orders-out",
            "transformers": ["make-code"], "changeDetection": {"storage": "seen"}}}}))


def _versions(pg_conn: Any) -> dict[str, str]:
    """Each destination row's code and row version (``xmin``: changes on every write)."""
    return dict(pg_conn.execute("SELECT code, xmin::text FROM orders_out").fetchall())


def _last_output(client: TestClient) -> dict[str, Any]:
    with _platform(client).db.session() as s:
        job = s.scalars(select(Job).where(Job.config_type == "route")
                        .order_by(Job.id.desc())).first()
        assert job is not None
        return dict(job.output or {})


def test_a_second_run_without_changes_records_no_task_and_writes_no_row(
        client: TestClient, team: dict[str, dict[str, str]], route: Path,  # noqa: F811
        pg_database: dict[str, Any], pg_conn: Any) -> None:
    pg_conn.execute("CREATE TABLE orders_out (code text PRIMARY KEY, id bigint, sku text, "
                    "qty bigint CHECK (qty < 4))")
    _detecting(client, team[E], pg_database)
    _ok(_publish(client, team[E]))
    assert run_jobs(client) == 1
    first = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"]) for t in first] == [
        ("1", "finished"), ("2", "failed"), ("3", "finished"), ("4", "finished")]
    assert _last_output(client)["unchanged"] == 0
    written = _versions(pg_conn)
    assert sorted(written) == ["AB-1", "CD-3", "EF-4"]
    with _platform(client).db.session() as s:  # a hash for each entity written, none else
        kept = dict(s.execute(select(StorageEntity.key, StorageEntity.value).where(
            StorageEntity.storage == "seen")).all())
    assert sorted(kept) == ["1", "3", "4"]

    _ok(_publish(client, team[E]))
    assert run_jobs(client) == 1
    second = _tasks(client, team[V])
    # only the refused order ran again (its quantity still breaks the CHECK)
    assert len(second) == len(first) + 1
    assert [(t["entityIdentifier"], t["status"]) for t in second
            if t["identifier"] not in {x["identifier"] for x in first}] == [("2", "failed")]
    output = _last_output(client)
    assert (output["unchanged"], output["failed"], output["finished"]) == (3, 1, 0)
    assert _versions(pg_conn) == written  # no row written again

    # one order changes: one task, one row written
    with sqlite3.connect(route.parent / "shop.db") as db:
        db.execute("UPDATE orders SET qty = 1 WHERE id = 3")
    _ok(_publish(client, team[E]))
    assert run_jobs(client) == 1
    third = _tasks(client, team[V])
    new = [(t["entityIdentifier"], t["status"]) for t in third
           if t["identifier"] not in {x["identifier"] for x in second}]
    assert sorted(new) == [("2", "failed"), ("3", "finished")]
    now_written = _versions(pg_conn)
    assert [c for c in written if now_written[c] != written[c]] == ["CD-3"]
    assert pg_conn.execute("SELECT qty FROM orders_out WHERE code = 'CD-3'").fetchone() == (1,)
    assert _last_output(client)["unchanged"] == 2


def test_a_route_naming_a_storage_that_does_not_exist_fails_its_run(
        client: TestClient, team: dict[str, dict[str, str]], route: Path,  # noqa: F811
        ) -> None:
    _ok(client.put(URL, headers=team[E], json={
        "type": "route-configuration", "identifier": "orders", "name": "orders",
        "object": {"prototype": "route", "parameters": {
            "incoming": "orders-in", "outgoing": "orders-out",
            "changeDetection": {"storage": "nowhere"}}}}))
    _ok(_publish(client, team[E]))
    run_jobs(client)
    with _platform(client).db.session() as s:
        job = s.scalars(select(Job).where(Job.config_type == "route")).one()
        assert job.status == "failed"
        assert "nowhere" in (job.error or "")
    assert _tasks(client, team[V]) == []


def test_an_identifier_repeated_across_chunks_is_kept_once(
        client: TestClient, team: dict[str, dict[str, str]], route: Path,  # noqa: F811
        pg_database: dict[str, Any], pg_conn: Any) -> None:
    """12,000 entities whose identifiers repeat 5,000 to 6,000 entities later (the next
    chunk, looked up while the one before is still being written): the run finishes every
    entity, the destination holds one row per identifier (the last read), the storage one
    hash per identifier. In a second run each entity differs from the hash the other of its
    pair left (kept just before it, even when the chunk before is still being written), so
    all are written again and the last read still wins."""
    editor = team[E]
    with sqlite3.connect(route.parent / "shop.db") as db:
        db.execute("CREATE TABLE items (n INTEGER PRIMARY KEY, sku TEXT, qty INTEGER)")
        db.executemany("INSERT INTO items VALUES (?, ?, ?)",
                       [(n, f"S{n % 6000}", n) for n in range(12_000)])
    _save(client, editor, "storage", "seen", "storage", {"ttlSeconds": None})
    _save(client, editor, "incoming-configuration", "items-in", "sqlite", {
        "configuration": {"path": str(route.parent / "shop.db")}, "stream": "items",
        "identifierField": "sku"})
    _save(client, editor, "outgoing-configuration", "items-out", "postgres", {
        "configuration": pg_database, "stream": "items_out", "key": ["sku"]})
    _save(client, editor, "route-configuration", "items", "route", {
        "incoming": "items-in", "outgoing": "items-out", "transformers": [],
        "changeDetection": {"storage": "seen"}})
    _ok(_publish(client, editor, "items"))
    assert run_jobs(client) == 1
    output = _last_output(client)
    assert (output["read"], output["finished"], output["failed"]) == (12_000, 12_000, 0)
    rows = dict(pg_conn.execute("SELECT sku, qty FROM items_out").fetchall())
    assert rows == {f"S{k}": k + 6000 for k in range(6000)}
    with _platform(client).db.session() as s:
        kept = s.scalars(select(StorageEntity.key).where(
            StorageEntity.storage == "seen")).all()
    assert sorted(kept) == sorted(f"S{k}" for k in range(6000))
    _ok(_publish(client, editor, "items"))
    assert run_jobs(client) == 1
    again = _last_output(client)
    assert (again["read"], again["unchanged"], again["finished"]) == (12_000, 0, 12_000)
    assert dict(pg_conn.execute("SELECT sku, qty FROM items_out").fetchall()) == rows

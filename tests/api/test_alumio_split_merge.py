"""The ``split`` and ``storage-merge`` transformers: one entity of a route becomes a task per
item of its list (identifiers derived from the entity's and the item's position), values a
storage keeps are merged in, a task keeps its item (not the whole entity) and a retry runs
only the failed item on from its split, and the transformer debugger (#145) shows the items at
each step."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import LargeBinary, Text, cast, func, select

from sluiceway.store.models import Job, Task
from tests.api.test_alumio_face import _platform
from tests.api.test_alumio_routes import URL, E, V, _files, _ok, _publish, _save, _tasks, team
from tests.api.test_datasets import run_jobs

__all__ = ["team"]

ORDERS = [(1, json.dumps([{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}])),
          (2, "[]"),
          (3, json.dumps([{"qty": 5}]))]
PARSE = "$merge([$, {'lines': $eval(lines)}])"
FILL = "$"
FILL_FIXED = "$merge([$, {'sku': sku ? sku : 'none'}])"


def _lines(out: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(out) as db:
        return sorted(db.execute("SELECT orderId, sku, qty, price FROM lines_out").fetchall())


def _route(client: TestClient, editor: dict[str, str]) -> Path:
    root = _files(client)
    with sqlite3.connect(root / "orders.db") as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, lines TEXT)")
        db.executemany("INSERT INTO orders VALUES (?, ?)", ORDERS)
    with sqlite3.connect(root / "lines.db") as db:
        db.execute("CREATE TABLE lines_out (orderId INTEGER, sku TEXT, qty INTEGER, "
                   "price INTEGER, PRIMARY KEY (orderId, sku))")
    _save(client, editor, "incoming-configuration", "orders-in", "sqlite", {
        "configuration": {"path": str(root / "orders.db")}, "stream": "orders",
        "identifierField": "id"})
    _save(client, editor, "outgoing-configuration", "lines-out", "sqlite", {
        "configuration": {"path": str(root / "lines.db")}, "stream": "lines_out",
        "key": ["orderId", "sku"]})
    _save(client, editor, "storage", "prices", "storage", {})
    _ok(client.put("/api/v1/storages/prices/entity", headers=editor,
                   params={"space": "team-a", "entity": "a"}, json={"price": 30}))
    _save(client, editor, "transformer", "parse", "jsonata", {"expression": PARSE})
    _save(client, editor, "transformer", "each-line", "split",
          {"path": "lines", "parentKeys": {"id": "orderId"}})
    _save(client, editor, "transformer", "add-price", "storage-merge",
          {"storage": "prices", "key": "sku"})
    _save(client, editor, "transformer", "fill-sku", "jsonata", {"expression": FILL})
    # the split sits inside a chain: the route still makes a task per item
    _save(client, editor, "transformer", "lines", "chain",
          {"transformers": ["parse", "each-line"]})
    _save(client, editor, "route-configuration", "order-lines", "route", {
        "incoming": "orders-in", "outgoing": "lines-out",
        "transformers": ["lines", "fill-sku", "add-price"]})
    return root / "lines.db"


def test_a_split_entity_becomes_a_task_per_item_and_a_retry_runs_only_the_failed_item(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    out = _route(client, team[E])
    _ok(_publish(client, team[E], "order-lines"))
    assert run_jobs(client) == 1
    tasks = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"]) for t in tasks] == [
        ("1#0", "finished"), ("1#1", "finished"), ("2", "skipped"), ("3#0", "failed")]
    # a task keeps its item as the split gave it (the route's second step, in the chain's
    # second step), with its parent's identifier and its index; not the whole order
    assert tasks[0]["entityData"] == {"item": {"sku": "a", "qty": 1, "orderId": 1},
                                      "split": {"parent": "1", "index": "0", "at": [0, 1]}}
    assert tasks[1]["entityData"]["item"] == {"sku": "b", "qty": 2, "orderId": 1}
    assert tasks[2]["entityData"] == {"id": 2, "lines": "[]"}  # not split: as read
    assert tasks[3]["entityData"] == {"item": {"qty": 5, "orderId": 3},
                                      "split": {"parent": "3", "index": "0", "at": [0, 1]}}
    failed = _ok(client.get(f"/api/v1/tasks/{tasks[3]['identifier']}",
                            params={"space": "team-a"}, headers=team[V]))["object"]
    assert "sku" in failed["error"]
    # a: merged from the storage; b: the storage keeps nothing, the line goes on as it is
    assert _lines(out) == [(1, "a", 1, 30), (1, "b", 2, None)]

    # the step after the split is fixed: the retry runs the kept item on from its split
    _ok(client.put(URL, headers=team[E], json={
        "type": "transformer", "identifier": "fill-sku", "name": "fill-sku",
        "object": {"prototype": "jsonata", "parameters": {"expression": FILL_FIXED}}}))
    retried = _ok(client.post("/api/v1/tasks/retry?space=team-a", headers=team[E],
                              json={"filter": json.dumps({"where": {"status": "failed"}})}))
    assert retried["numberOfTasks"] == 1
    assert run_jobs(client) == 1
    tasks = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"], t["attempts"]) for t in tasks] == [
        ("1#0", "finished", 1), ("1#1", "finished", 1), ("2", "skipped", 1),
        ("3#0", "finished", 2)]
    assert tasks[3]["entityData"]["item"] == {"qty": 5, "orderId": 3}
    assert _lines(out) == [(1, "a", 1, 30), (1, "b", 2, None), (3, "none", 5, None)]
    # the retried item was sent once, as the item: one entity read and finished
    with _platform(client).db.session() as s:
        retry_out = s.scalars(select(Job.output).where(Job.config_type == "route")
                              .order_by(Job.id.desc()).limit(1)).one()
    assert (retry_out["mode"], retry_out["read"], retry_out["finished"]) == ("retry", 1, 1)

    # a second run: the same identifiers, the rows upserted once
    _ok(_publish(client, team[E], "order-lines"))
    assert run_jobs(client) == 1
    assert len(_lines(out)) == 3
    identifiers = [t["entityIdentifier"] for t in _tasks(client, team[V])]
    assert sorted(set(identifiers)) == ["1#0", "1#1", "2", "3#0"]


def test_storage_merge_skips_a_missing_value_when_asked_and_the_debugger_shows_items(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _route(client, team[E])
    _save(client, team[E], "transformer", "priced-only", "storage-merge",
          {"storage": "prices", "key": "sku", "target": "pricing", "onMissing": "skip"})
    _save(client, team[E], "transformer", "debug", "chain",
          {"transformers": ["parse", "each-line", "priced-only"]})
    url = "/api/v1/transformers/run?space=team-a&type=debug&breakpoints=true"
    got = _ok(client.post(url, headers=team[E], json={"id": 1, "lines": ORDERS[0][1]}))
    assert got["entities"] == [{"sku": "a", "qty": 1, "orderId": 1,
                                "pricing": {"price": 30}}]
    steps = got["breakpoints"]
    assert [s["transformer"] for s in steps] == ["parse", "each-line", "priced-only"]
    assert steps[1]["entity"] == [{"sku": "a", "qty": 1, "orderId": 1},
                                  {"sku": "b", "qty": 2, "orderId": 1}]
    stopped = _ok(client.post(url + "&stop-exec-at=each-line", headers=team[E],
                              json={"id": 1, "lines": ORDERS[0][1]}))
    assert len(stopped["entities"]) == 2
    # nothing to split: skipped with the reason
    empty = _ok(client.post(url, headers=team[E], json={"id": 2, "lines": "[]"}))
    assert empty["entities"] == []
    assert empty["breakpoints"][-1]["skipped"] == "nothing to split: lines has no items"
    # a storage that does not exist fails the entity, naming the parameter
    _save(client, team[E], "transformer", "nowhere", "storage-merge",
          {"storage": "no-such", "key": "sku"})
    bad = _ok(client.post("/api/v1/transformers/run?space=team-a&type=nowhere&breakpoints=true",
                          headers=team[E], json={"sku": "a"}))
    assert bad["entities"] == []
    assert "no-such" in bad["breakpoints"][0]["error"]


def test_the_catalogue_serves_split_and_storage_merge_with_passing_test_cases(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    from sluiceway.services import prototypes

    outcomes = [o for o in prototypes.run_tests("transformer", "*")
                if o.identifier in ("split", "storage-merge")]
    assert len(outcomes) == 4
    assert [o.exception for o in outcomes] == [None] * 4
    for name in ("split", "storage-merge"):
        proto = prototypes.get_prototype("transformer", name)
        assert proto.schema["required"] in (["path"], ["storage", "key"])
        assert f"`{name}`" in proto.documentation


def _order(order_id: int, n: int) -> tuple[int, str]:
    return order_id, json.dumps([{"sku": f"sku-{i:04d}", "qty": i, "note": "n" * 40}
                                 for i in range(n)])


def test_a_split_item_s_task_keeps_the_item_not_the_order(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    """The ledger's bytes for an order of 100 lines grow with its lines, not with the lines
    times the order: each task keeps its line and a small reference to the order."""
    editor = team[E]
    root = _files(client)
    orders = [_order(1, 10), _order(2, 100)]
    with sqlite3.connect(root / "big.db") as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, lines TEXT)")
        db.executemany("INSERT INTO orders VALUES (?, ?)", orders)
    with sqlite3.connect(root / "big-lines.db") as db:
        db.execute("CREATE TABLE lines_out (orderId INTEGER, sku TEXT, qty INTEGER, "
                   "note TEXT, PRIMARY KEY (orderId, sku))")
    _save(client, editor, "incoming-configuration", "big-in", "sqlite", {
        "configuration": {"path": str(root / "big.db")}, "stream": "orders",
        "identifierField": "id"})
    _save(client, editor, "outgoing-configuration", "big-out", "sqlite", {
        "configuration": {"path": str(root / "big-lines.db")}, "stream": "lines_out",
        "key": ["orderId", "sku"]})
    _save(client, editor, "transformer", "parse", "jsonata", {"expression": PARSE})
    _save(client, editor, "transformer", "each-line", "split",
          {"path": "lines", "parentKeys": {"id": "orderId"}})
    _save(client, editor, "route-configuration", "big-lines", "route", {
        "incoming": "big-in", "outgoing": "big-out", "transformers": ["parse", "each-line"]})
    _ok(_publish(client, editor, "big-lines"))
    assert run_jobs(client) == 1
    with sqlite3.connect(root / "big-lines.db") as db:
        assert db.execute("SELECT count(*) FROM lines_out").fetchone() == (110,)

    p = _platform(client)
    text = cast(Task.entity, Text)
    octets = (func.length(cast(text, LargeBinary)) if p.db.is_sqlite
              else func.octet_length(text))
    with p.db.session() as s:
        stored = {str(ident).split("#")[0]: (int(n), int(size))
                  for ident, n, size in s.execute(
                      select(func.min(Task.entity_identifier), func.count(), func.sum(octets))
                      .where(Task.route == "big-lines")
                      .group_by(func.substr(Task.entity_identifier, 1, 1)))}
        last = s.scalars(select(Task.entity).where(Task.entity_identifier == "2#99")).one()
    assert last == {"item": {"sku": "sku-0099", "qty": 99, "note": "n" * 40, "orderId": 2},
                    "split": {"parent": "2", "index": "99", "at": [1]}}
    (n10, bytes10), (n100, bytes100) = stored["1"], stored["2"]
    assert (n10, n100) == (10, 100)
    parent100 = len(json.dumps({"id": 2, "lines": orders[1][1]}))
    # the order of 100 lines as read was kept 100 times before: 100 x its size
    assert bytes100 < 2 * parent100
    assert bytes100 / n100 < parent100 / 20
    # a task's size does not depend on how many lines its order has
    assert bytes100 / n100 < 1.1 * bytes10 / n10

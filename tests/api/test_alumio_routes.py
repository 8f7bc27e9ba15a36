"""Routes on the platform API: a run is a job that records every entity as a task (#100,
#109), tasks are listed, inspected, retried after their cause is fixed, skipped, resolved and
pruned (#134-144), processes are the job system's attempts (#101-108), the legacy runs are
aliases of a publish (#96-99), the transformer debugger runs step by step (#145), and the
roles hold."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.jobs.runtime import enqueue_prune
from sluiceway.store.db import now
from sluiceway.store.models import AuditEntry, Job, Task
from tests.api.conftest import ADMIN
from tests.api.test_alumio_face import _bearer, _error, _platform
from tests.api.test_datasets import run_jobs
from tests.helpers import wait_until

V, E = "viewer@team.example", "editor@team.example"
ROLE = {V: "ROLE_USER", E: "ROLE_EDITOR"}
URL = "/api/v1/di/configurations"
ORDERS = [(1, "ab-1", 3), (2, None, 5), (3, "cd-3", -1), (4, "ef-4", 2)]
#: makes the outgoing's key from the SKU; fails on an order without one
CODE = "$uppercase(sku)"
CODE_FIXED = 'sku ? $uppercase(sku) : "N" & $string(id)'


@pytest.fixture
def team(client: TestClient) -> dict[str, dict[str, str]]:
    r = client.post("/api/v1/spaces", auth=ADMIN, json={
        "object": {"identifier": "team-a", "name": "Team A", "purpose": "dev"},
        "users": [{"email": e, "roles": [ROLE[e]]} for e in (V, E)], "dataEngines": []})
    assert r.status_code == 200, r.text
    return {e: _bearer(client, e) for e in (V, E)}


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def _save(client: TestClient, auth: dict[str, str], type_: str, identifier: str,
          prototype: str, parameters: dict[str, Any]) -> None:
    _ok(client.post(URL, headers=auth, json={
        "type": type_, "identifier": identifier, "name": identifier,
        "object": {"prototype": prototype, "parameters": parameters}}))


def _files(client: TestClient) -> Path:
    root = _platform(client).settings.allowed_roots[0]
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def route(client: TestClient, team: dict[str, dict[str, str]]) -> Path:
    """Route ``orders`` in team-a: SQLite ``orders`` -> code from the SKU, drop orders with
    no quantity -> SQLite ``orders_out`` upserted on ``code``."""
    root = _files(client)
    with sqlite3.connect(root / "shop.db") as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, sku TEXT, qty INTEGER)")
        db.executemany("INSERT INTO orders VALUES (?, ?, ?)", ORDERS)
    editor = team[E]
    _save(client, editor, "incoming-configuration", "orders-in", "sqlite", {
        "configuration": {"path": str(root / "shop.db")}, "stream": "orders",
        "identifierField": "id"})
    _save(client, editor, "outgoing-configuration", "orders-out", "sqlite", {
        "configuration": {"path": str(root / "out.db")}, "stream": "orders_out",
        "key": ["code"]})
    _save(client, editor, "transformer", "make-code", "jsonata",
          {"expression": CODE, "target": "code"})
    _save(client, editor, "transformer", "positive", "filter",
          {"conditions": [{"key": "qty", "op": "gt", "value": 0}]})
    _save(client, editor, "route-configuration", "orders", "route", {
        "incoming": "orders-in", "outgoing": "orders-out",
        "transformers": ["make-code", "positive"]})
    return root / "out.db"


def _publish(client: TestClient, auth: dict[str, str], route: str = "orders") -> Any:
    return client.post("/api/v1/queue/publish?space=team-a", headers=auth, json={"job": {
        "queue": "default", "priority": 0,
        "commands": [{"command": "route:run", "arguments": {"route": route}}]}})


def _tasks(client: TestClient, auth: dict[str, str], **where: Any) -> list[dict[str, Any]]:
    f = json.dumps({"where": where, "order": "entityIdentifier asc"})
    return list(_ok(client.get("/api/v1/tasks", params={"filter": f, "space": "team-a"},
                               headers=auth))["results"])


def _rows(out: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(out) as db:
        return sorted(db.execute("SELECT id, sku, qty, code FROM orders_out").fetchall())


def test_a_route_run_records_each_entity_as_a_task_and_a_retry_after_the_fix_finishes_it(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    published = _ok(_publish(client, team[E]))
    assert set(published) == {"message", "processId"}
    process = _ok(client.get(f"/api/v1/queue/processes/{published['processId']}",
                             params={"space": "team-a"}, headers=team[V]))["object"]
    assert (process["status"], process["command"]) == ("scheduled", "route:run")
    assert process["arguments"]["route"] == "orders"
    assert run_jobs(client) == 1

    tasks = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"]) for t in tasks] == [
        ("1", "finished"), ("2", "failed"), ("3", "skipped"), ("4", "finished")]
    assert tasks[0]["entityData"] == {"id": 1, "sku": "ab-1", "qty": 3}
    assert {t["route"] for t in tasks} == {"orders"}
    assert _rows(route) == [(1, "ab-1", 3, "AB-1"), (4, "ef-4", 2, "EF-4")]
    failed = _ok(client.get(f"/api/v1/tasks/{tasks[1]['identifier']}",
                            params={"space": "team-a"}, headers=team[V]))["object"]
    assert "JSONata" in failed["error"]
    assert failed["context"]["route"]["identifier"] == "orders"
    assert failed["context"]["incoming"]["identifier"] == "orders-in"
    assert _ok(client.get(f"/api/v1/tasks/{tasks[1]['identifier']}/entity_data",
                          params={"space": "team-a"}, headers=team[V])) == {
        "data": {"id": 2, "sku": None, "qty": 5}}
    done = _ok(client.get("/api/v1/queue/processes/" + str(published["processId"]),
                          params={"space": "team-a"}, headers=team[V]))["object"]
    assert done["status"] == "finished"

    # the cause is fixed, then the failed task is retried: only that entity runs again
    _ok(client.put(URL, headers=team[E], json={
        "type": "transformer", "identifier": "make-code", "name": "make-code",
        "object": {"prototype": "jsonata",
                   "parameters": {"expression": CODE_FIXED, "target": "code"}}}))
    retried = _ok(client.post("/api/v1/tasks/retry?space=team-a", headers=team[E],
                              json={"filter": json.dumps({"where": {"status": "failed"}})}))
    assert retried == {"newStatus": "retry", "numberOfTasks": 1}
    assert run_jobs(client) == 1
    tasks = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"], t["attempts"]) for t in tasks] == [

        ("1", "finished", 1), ("2", "finished", 2), ("3", "skipped", 1), ("4", "finished", 1)]
    assert _rows(route) == [(1, "ab-1", 3, "AB-1"), (2, None, 5, "N2"), (4, "ef-4", 2, "EF-4")]

    # a second run upserts on the key: no row is doubled
    _ok(_publish(client, team[E]))
    run_jobs(client)
    assert len(_rows(route)) == 3
    stats = _ok(client.get("/api/v1/statistics/routes", params={"space": "team-a"},
                           headers=team[V]))
    assert stats["results"] == [{"identifier": "orders", "name": "orders", "stats": {
        "new": 0, "processing": 0, "skipped": 2, "finished": 6, "failed": 0}}]
    totals = _ok(client.get("/api/v1/statistics/tasks/totals", params={"space": "team-a"},
                            headers=team[V]))["results"]
    assert (totals["finished"], totals["skipped"], totals["failed"]) == (6, 2, 0)
    daily = _ok(client.get("/api/v1/statistics/tasks/daily", params={"space": "team-a"},
                           headers=team[V]))["results"]
    assert [(d["identifier"], d["finished"], d["skipped"]) for d in daily] == [("orders", 6, 2)]
    window = _ok(client.post("/api/v1/statistics/routes", params={"space": "team-a"},
                             headers=team[V], json={"from": "2000-01-01T00:00:00Z",
                                                    "to": "2999-01-01T00:00:00Z",
                                                    "routeIdentifiers": ["orders"]}))
    assert window["results"][0]["taskStats"] == {"new": 0, "finished": 6, "failed": 0}
    per_space = _ok(client.get("/api/v1/statistics/spaces", auth=ADMIN))["results"]
    assert {r["spaceIdentifier"]: (r["finished"], r["skipped"]) for r in per_space} == {
        "default": (0, 0), "team-a": (6, 2)}


def test_tasks_are_skipped_resolved_pruned_and_repaired_by_filter(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    _ok(_publish(client, team[E]))
    run_jobs(client)
    body = {"filter": json.dumps({"where": {"status": "failed"}})}
    assert _ok(client.post("/api/v1/tasks/skip?space=team-a", headers=team[E], json=body)) == {
        "newStatus": "skipped", "numberOfTasks": 1}
    body = {"filter": json.dumps({"where": {"entityIdentifier": {"inq": ["1", "4"]}}})}
    assert _ok(client.post("/api/v1/tasks/resolve?space=team-a", headers=team[E],
                           json=body))["numberOfTasks"] == 2
    assert [t["status"] for t in _tasks(client, team[V])] == [
        "resolved", "skipped", "skipped", "resolved"]  # before the repair below
    assert _ok(client.post("/api/v1/tasks/repair?space=team-a", headers=team[E])) == {
        "count": 0, "newStatus": "new"}
    p = _platform(client)
    with p.db.session() as s:  # left in processing by a run that is over, two hours ago
        stuck = s.scalars(select(Task).where(Task.entity_identifier == "3")).one()
        stuck.status, stuck.updated_at = "processing", now() - 7200
    assert _ok(client.post("/api/v1/tasks/repair?space=team-a&age=1%20hour&newStatus=failed",
                           headers=team[E])) == {"count": 1, "newStatus": "failed"}
    _error(client.post("/api/v1/tasks/repair?space=team-a&age=an%20age", headers=team[E]), 400)
    _error(client.post("/api/v1/tasks/prune?space=team-a&maxAge=soon&maxCount=1",
                       headers=team[E]), 400)
    assert _ok(client.post("/api/v1/tasks/prune?space=team-a&maxAge=1%20week&maxCount=1",
                           headers=team[E])) == {"expired": 0, "excess": 3}
    assert len(_tasks(client, team[V])) == 1
    bad = _error(client.get("/api/v1/tasks", params={
        "filter": json.dumps({"where": {"colour": "red"}}), "space": "team-a"},
        headers=team[V]), 400)
    assert bad["violations"][0]["propertyPath"] == "filter.where.colour"


def test_waiting_tasks_move_to_finished_or_failed_with_messages(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    _ok(client.patch(URL, headers=team[E], json={
        "type": "route-configuration", "identifier": "orders", "object": {
            "prototype": "route", "parameters": {
                "incoming": "orders-in", "outgoing": "orders-out",
                "transformers": ["make-code", "positive"], "waitingStatus": True}}}))
    _ok(_publish(client, team[E]))
    run_jobs(client)
    assert [t["status"] for t in _tasks(client, team[V])] == [
        "waiting", "failed", "skipped", "waiting"]
    ids = sorted(t["identifier"] for t in _tasks(client, team[V], status="waiting"))
    got = _ok(client.post("/api/v1/tasks/waiting/transition?space=team-a", headers=team[E],
                          json={"tasks": [{"identifiers": ids[:1], "status": "failed",
                                           "messages": [{"level": "critical",
                                                         "message": "refused"}]}]}))
    assert got == {"numberOfTasks": 1, "updatedTasks": {"finished": [], "failed": ids[:1]}}
    logs = _ok(client.get(f"/api/v1/tasks/{ids[0]}", params={"space": "team-a"},
                          headers=team[V]))["object"]["logs"]
    assert logs[-1]["message"] == "refused"
    body = {"filter": json.dumps({"where": {"identifier": {"inq": ids[1:]}}})}
    assert _ok(client.post("/api/v1/tasks/waiting/finish?space=team-a", headers=team[E],
                           json=body))["numberOfTasks"] == 1
    assert [t["status"] for t in _tasks(client, team[V])] == [
        "failed", "failed", "skipped", "finished"]
    _error(client.post("/api/v1/tasks/waiting/transition?space=team-a", headers=team[E],
                       json={"tasks": []}), 400)


def test_routes_processes_and_legacy_runs(client: TestClient,
                                          team: dict[str, dict[str, str]],
                                          route: Path) -> None:
    listed = _ok(client.get("/api/v1/routes", params={"space": "team-a"}, headers=team[V]))
    assert listed == {"metadata": {"totalCount": 1}, "results": [
        {"identifier": "orders", "name": "orders", "type": "route-configuration"}]}
    everywhere = _ok(client.get("/api/v1/routes/all_spaces", auth=ADMIN))["results"]
    assert [(r["identifier"], r["space"]) for r in everywhere] == [("orders", "team-a")]
    _error(client.get("/api/v1/routes/all_spaces", headers=team[E]), 403)

    legacy = _ok(client.post("/api/v1/subscribers/orders-in/consume?space=team-a",
                             headers=team[E]))
    assert set(legacy) == {"message"}
    legacy = _ok(client.post("/api/v1/routes/orders/export?space=team-a&tasks=10",
                             headers=team[E]))
    processes = _ok(client.get("/api/v1/queue/processes", params={"space": "team-a"},
                               headers=team[V]))
    assert processes["metadata"]["totalCount"] == 2
    assert {p["status"] for p in processes["results"]} == {"scheduled"}
    first = processes["results"][-1]
    assert _ok(client.get(f"/api/v1/queue/jobs/{first['jobId']}", params={"space": "team-a"},
                          headers=team[V]))["metadata"]["totalCount"] == 1
    killed = _ok(client.post(f"/api/v1/queue/processes/{first['identifier']}/kill"
                             "?space=team-a", headers=team[E]))
    assert set(killed) == {"message"}
    skipped = _ok(client.post("/api/v1/queue/jobs/skip?space=team-a", headers=team[E],
                              json={"filter": json.dumps({"where": {"status": "scheduled"}})}))
    assert skipped["skipped"] == 1
    assert run_jobs(client) == 0  # both were cancelled before a worker took them
    statuses = {p["status"] for p in _ok(client.get(
        "/api/v1/queue/processes", params={"space": "team-a"}, headers=team[V]))["results"]}
    assert statuses == {"killed"}
    _error(client.post("/api/v1/queue/publish?space=team-a", headers=team[E], json={"job": {
        "commands": [{"command": "route:run", "arguments": {"route": "nope"}}]}}), 404)


def test_the_transformer_debugger_returns_the_entity_at_each_step(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    _save(client, team[E], "transformer", "both", "chain",
          {"transformers": ["make-code", "positive"]})
    url = "/api/v1/transformers/run?space=team-a&type=both"
    entity = {"id": 7, "sku": "zz", "qty": 1}
    assert _ok(client.post(url, headers=team[E], json=entity)) == {
        "entities": [{**entity, "code": "ZZ"}]}
    steps = _ok(client.post(url + "&breakpoints=true", headers=team[E],
                            json={**entity, "qty": 0}))
    assert steps["entities"] == []
    assert [(s["transformer"], s["skipped"] is not None) for s in steps["breakpoints"]] == [
        ("make-code", False), ("positive", True)]
    stopped = _ok(client.post(url + "&breakpoints=true&stop-exec-at=make-code",
                              headers=team[E], json=entity))
    assert [s["transformer"] for s in stopped["breakpoints"]] == ["make-code"]
    _error(client.post(url + "&stop-exec-at=nowhere", headers=team[E], json=entity), 400)


#: who, method, path, body, the status expected (one app for all rows: a fresh metadata
#: database per row would cost seconds each)
ROLE_MATRIX: list[tuple[str, str, str, Any, int]] = [
    (V, "GET", "/api/v1/tasks", None, 200),
    (V, "GET", "/api/v1/routes", None, 200),
    (V, "GET", "/api/v1/queue/processes", None, 200),
    (V, "GET", "/api/v1/statistics/routes", None, 200),
    (V, "POST", "/api/v1/queue/publish", {"job": {"commands": [
        {"command": "route:run", "arguments": {"route": "orders"}}]}}, 403),
    (V, "POST", "/api/v1/tasks/retry", {"filter": "{}"}, 403),
    (V, "POST", "/api/v1/tasks/skip", {"filter": "{}"}, 403),
    (V, "POST", "/api/v1/tasks/prune?maxAge=1%20day&maxCount=0", None, 403),
    (V, "POST", "/api/v1/tasks/repair", None, 403),
    (V, "POST", "/api/v1/queue/jobs/kill", {"filter": "{}"}, 403),
    (V, "POST", "/api/v1/routes/orders/export", None, 403),
    (V, "POST", "/api/v1/transformers/run?type=positive", {"qty": 1}, 403),
    (E, "POST", "/api/v1/queue/publish", {"job": {"commands": [
        {"command": "route:run", "arguments": {"route": "orders"}}]}}, 200),
    (E, "POST", "/api/v1/tasks/retry", {"filter": "{}"}, 200),
    (E, "POST", "/api/v1/queue/jobs/stop", {"filter": "{}"}, 200),
    (E, "POST", "/api/v1/transformers/run?type=positive", {"qty": 1}, 200),
    # an OAuth flow ends in an encrypted variable: administrators only
    (V, "GET", "/api/v1/oauth/authorize?provider=%7B%7D&key=T", None, 403),
    (E, "GET", "/api/v1/oauth/authorize?provider=%7B%7D&key=T", None, 403),
    (E, "GET", "/api/v1/oauth1/authorize?provider=%7B%7D&key=T", None, 403),
]


def test_viewers_read_editors_run_and_change(client: TestClient,
                                             team: dict[str, dict[str, str]],
                                             route: Path) -> None:
    p = _platform(client)
    for who, method, path, body, status in ROLE_MATRIX:
        sep = "&" if "?" in path else "?"
        r = client.request(method, f"{path}{sep}space=team-a", headers=team[who], json=body)
        assert r.status_code == status, (who, method, path, r.text)
        if status == 403:
            assert r.json()["type"] == "forbidden"
    with p.db.session() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"queue.publish", "task.retry", "queue.stop"} <= actions


def test_entities_postgresql_refuses_fail_alone_and_the_others_are_upserted_once(
        client: TestClient, team: dict[str, dict[str, str]], route: Path,
        pg_database: dict[str, Any], pg_conn: Any) -> None:
    pg_conn.execute("CREATE TABLE orders_out (code text PRIMARY KEY, id bigint, sku text, "
                    "qty bigint CHECK (qty < 4))")
    _ok(client.put(URL, headers=team[E], json={
        "type": "outgoing-configuration", "identifier": "orders-out", "name": "orders-out",
        "object": {"prototype": "postgres", "parameters": {
            "configuration": pg_database, "stream": "orders_out", "key": ["code"]}}}))
    for _ in range(2):  # the second run replaces the rows it wrote: none is doubled
        _ok(_publish(client, team[E]))
        assert run_jobs(client) == 1
    tasks = _tasks(client, team[V])
    assert sorted((t["entityIdentifier"], t["status"]) for t in tasks) == sorted(
        [("1", "finished"), ("2", "failed"), ("3", "skipped"), ("4", "finished")] * 2)
    refused = _tasks(client, team[V], status="failed")
    assert len(refused) == 2
    # order 2 fails in the transformer; with it mended, the CHECK refuses its quantity
    _ok(client.put(URL, headers=team[E], json={
        "type": "transformer", "identifier": "make-code", "name": "make-code",
        "object": {"prototype": "jsonata",
                   "parameters": {"expression": CODE_FIXED, "target": "code"}}}))
    _ok(client.post("/api/v1/tasks/retry?space=team-a", headers=team[E],
                    json={"filter": json.dumps({"where": {"status": "failed"}})}))
    assert run_jobs(client) == 1
    again = _tasks(client, team[V], status="failed")
    assert len(again) == 2
    detail = _ok(client.get(f"/api/v1/tasks/{again[0]['identifier']}",
                            params={"space": "team-a"}, headers=team[V]))["object"]
    assert detail["error"].startswith("outgoing:")
    assert "check" in detail["error"].lower()
    rows = pg_conn.execute("SELECT code, id, qty FROM orders_out ORDER BY id").fetchall()
    assert rows == [("AB-1", 1, 3), ("EF-4", 4, 2)]


def test_an_attempt_after_a_dead_worker_keeps_one_task_per_entity(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    _ok(_publish(client, team[E]))
    assert run_jobs(client) == 1
    p = _platform(client)
    with p.db.session() as s:  # as if the worker died while it wrote orders 3 and 4
        left = s.scalars(select(Task).where(Task.entity_identifier.in_(["3", "4"]))).all()
        job = s.get_one(Job, left[0].job_id)
        for task in left:
            task.status = "processing"
        job.status, job.scheduled_at = "incomplete", 0.0
    assert run_jobs(client) == 1  # the job's second attempt
    tasks = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"]) for t in tasks] == [
        ("1", "finished"), ("2", "failed"), ("3", "skipped"), ("4", "finished")]
    assert _rows(route) == [(1, "ab-1", 3, "AB-1"), (4, "ef-4", 2, "EF-4")]


def test_a_worker_dead_between_the_postgresql_commit_and_the_ledgers_leaves_no_double(
        client: TestClient, team: dict[str, dict[str, str]], route: Path,
        pg_database: dict[str, Any], pg_conn: Any) -> None:
    """Into PostgreSQL each task is written once, after its chunk's upsert and before the
    outgoing commits: a worker that dies in between leaves rows without tasks. The job's
    next attempt runs those entities again: one task and one row each."""
    _ok(client.put(URL, headers=team[E], json={
        "type": "outgoing-configuration", "identifier": "orders-out", "name": "orders-out",
        "object": {"prototype": "postgres", "parameters": {
            "configuration": pg_database, "stream": "orders_out", "key": ["code"]}}}))
    _ok(_publish(client, team[E]))
    assert run_jobs(client) == 1
    p = _platform(client)
    with p.db.session() as s:
        assert {t.status for t in s.scalars(select(Task))} == {"finished", "failed", "skipped"}
        left = s.scalars(select(Task).where(Task.entity_identifier.in_(["3", "4"]))).all()
        job = s.get_one(Job, left[0].job_id)
        for task in left:  # as if the worker died once orders 3 and 4 were written
            s.delete(task)
        job.status, job.scheduled_at = "incomplete", 0.0
    assert run_jobs(client) == 1  # the job's second attempt
    tasks = _tasks(client, team[V])
    assert [(t["entityIdentifier"], t["status"]) for t in tasks] == [
        ("1", "finished"), ("2", "failed"), ("3", "skipped"), ("4", "finished")]
    rows = pg_conn.execute("SELECT code, id, qty FROM orders_out ORDER BY id").fetchall()
    assert rows == [("AB-1", 1, 3), ("EF-4", 4, 2)]


def test_the_routes_retry_policy_runs_failed_entities_again_until_its_attempts_are_spent(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    _ok(client.put(URL, headers=team[E], json={
        "type": "route-configuration", "identifier": "orders", "name": "orders",
        "object": {"prototype": "route", "parameters": {
            "incoming": "orders-in", "outgoing": "orders-out",
            "transformers": ["make-code", "positive"],
            "retry": {"maxAttempts": 3, "intervalSeconds": 1}}}}))
    _ok(_publish(client, team[E]))
    assert run_jobs(client) == 1
    assert [(t["status"], t["attempts"]) for t in _tasks(client, team[V], status="retry")] == [
        ("retry", 1)]
    for attempts in (2, 3):  # each retry waits for the interval
        wait_until(lambda: run_jobs(client) == 1, timeout=30, what="the scheduled retry")
        two = _tasks(client, team[V], entityIdentifier="2")[0]
        assert two["attempts"] == attempts
    assert two["status"] == "failed"  # attempts spent: no more retries
    assert run_jobs(client) == 0
    processes = _ok(client.get("/api/v1/queue/processes", params={"space": "team-a"},
                               headers=team[V]))
    assert [p["arguments"]["mode"] for p in processes["results"]] == ["retry", "retry", "run"]


def test_tasks_past_their_retention_are_pruned_by_a_job(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    _ok(_publish(client, team[E]))
    run_jobs(client)
    p = _platform(client)
    days = p.settings.task_retention_days
    with p.db.session() as s:
        old = s.scalars(select(Task).where(Task.entity_identifier.in_(["1", "2"]))).all()
        for t in old:
            t.updated_at = now() - days * 86400 - 60
    assert enqueue_prune(p.settings, p.db) is not None
    run_jobs(client)
    assert [t["entityIdentifier"] for t in _tasks(client, team[V])] == ["3", "4"]


def test_an_incoming_with_a_cursor_reads_from_where_the_last_run_stopped(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:
    root = _files(client)
    _ok(client.put(URL, headers=team[E], json={
        "type": "incoming-configuration", "identifier": "orders-in", "name": "orders-in",
        "object": {"prototype": "sqlite", "parameters": {
            "configuration": {"path": str(root / "shop.db")}, "stream": "orders",
            "identifierField": "id", "cursorField": "id"}}}))
    _ok(_publish(client, team[E]))
    run_jobs(client)
    assert len(_tasks(client, team[V])) == 4
    with sqlite3.connect(root / "shop.db") as db:
        db.execute("INSERT INTO orders VALUES (5, 'gh-5', 1)")
    _ok(_publish(client, team[E]))
    run_jobs(client)
    # the second run reads from the checkpoint on: order 4 (the cursor's last value, read
    # again so that rows sharing it are never lost) and the new order 5
    assert sorted(t["entityIdentifier"] for t in _tasks(client, team[V])) == [
        "1", "2", "3", "4", "4", "5"]
    assert (5, "gh-5", 1, "GH-5") in _rows(route)
    assert len(_rows(route)) == 3

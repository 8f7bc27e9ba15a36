"""The celery executor's decisions that need no broker: what the sweeper publishes and
where, what a worker does with a message, and what a worker refuses to start without."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from sluiceway.core.errors import InvalidInput
from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.jobs.executors.celery import (
    CeleryExecutor,
    broker_priority,
    check_worker,
    make_app,
    run_job,
    write_markers,
)
from sluiceway.store.db import now
from sluiceway.store.models import Configuration, Job, Workspace
from tests.jobs.conftest import World

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/meta"


def _job(world: World, kind: str = "sync", scope: str = "c1", priority: int = 0) -> int:
    return ledger.enqueue_in(world.db, workspace_id=world.workspace_id, config_type=kind,
                             scope=scope, max_attempts=2, priority=priority).id


def _published(world: World, republish_before: float = 0.0) -> list[int]:
    return [j.id for j in ledger.take_publishable(world.db, republish_before)]


def test_a_job_is_published_once_until_handed_back_or_stale(world: World) -> None:
    low, high = _job(world, scope="a"), _job(world, scope="b", priority=9)
    assert _published(world) == [high, low]  # the most urgent first
    assert _published(world) == []  # their messages wait: nothing twice
    ledger.unpublish(world.db, [low])  # a worker could not start it
    assert _published(world) == [low]
    assert _published(world, republish_before=now() + 1) == [high, low]  # lost messages?


def test_running_capped_and_busy_jobs_are_not_published(world: World) -> None:
    first = _job(world, scope="conn")
    second = _job(world, scope="conn")  # the same connection: waits for the first
    attempt = ledger.claim(world.db, "w", 1, 30.0, job_id=first)
    assert attempt is not None
    assert _published(world) == []
    ledger.finish(world.db, attempt.id, "succeeded", settings=world.settings)
    with world.db.session() as s:
        s.get_one(Workspace, world.workspace_id).workers = 0  # paused
    assert _published(world) == []
    with world.db.session() as s:
        s.get_one(Workspace, world.workspace_id).workers = None
    assert _published(world) == [second]


def test_a_retry_is_published_again_when_it_comes_due(world: World) -> None:
    job_id = _job(world)
    assert _published(world) == [job_id]
    attempt = ledger.claim(world.db, "w", 1, 30.0, job_id=job_id)
    assert attempt is not None
    ledger.finish(world.db, attempt.id, "failed", retryable=True, error="blip",
                  settings=world.settings)
    with world.db.session() as s:
        s.get_one(Job, job_id).scheduled_at = now()  # its backoff has passed
    assert _published(world) == [job_id]


def test_a_message_runs_its_job_once_and_hands_back_one_it_cannot_start(
        world: World, tmp_path: Path) -> None:
    conn = world.connection(("sample", {"rows": 100}),
                            ("duckdb", {"path": str(tmp_path / "d.duckdb")}))
    job_id = world.sync_job(conn)
    ledger.take_publishable(world.db, 0.0)
    assert run_job(world.settings, world.db, job_id, "w1") == "succeeded"
    assert run_job(world.settings, world.db, job_id, "w2") == "not started"  # a duplicate
    [attempt] = world.attempts(job_id)
    assert (attempt.worker, attempt.host) == ("w1", socket.gethostname())
    assert any("started on " + socket.gethostname() in line
               for _, line in ledger.logs(world.db, attempt.id))

    with world.db.session() as s:
        s.get_one(Workspace, world.workspace_id).workers = 0
    capped = world.sync_job(conn)
    assert _published(world) == []  # at its space's cap: not even published
    assert run_job(world.settings, world.db, capped, "w1") == "not started"
    assert world.job(capped).status == "pending"
    assert world.job(capped).published_at is None  # handed back, not requeued


def _celery(settings: Settings, **overrides: Any) -> Settings:
    return settings.model_copy(update={"broker_url": "redis://127.0.0.1:9/0", **overrides})


def test_local_file_jobs_go_to_the_local_queue_unless_storage_is_shared(
        world: World, tmp_path: Path) -> None:
    files = world.connection(("sample", {"rows": 10}),
                             ("duckdb", {"path": str(tmp_path / "d.duckdb")}))
    remote = world.connection(("sample", {"rows": 10}),
                              ("memory", {"name": "x"}))
    jobs = {"files": world.sync_job(files), "remote": world.sync_job(remote),
            "export": _job(world, kind="export", scope="e")}
    taken = ledger.take_publishable(world.db, 0.0)
    settings = _celery(world.settings)
    local = CeleryExecutor(settings, world.db, make_app(settings)).local_jobs(taken)
    assert local == {jobs["files"], jobs["export"]}
    shared = _celery(world.settings, shared_storage=True)
    assert CeleryExecutor(shared, world.db, make_app(shared)).local_jobs(taken) == set()


@pytest.mark.parametrize(("broker", "priorities"), [
    ("amqp://guest:guest@127.0.0.1:5672//", {-5: 0, 0: 0, 9: 9, 1000: 9}),
    ("redis://127.0.0.1:6379/0", {-5: 9, 0: 9, 9: 0, 1000: 0}),  # Redis: lower first
])
def test_broker_priorities(broker: str, priorities: dict[int, int]) -> None:
    settings = Settings(broker_url=broker)
    assert {p: broker_priority(settings, p) for p in priorities} == priorities


def _worker_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "executor": "celery", "database_url": PG, "data_dir": tmp_path / "data",
        "secret_key": SecretStr(Fernet.generate_key().decode()), "file_roots": [tmp_path / "f"]}
    values.update(overrides)
    return Settings(**values)


@pytest.mark.parametrize(("overrides", "queues", "refusal"), [
    ({"secret_key": None}, ["sluiceway"], "SLUICEWAY_SECRET_KEY: a worker needs it"),
    ({"executor": "local", "database_url": None}, ["sluiceway"], "SLUICEWAY_DATABASE_URL"),
    ({}, ["elsewhere"], "--queues: unknown queue 'elsewhere'"),
    ({}, ["sluiceway", "sluiceway-local"], "SLUICEWAY_SHARED_STORAGE: this worker would run"),
    ({"shared_storage": True}, ["sluiceway"], "is not the server's storage"),
])
def test_a_worker_refuses_to_start_without_what_it_needs(
        tmp_path: Path, overrides: dict[str, Any], queues: list[str], refusal: str) -> None:
    with pytest.raises(InvalidInput, match=refusal):
        check_worker(_worker_settings(tmp_path, **overrides), queues)


def test_shared_storage_is_recognised_by_the_servers_marker(tmp_path: Path) -> None:
    server = _worker_settings(tmp_path)
    write_markers(server)
    check_worker(server.model_copy(update={"shared_storage": True}), ["sluiceway"])
    check_worker(server, ["sluiceway", "sluiceway-local"])  # the server's machine
    other = server.model_copy(update={"shared_storage": True, "secret_key": SecretStr(
        Fernet.generate_key().decode())})  # another installation's key
    with pytest.raises(InvalidInput, match="of another installation"):
        check_worker(other, ["sluiceway"])


def _configuration(world: World, type_: str, identifier: str, prototype: str,
                   parameters: dict[str, Any]) -> str:
    with world.db.session() as s:
        c = Configuration(workspace_id=world.workspace_id, type=type_, identifier=identifier,
                          name=identifier, description="", prototype=prototype,
                          object={"prototype": prototype, "parameters": parameters},
                          labels=[], revision="0" * 26)
        s.add(c)
        s.flush()
        return c.id


def test_route_runs_with_local_files_go_to_the_local_queue(world: World) -> None:
    _configuration(world, "incoming-configuration", "in-file", "sqlite", {"stream": "t"})
    _configuration(world, "incoming-configuration", "in-db", "sample", {"stream": "t"})
    _configuration(world, "outgoing-configuration", "out-db", "postgres", {"stream": "t"})
    files = _configuration(world, "route-configuration", "files", "route",
                           {"incoming": "in-file", "outgoing": "out-db"})
    remote = _configuration(world, "route-configuration", "remote", "route",
                            {"incoming": "in-db", "outgoing": "out-db"})
    jobs = {name: _job(world, kind="route", scope=scope)
            for name, scope in (("files", files), ("remote", remote))}
    taken = ledger.take_publishable(world.db, 0.0)
    settings = _celery(world.settings)
    assert CeleryExecutor(settings, world.db, make_app(settings)).local_jobs(taken) == {
        jobs["files"]}

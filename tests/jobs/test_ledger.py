"""The job ledger on real metadata databases: enqueue, claim, heartbeat, finish, reap."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import update

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.store.db import Database
from sluiceway.store.models import Attempt, Job
from tests.jobs.conftest import World


def _enqueue(world: World, scope: str = "x", **kw: object) -> int:
    values: dict[str, object] = {"workspace_id": world.workspace_id, "config_type": "noop",
                                 "scope": scope, "max_attempts": 3}
    values.update(kw)
    return ledger.enqueue_in(world.db, **values).id


def test_claim_takes_highest_priority_then_oldest(world: World, db: Database) -> None:
    low = _enqueue(world, "a")
    high = _enqueue(world, "b", priority=5)
    low2 = _enqueue(world, "c")
    later = _enqueue(world, "d", priority=9, scheduled_at=time.time() + 60)
    order = []
    start = time.time()
    while (att := ledger.claim(db, "w", 1, 30)) is not None:
        order.append(att.job_id)
        assert att.number == 1
        assert att.status == "running"
        assert att.worker == "w"
        assert att.lease_until is not None
        assert att.lease_until >= start + 30
    assert order == [high, low, low2]  # the future job is not due
    assert world.job(later).status == "pending"
    assert world.job(high).status == "running"


def test_no_job_is_claimed_twice_by_two_threads(world: World, db: Database) -> None:
    ids = {_enqueue(world, f"s{i}") for i in range(30)}
    got: list[list[int]] = [[], [], []]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            while (att := ledger.claim(db, f"w{i}", None, 30)) is not None:
                got[i].append(att.job_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    claimed = [j for g in got for j in g]
    assert sorted(claimed) == sorted(ids)  # each exactly once
    assert len(set(claimed)) == len(claimed)


def test_unicity_returns_the_active_job(world: World, db: Database) -> None:
    first = _enqueue(world, unicity="sync:c1")
    assert _enqueue(world, unicity="sync:c1") == first
    other = _enqueue(world, unicity="sync:c2")
    assert other != first
    att = ledger.claim(db, "w", None, 30)
    assert att is not None
    assert att.job_id == first
    assert _enqueue(world, unicity="sync:c1") == first  # running still holds the key
    ledger.finish(db, att.id, "succeeded", settings=world.settings)
    again = _enqueue(world, unicity="sync:c1")
    assert again not in (first, other)


def test_unicity_under_concurrent_enqueues(world: World, db: Database) -> None:
    got: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        job_id = _enqueue(world, unicity="sync:race")
        with lock:
            got.append(job_id)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1


def test_retry_backoff_then_failed(world: World, db: Database, settings: Settings) -> None:
    # a backoff no busy machine outlasts, so "not due yet" is not a race; the test then
    # makes the retry due itself
    settings = settings.model_copy(update={"retry_backoff_seconds": 60.0})
    job_id = _enqueue(world, max_attempts=3)
    for n in (1, 2):
        att = ledger.claim(db, "w", None, 30)
        assert att is not None
        assert att.number == n
        before = time.time()
        status = ledger.finish(db, att.id, "failed", error="boom", retryable=True,
                               settings=settings)
        after = time.time()
        assert status == "incomplete"
        job = world.job(job_id)
        backoff = settings.retry_backoff_seconds * 2 ** (n - 1)
        assert before + backoff <= job.scheduled_at <= after + backoff
        assert ledger.claim(db, "w", None, 30) is None  # not due yet
        with db.session() as s:  # let the retry come due
            s.execute(update(Job).where(Job.id == job_id).values(scheduled_at=time.time()))
    att = ledger.claim(db, "w", None, 30)
    assert att is not None
    assert att.number == 3
    assert ledger.finish(db, att.id, "failed", error="boom", retryable=True,
                         settings=settings) == "failed"
    job = world.job(job_id)
    assert job.status == "failed"
    assert job.error == "boom"
    # idempotent: the attempt already ended
    assert ledger.finish(db, att.id, "succeeded", settings=settings) is None
    assert world.job(job_id).status == "failed"


def test_not_retryable_fails_at_once(world: World, db: Database, settings: Settings) -> None:
    job_id = _enqueue(world)
    att = ledger.claim(db, "w", None, 30)
    assert att is not None
    assert ledger.finish(db, att.id, "failed", error="bad", settings=settings) == "failed"
    assert world.job(job_id).status == "failed"


def test_heartbeat_pushes_the_lease_and_reports_cancel(world: World, db: Database) -> None:
    job_id = _enqueue(world)
    att = ledger.claim(db, "w", None, 10)
    assert att is not None
    before = time.time()
    assert ledger.heartbeat(db, att.id, 60, records=10, bytes_=100, progress=0.5) is False
    [row] = world.attempts(job_id)
    assert row.lease_until is not None
    assert row.lease_until >= before + 60
    assert (row.records_synced, row.bytes_synced) == (10, 100)
    with db.claim() as s:
        job = s.get(Job, job_id)
        assert job is not None
        ledger.request_cancel(s, job)
        assert job.status == "running"
        assert job.cancel_requested
    assert ledger.heartbeat(db, att.id, 60) is True
    assert ledger.finish(db, att.id, "cancelled", settings=world.settings) == "cancelled"
    assert ledger.heartbeat(db, att.id, 60) is True  # no longer running


def test_cancel_of_a_waiting_job_is_immediate(world: World, db: Database) -> None:
    job_id = _enqueue(world)
    with db.claim() as s:
        job = s.get(Job, job_id)
        assert job is not None
        ledger.request_cancel(s, job)
    assert world.job(job_id).status == "cancelled"
    [row] = world.attempts(job_id)
    assert row.status == "cancelled"  # its queued attempt ends with it
    assert row.ended_at is not None
    assert ledger.claim(db, "w", None, 30) is None


def test_a_job_is_made_with_its_first_attempt_queued_and_the_claim_takes_it(
    world: World, db: Database,
) -> None:
    job_id = _enqueue(world)
    [queued] = world.attempts(job_id)
    assert (queued.number, queued.status) == (1, ledger.QUEUED)
    assert (queued.worker, queued.lease_until, queued.heartbeat_at) == (None, None, None)
    att = ledger.claim(db, "w", 7, 30)
    assert att is not None
    assert att.id == queued.id
    [row] = world.attempts(job_id)  # no second attempt row
    assert (row.id, row.number, row.status, row.worker, row.pid) == (
        queued.id, 1, "running", "w", 7)
    assert row.lease_until is not None


def test_a_second_enqueue_of_the_same_key_makes_no_second_attempt(world: World) -> None:
    first = _enqueue(world, unicity="sync:x")
    assert _enqueue(world, unicity="sync:x") == first
    assert [a.number for a in world.attempts(first)] == [1]


def test_the_reaper_never_takes_a_queued_attempt(world: World, db: Database,
                                                 settings: Settings) -> None:
    dead = _enqueue(world, "dead", priority=1)
    waiting = _enqueue(world, "waiting")
    lost = ledger.claim(db, "w", None, 30)
    assert lost is not None
    assert lost.job_id == dead
    [queued] = world.attempts(waiting)
    # the worker of the claimed job dies, and time passes for everyone
    old = time.time() - 3600
    with db.session() as s:
        s.execute(update(Attempt).where(Attempt.id == lost.id)
                  .values(lease_until=old, heartbeat_at=old))
        s.execute(update(Attempt).where(Attempt.id == queued.id)
                  .values(created_at=old, updated_at=old))
    assert ledger.reap(db, settings) == [lost.id]
    [still] = world.attempts(waiting)
    assert (still.id, still.status, still.ended_at) == (queued.id, ledger.QUEUED, None)
    assert world.job(waiting).status == "pending"
    # the dead job waits out its backoff; the waiting one is claimed with its own attempt
    took = ledger.claim(db, "w2", None, 30)
    assert took is not None
    assert (took.id, took.job_id, took.number) == (queued.id, waiting, 1)


def test_failure_of_a_job_asked_to_cancel_cancels_it(world: World, db: Database) -> None:
    job_id = _enqueue(world)
    att = ledger.claim(db, "w", None, 30)
    assert att is not None
    with db.claim() as s:
        job = s.get(Job, job_id)
        assert job is not None
        ledger.request_cancel(s, job)
    ledger.finish(db, att.id, "failed", error="killed", retryable=True,
                  settings=world.settings)
    assert world.job(job_id).status == "cancelled"


def test_reap_fails_expired_leases_retryably(world: World, db: Database,
                                             settings: Settings) -> None:
    dead = _enqueue(world, "dead")
    alive = _enqueue(world, "alive")
    a1 = ledger.claim(db, "w", None, 30)
    a2 = ledger.claim(db, "w", None, 30)
    assert a1 is not None
    assert a2 is not None
    assert a1.job_id == dead
    with db.session() as s:
        s.execute(update(Attempt).where(Attempt.id == a1.id)
                  .values(lease_until=time.time() - 1, heartbeat_at=time.time() - 10))
    assert ledger.reap(db, settings) == [a1.id]
    [row] = world.attempts(dead)
    assert row.status == "failed"
    assert row.ended_at is not None
    assert row.error is not None
    assert row.error.startswith("worker lost: no heartbeat since ")
    assert world.job(dead).status == "incomplete"
    assert world.job(alive).status == "running"
    assert ledger.reap(db, settings) == []
    # the retry is a new attempt
    with db.session() as s:
        s.execute(update(Job).where(Job.id == dead).values(scheduled_at=time.time()))
    again = ledger.claim(db, "w", None, 30)
    assert again is not None
    assert again.job_id == dead
    assert again.number == 2
    assert [a.number for a in world.attempts(dead)] == [1, 2]


def test_logs_are_kept_in_order(world: World, db: Database) -> None:
    _enqueue(world)
    att = ledger.claim(db, "w", None, 30)
    assert att is not None
    ledger.append_logs(db, att.id, [("INFO", "one"), ("WARN", "two")])
    ledger.append_logs(db, att.id, [("ERROR", "three")])
    assert ledger.logs(db, att.id) == [("INFO", "one"), ("WARN", "two"), ("ERROR", "three")]


@pytest.mark.parametrize("outcome", ["succeeded", "cancelled"])
def test_finish_outcomes(world: World, db: Database, outcome: str) -> None:
    job_id = _enqueue(world)
    att = ledger.claim(db, "w", None, 30)
    assert att is not None
    ledger.finish(db, att.id, outcome, stats={"k": 1}, output={"o": 2},
                  settings=world.settings, records=5, bytes_=6)
    job = world.job(job_id)
    [row] = world.attempts(job_id)
    assert job.status == outcome
    assert row.status == outcome
    assert row.stats == {"k": 1}
    assert (row.records_synced, row.bytes_synced) == (5, 6)
    if outcome == "succeeded":
        assert job.output == {"o": 2}
        assert job.progress == 1.0


def test_cancel_races_with_claims(world: World, db: Database) -> None:
    ids = [_enqueue(world, f"c{i}") for i in range(20)]
    claimed: list[int] = []

    def claimer() -> None:
        while (att := ledger.claim(db, "w", None, 30)) is not None:
            claimed.append(att.job_id)

    thread = threading.Thread(target=claimer)
    thread.start()
    for job_id in ids:
        # db.claim(): on SQLite a plain session that reads the job first cannot upgrade to
        # a writer once a claim committed in between ("database is locked" at once)
        with db.claim() as s:
            job = s.get(Job, job_id)
            assert job is not None
            ledger.request_cancel(s, job)
    thread.join()
    for job_id in ids:
        job = world.job(job_id)
        if job_id in claimed:
            assert job.status == "running"
            assert job.cancel_requested
        else:
            assert job.status == "cancelled"


def test_enqueue_many_keeps_one_active_job_per_key(world: World, db: Database) -> None:
    held = _enqueue(world, "held", unicity="k:held")

    def item(scope: str, key: str | None) -> ledger.NewJob:
        return ledger.NewJob(workspace_id=world.workspace_id, config_type="noop",
                             scope=scope, max_attempts=2, unicity=key, priority=3)

    with db.claim() as s:
        got = ledger.enqueue_many(s, [item("a", "k:a"), item("held", "k:held"),
                                      item("free", None), item("a2", "k:a"),
                                      item("free2", None)])
    (a, made_a), (h, made_h), (f1, made_f1), (a2, made_a2), (f2, made_f2) = got
    assert (h, made_h) == (held, False)  # the active holder answers
    assert (a2, made_a2) == (a, False)  # the batch's own first job of the key answers
    assert [made_a, made_f1, made_f2] == [True, True, True]
    assert len({a, f1, f2, held}) == 4
    for job_id, scope in ((a, "a"), (f1, "free"), (f2, "free2")):
        job = world.job(job_id)
        assert (job.scope, job.status, job.priority, job.max_attempts) == (scope, "pending",
                                                                         3, 2)
        assert [(x.number, x.status) for x in world.attempts(job_id)] == [(1, "queued")]
    with db.claim() as s:
        assert ledger.enqueue_many(s, []) == []

"""A space's worker allocation caps how many of its jobs run at once (claims obey it; a
space without one may use the whole pool)."""

from __future__ import annotations

import threading

from sluiceway.jobs import ledger
from sluiceway.store.db import Database
from sluiceway.store.models import Workspace
from tests.jobs.conftest import World


def _capped_space(db: Database, workers: int | None) -> str:
    with db.session() as s:
        ws = Workspace(name="capped", slug=f"capped-{workers}", workers=workers)
        s.add(ws)
        s.flush()
        return ws.id


def _enqueue(db: Database, workspace_id: str, scope: str) -> int:
    return ledger.enqueue_in(db, workspace_id=workspace_id, config_type="noop", scope=scope,
                             max_attempts=1).id


def test_a_space_with_one_worker_runs_one_job_at_a_time(world: World, db: Database) -> None:
    capped = _capped_space(db, 1)
    first, second = _enqueue(db, capped, "a"), _enqueue(db, capped, "b")
    free = [_enqueue(db, world.workspace_id, f"f{i}") for i in range(2)]
    claimed = []
    while (att := ledger.claim(db, "w", None, 30)) is not None:
        claimed.append(att)
    assert sorted(a.job_id for a in claimed) == sorted([first, *free])
    assert world.job(second).status == "pending"
    [running] = [a for a in claimed if a.job_id == first]
    ledger.finish(db, running.id, "succeeded", settings=world.settings)
    att = ledger.claim(db, "w", None, 30)
    assert att is not None
    assert att.job_id == second


def test_a_space_with_no_workers_runs_nothing_and_without_a_cap_everything(
        world: World, db: Database) -> None:
    paused = _capped_space(db, 0)
    _enqueue(db, paused, "p")
    open_space = _capped_space(db, None)
    ids = {_enqueue(db, open_space, f"o{i}") for i in range(3)}
    got = set()
    while (att := ledger.claim(db, "w", None, 30)) is not None:
        got.add(att.job_id)
    assert got == ids


def test_concurrent_claimers_keep_the_cap(world: World, db: Database) -> None:
    capped = _capped_space(db, 2)
    for i in range(12):
        _enqueue(db, capped, f"c{i}")
    got: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def claimer(i: int) -> None:
        try:
            while (att := ledger.claim(db, f"w{i}", None, 30)) is not None:
                with lock:
                    got.append(att.job_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(got) == 2

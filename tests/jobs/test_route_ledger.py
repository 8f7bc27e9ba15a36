"""Change hashes kept in bulk: a key the storage held nothing for when the chunk was looked
up, but that another run kept meanwhile, is upserted (the hash replaced, one row per key),
never a failed chunk; expired hashes count as absent for the lookup but are replaced. Tasks
copied in keep their text, and nothing is recorded for a space that is gone."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from sluiceway.core.errors import Fatal
from sluiceway.jobs.kinds import route_ledger
from sluiceway.store.db import now
from sluiceway.store.models import StorageEntity, Task
from tests.jobs.conftest import World


def _kept(world: World) -> dict[str, tuple[str, float | None]]:
    with world.db.session() as s:
        return {k: (v, e) for k, v, e in s.execute(select(
            StorageEntity.key, StorageEntity.value, StorageEntity.expires_at).where(
                StorageEntity.storage == "seen"))}


def test_a_hash_kept_meanwhile_by_another_run_is_replaced_not_doubled(world: World) -> None:
    changes = route_ledger.Changes(world.workspace_id, "seen", None, None)
    t = now()
    with world.db.session() as s:
        changes.store(s, {"1": "a" * 32, "2": "b" * 32}, t - 100)
    with world.db.session() as s:  # "2" expired
        s.execute(StorageEntity.__table__.update().where(StorageEntity.key == "2")
                  .values(expires_at=t - 10))
    absent: set[str] = set()
    with world.db.session() as s:
        known = changes.known(s, ["1", "2", "3", "4"], t, absent)
    assert known == {"1": "a" * 32}
    if world.db.engine.dialect.name == "postgresql":
        assert absent == {"3", "4"}
    with world.db.session() as s:  # another run keeps "3" before this one stores
        changes.store(s, {"3": "c" * 32}, t)
    with world.db.session() as s:
        changes.store(s, {"1": "d" * 32, "2": "e" * 32, "3": "f" * 32, "4": "0" * 32}, t,
                      absent)
    assert _kept(world) == {"1": ("d" * 32, None), "2": ("e" * 32, None),
                            "3": ("f" * 32, None), "4": ("0" * 32, None)}


def test_tasks_copied_in_keep_text_with_tabs_newlines_and_backslashes(world: World) -> None:
    odd = 'a\tb\nc\\d\re "q" \u00e9\u2028'
    entity = {"id": odd, "path": "C:\\temp\\x", "n": 1.5, "none": None, "list": [odd]}
    t = now()
    rows = [{"workspace_id": world.workspace_id, "route": "r\\1", "entity_type": "s\tt",
             "entity_identifier": ident, "status": "failed", "entity": entity,
             "error": err, "log": [{"level": "error", "message": odd, "at": t}],
             "attempts": 2, "job_id": None, "created_at": t, "updated_at": t}
            for ident, err in ((odd, odd), (None, None))]
    with world.db.session() as s:
        assert route_ledger.open_tasks(s, rows, ids=False) == []
    with world.db.session() as s:
        got = s.scalars(select(Task).order_by(Task.id)).all()
        assert [(x.route, x.entity_type, x.entity_identifier, x.error, x.entity, x.log,
                 x.attempts, x.job_id, x.created_at) for x in got] == [
            (r["route"], r["entity_type"], r["entity_identifier"], r["error"], entity,
             r["log"], 2, None, t) for r in rows]


def test_a_chunk_recorded_with_shared_columns_reads_back_as_given(world: World) -> None:
    t = now()
    shared = {"workspace_id": world.workspace_id, "route": "r\\1", "entity_type": "s\tt",
              "attempts": 1, "job_id": 7, "created_at": t, "updated_at": t}
    odd = 'x\ty\\z "q" \u00e9'
    varying = [("1", "finished", {"id": 1, "name": odd}, None, []),
               (odd, "skipped", {"id": 2}, odd, [{"level": "info", "message": odd, "at": t}]),
               (None, "failed", None, "no key", [])]
    with world.db.session() as s:
        route_ledger.record_tasks(s, shared, varying)
    with world.db.session() as s:
        got = [(x.workspace_id, x.route, x.entity_type, x.entity_identifier, x.status,
                x.entity, x.error, x.log, x.attempts, x.job_id, x.created_at, x.updated_at)
               for x in s.scalars(select(Task).order_by(Task.id))]
    assert got == [(world.workspace_id, "r\\1", "s\tt", ident, status, entity, error, log,
                    1, 7, t, t) for ident, status, entity, error, log in varying]


def test_nothing_is_recorded_for_a_space_that_is_gone(world: World) -> None:
    """Tasks and change hashes have no foreign key to their space: the ledger checks (and
    on PostgreSQL holds) the space's row itself."""
    gone = "00000000-0000-0000-0000-000000000000"
    t = now()
    shared = {"workspace_id": gone, "route": "r", "entity_type": "s", "attempts": 1,
              "job_id": None, "created_at": t, "updated_at": t}
    with pytest.raises(Fatal, match="no longer exists"), world.db.session() as s:
        route_ledger.record_tasks(s, shared, [("1", "finished", {"id": 1}, None, [])])
    with pytest.raises(Fatal, match="no longer exists"), world.db.session() as s:
        route_ledger.open_tasks(s, [{**shared, "entity_identifier": "1", "status": "processing",
                                     "entity": {"id": 1}, "error": None, "log": []}])
    with pytest.raises(Fatal, match="no longer exists"), world.db.session() as s:
        route_ledger.Changes(gone, "seen", None, None).store(s, {"1": "a" * 32}, t, {"1"})
    with world.db.session() as s:
        assert s.scalars(select(Task)).all() == []
        assert s.scalars(select(StorageEntity)).all() == []


def test_hashes_of_keys_with_quotes_backslashes_and_commas_are_kept_and_found(
        world: World) -> None:
    keys = ['a"b', "c\\d", "e,f", "{g}", "NULL", " h ", "i\tj\nk", "\u00e9"]
    changes = route_ledger.Changes(world.workspace_id, "seen", None, None)
    t = now()
    absent: set[str] = set()
    with world.db.session() as s:
        assert changes.known(s, keys, t, absent) == {}
    with world.db.session() as s:  # copied in as they are (all absent)
        changes.store(s, {k: f"{i:032x}" for i, k in enumerate(keys)}, t, absent)
    with world.db.session() as s:  # upserted
        changes.store(s, {k: f"{i + 1:032x}" for i, k in enumerate(keys[:3])}, t)
    with world.db.session() as s:
        assert changes.known(s, [*keys, "other"], t) == {
            k: f"{i + (1 if i < 3 else 0):032x}" for i, k in enumerate(keys)}


def test_a_chunk_being_recorded_holds_its_space_against_deletion(world: World) -> None:
    """PostgreSQL: until the chunk's transaction ends, the space's row cannot be locked
    for deletion (as a foreign key's check would hold it)."""
    if world.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write at a time")
    t = now()
    shared = {"workspace_id": world.workspace_id, "route": "r", "entity_type": "s",
              "attempts": 1, "job_id": None, "created_at": t, "updated_at": t}
    lock = (text("SELECT id FROM workspaces WHERE id = :id FOR UPDATE NOWAIT")
            .bindparams(id=world.workspace_id))
    with world.db.session() as s:
        route_ledger.record_tasks(s, shared, [("1", "finished", {"id": 1}, None, [])])
        with world.db.engine.connect() as other:
            with pytest.raises(OperationalError, match="could not obtain lock"):
                other.execute(lock)
            other.rollback()
    with world.db.engine.connect() as other:  # committed: free again
        assert other.execute(lock).scalar() == world.workspace_id
        other.rollback()

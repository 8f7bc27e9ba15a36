"""Changes from many threads at once on one metadata DB: every service change takes the
write lock before it reads (``Database.claim``), so none fails with "database is locked"
and none is lost; authenticating with a token stays a read."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sluiceway.services import auth, criteria, tokens, variables
from sluiceway.services.platform import Platform

THREADS, EACH = 6, 12


def test_concurrent_changes_all_land(platform: Platform, admin: auth.Caller) -> None:
    (space,) = admin.workspace_ids
    token, _ = tokens.create(platform, admin, "load")

    def work(n: int) -> int:
        done = 0
        for i in range(EACH):
            name = f"V_{n}_{i}"
            variables.create(platform, admin, space, variables.VariableInput(name, "one"))
            variables.update(platform, admin, space, name,
                             variables.VariableInput(name, f"two-{i}"))
            assert tokens.authenticate(platform, token) is not None
            done += 1
        return done

    with ThreadPoolExecutor(THREADS) as pool:
        counts = list(pool.map(work, range(THREADS)))
    assert counts == [EACH] * THREADS
    made, total = variables.list_variables(platform, admin, space,
                                           criteria.Criteria(limit=THREADS * EACH))
    assert total == THREADS * EACH
    assert {v.value for v in made} == {f"two-{i}" for i in range(EACH)}

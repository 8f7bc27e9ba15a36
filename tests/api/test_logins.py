"""Failed logins are throttled per user name and per client address (429 with Retry-After);
a verified password is remembered so that HTTP Basic does not hash on every request.

Each test drives a real app through httpx's ASGITransport, which lets it choose the client
address, and gives the platform a Logins whose clock the test moves (no sleeping).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sluiceway.bootstrap import create_app
from sluiceway.services import auth
from sluiceway.services.logins import Logins
from sluiceway.services.platform import Platform, open_platform
from tests.api.conftest import ADMIN, make_settings

LISTED = "/api/v1/source_definitions/list"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def platform(tmp_path: Path, metadata_url: str, clock: Clock) -> Iterator[Platform]:
    p = open_platform(make_settings(tmp_path, metadata_url))
    p.logins.close()
    p.logins = Logins(clock=clock)
    auth.create_user(p, "bob", "bob-password", "bobs-team")
    yield p
    p.close()


Call = Callable[..., Awaitable[httpx.Response]]


def run(platform: Platform, body: Callable[[Call], Awaitable[Any]]) -> Any:
    """Run ``body(call)`` on one event loop; ``call(user, password, address=...)`` lists
    source definitions with HTTP Basic from ``address``."""
    app = create_app(platform=platform, run_jobs=False)

    async def main() -> Any:
        clients: dict[str, httpx.AsyncClient] = {}

        async def call(user: str, password: str, address: str = "10.0.0.1") -> httpx.Response:
            if address not in clients:
                clients[address] = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                    base_url="http://sluiceway")
            return await clients[address].post(LISTED, auth=(user, password))

        try:
            return await body(call)
        finally:
            for c in clients.values():
                await c.aclose()

    return asyncio.run(main())


@pytest.mark.parametrize("user", ["admin", "nobody"], ids=["known-user", "unknown-user"])
def test_the_sixth_wrong_password_answers_429_with_retry_after(platform: Platform,
                                                               user: str) -> None:
    async def body(call: Call) -> list[httpx.Response]:
        return [await call(user, f"wrong-{i}") for i in range(6)]

    answers = run(platform, body)
    # an unknown name gets exactly the answers a known one gets: names cannot be probed
    assert [r.status_code for r in answers] == [401] * 5 + [429]
    assert answers[5].headers["retry-after"] == "30"
    assert "too many failed logins" in answers[5].json()["message"]


def test_the_right_password_works_after_the_lockout_and_resets_the_count(
    platform: Platform, clock: Clock,
) -> None:
    async def body(call: Call) -> list[int]:
        codes = [(await call(*ADMIN[:1], f"wrong-{i}")).status_code for i in range(5)]
        codes.append((await call(*ADMIN)).status_code)  # locked: not even the right one
        clock.now += 29
        codes.append((await call(*ADMIN)).status_code)
        clock.now += 2
        codes.append((await call(*ADMIN)).status_code)
        # the success forgot the failures: five more wrong ones before the next lockout
        codes += [(await call(*ADMIN[:1], f"again-{i}")).status_code for i in range(6)]
        return codes

    assert run(platform, body) == [401] * 5 + [429, 429, 200] + [401] * 5 + [429]


def test_each_further_failure_doubles_the_lockout_up_to_the_cap(platform: Platform,
                                                                clock: Clock) -> None:
    async def body(call: Call) -> list[str]:
        for i in range(5):
            await call("bob", f"wrong-{i}")
        waits = []
        for i in range(8):
            r = await call("bob", "still-wrong")
            assert r.status_code == 429
            waits.append(r.headers["retry-after"])
            clock.now += int(r.headers["retry-after"])
            assert (await call("bob", f"wrong-after-{i}")).status_code == 401
        return waits

    assert run(platform, body) == ["30", "60", "120", "240", "480", "900", "900", "900"]


def test_one_users_failures_block_neither_another_user_nor_that_user_elsewhere_by_address(
    platform: Platform,
) -> None:
    async def body(call: Call) -> dict[str, int]:
        for i in range(5):
            assert (await call("admin", f"wrong-{i}", "10.0.0.1")).status_code == 401
        return {
            "admin again, same address": (await call(*ADMIN, "10.0.0.1")).status_code,
            "admin, another address": (await call(*ADMIN, "10.0.0.2")).status_code,
            "bob, same address": (await call("bob", "bob-password", "10.0.0.1")).status_code,
            "bob, another address": (await call("bob", "bob-password", "10.0.0.2")
                                     ).status_code,
        }

    assert run(platform, body) == {
        "admin again, same address": 429,  # the name is locked wherever it comes from
        "admin, another address": 429,
        "bob, same address": 200,  # five failures are far below the address's twenty
        "bob, another address": 200,
    }


def test_an_address_guessing_many_names_is_locked_and_others_are_not(platform: Platform,
                                                                     clock: Clock) -> None:
    async def body(call: Call) -> dict[str, int]:
        for i in range(20):  # four guesses at each of five names: no name reaches its limit
            r = await call(f"user-{i % 5}", f"guess-{i}", "10.0.0.9")
            assert r.status_code == 401, i
        return {
            "bob from the guessing address": (await call("bob", "bob-password", "10.0.0.9")
                                              ).status_code,
            "bob from elsewhere": (await call("bob", "bob-password", "10.0.0.1")).status_code,
        }

    assert run(platform, body) == {"bob from the guessing address": 429,
                                   "bob from elsewhere": 200}


def test_a_burst_of_concurrent_guesses_is_checked_no_more_than_the_limit(
    platform: Platform,
) -> None:
    async def body(call: Call) -> list[int]:
        answers = await asyncio.gather(*(call("bob", f"guess-{i}") for i in range(30)))
        return sorted(r.status_code for r in answers)

    assert run(platform, body) == [401] * 5 + [429] * 25
    assert platform.logins.hashed == 5


def test_a_verified_password_is_remembered_until_it_changes(platform: Platform,
                                                            tmp_path: Path) -> None:
    async def many(call: Call) -> list[int]:
        return [(await call("bob", "bob-password")).status_code for _ in range(10)]

    assert run(platform, many) == [200] * 10
    assert platform.logins.hashed == 1
    # changed by another process (the CLI): this one's memory no longer matches the store
    other = open_platform(platform.settings)
    try:
        auth.set_password(other, "bob", "bobs-new-password")
    finally:
        other.close()

    async def after(call: Call) -> list[int]:
        return [(await call("bob", "bob-password")).status_code,
                (await call("bob", "bobs-new-password")).status_code]

    assert run(platform, after) == [401, 200]


"""Password checks for logins: throttled per user name and per client address, and hashed off
the event loop.

What enters: a user name, the password sent, the client's address and the user's stored hash
(``None`` when no such user exists). What leaves: ``True`` or ``False``, or
:class:`~sluiceway.core.errors.TooManyAttempts` with the seconds to wait.

Rules (one :class:`Logins` per server process; its state is in memory):

- Failures are counted per user name (whether the user exists or not, so a name's existence
  cannot be learnt from the answers) and per client address. A count is forgotten
  ``window`` seconds after its last failure.
- From ``user_limit`` failures for a name, or ``address_limit`` for an address, attempts are
  refused without looking at the password for ``lockout`` seconds, doubling with each further
  failure up to ``lockout_cap``.
- An attempt in progress counts as a failure until it ends: a burst of concurrent guesses
  cannot run past the limit before the first one is answered.
- A success resets the name's count (not the address's: one good account must not reset
  an address that guesses at others).
- The throttle is consulted before the database or any hashing (:meth:`Logins.admit`), so
  refusing costs next to nothing. The scrypt check runs in a pool of ``workers`` threads
  (half the cores); at most ``max_waiting`` checks wait for it and more are refused, so a
  flood neither blocks the event loop nor piles up.
- Concurrent attempts with the same credentials share one check, and a success is remembered
  for ``cache_seconds`` under an HMAC (with a key made per process) of the name, the
  password and the stored hash: a request with HTTP Basic does not pay a scrypt each time,
  and a changed password (a new stored hash) is never served from the remembered ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import os
import secrets as pysecrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sluiceway.artifacts import hash_password, verify_password
from sluiceway.core.errors import TooManyAttempts

Clock = Callable[[], float]


@dataclass
class _Count:
    failures: int = 0
    in_flight: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0


class Throttle:
    """Failure counts per key with an exponential lockout; thread-safe, clock injectable."""

    def __init__(self, limit: int, *, window: float, lockout: float, lockout_cap: float,
                 clock: Clock = time.monotonic, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.lockout = lockout
        self.lockout_cap = lockout_cap
        self.clock = clock
        self.max_keys = max_keys
        self._counts: dict[str, _Count] = {}
        self._lock = threading.Lock()

    def _fresh(self, key: str, now: float) -> _Count:
        c = self._counts.get(key)
        if c is None:
            if len(self._counts) >= self.max_keys:
                self._prune(now)
            c = self._counts[key] = _Count()
        elif c.failures and c.in_flight == 0 and now - c.last_failure > self.window \
                and now >= c.locked_until:
            c.failures = 0
        return c

    def _prune(self, now: float) -> None:
        stale = [k for k, c in self._counts.items() if c.in_flight == 0
                 and now >= c.locked_until and now - c.last_failure > self.window]
        for k in stale:
            del self._counts[k]
        if len(self._counts) >= self.max_keys:  # all recent: forget the oldest half
            idle = sorted((c.last_failure, k) for k, c in self._counts.items()
                          if c.in_flight == 0)
            for _, k in idle[: len(idle) // 2]:
                del self._counts[k]

    def wait(self, key: str) -> float:
        """Seconds before ``key`` may try again; 0 when it may try now."""
        with self._lock:
            now = self.clock()
            c = self._fresh(key, now)
            if now < c.locked_until:
                return c.locked_until - now
            if c.failures >= self.limit:  # a lockout ended: one attempt at a time
                return 1.0 if c.in_flight else 0.0
            if c.failures + c.in_flight >= self.limit:
                return 1.0  # earlier attempts are still being checked
            return 0.0

    def begin(self, key: str) -> None:
        with self._lock:
            self._fresh(key, self.clock()).in_flight += 1

    def end(self, key: str, *, ok: bool, reset: bool) -> None:
        with self._lock:
            now = self.clock()
            c = self._fresh(key, now)
            c.in_flight = max(0, c.in_flight - 1)
            if ok:
                if reset:
                    c.failures, c.locked_until = 0, 0.0
                return
            c.failures += 1
            c.last_failure = now
            if c.failures >= self.limit:
                seconds = self.lockout * 2.0 ** min(c.failures - self.limit, 32)
                c.locked_until = now + min(seconds, self.lockout_cap)

    def failures(self, key: str) -> int:
        with self._lock:
            return self._fresh(key, self.clock()).failures


class Logins:
    """The password checks of one server process (see the module's rules)."""

    def __init__(self, *, user_limit: int = 5, address_limit: int = 20,
                 window: float = 900.0, lockout: float = 30.0, lockout_cap: float = 900.0,
                 workers: int | None = None, max_waiting: int = 32, cache_seconds: float = 60.0,
                 clock: Clock = time.monotonic) -> None:
        kw = {"window": window, "lockout": lockout, "lockout_cap": lockout_cap, "clock": clock}
        self.users = Throttle(user_limit, **kw)  # type: ignore[arg-type]
        self.addresses = Throttle(address_limit, **kw)  # type: ignore[arg-type]
        self.clock = clock
        self.cache_seconds = cache_seconds
        self.max_waiting = max_waiting
        # half the cores (at least one): the event loop keeps a core while a flood is hashed
        workers = workers or max(1, (os.cpu_count() or 2) // 2)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password")
        self._key = pysecrets.token_bytes(32)
        self._verified: dict[bytes, float] = {}
        self._pending: dict[bytes, asyncio.Future[bool]] = {}
        self._waiting = 0
        self._dummy: str | None = None
        #: how many scrypt checks ran (a remembered or shared success runs none)
        self.hashed = 0

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def forget(self) -> None:
        """Drop every remembered success (after a password change in this process)."""
        self._verified.clear()

    def admit(self, username: str, address: str) -> None:
        """Raise TooManyAttempts when ``username`` or ``address`` may not try now. Costs no
        database work and no hashing: call it first, so a refused flood costs next to
        nothing (a locked name is refused even with the right password)."""
        wait = max(self.users.wait("user:" + username),
                   self.addresses.wait("address:" + address))
        if wait > 0:
            raise TooManyAttempts("too many failed logins: try again later", math.ceil(wait))

    async def check(self, username: str, password: str, address: str,
                    stored_hash: str | None) -> bool:
        """Whether ``password`` is ``username``'s (``stored_hash`` is ``None`` for a name
        no user has); raises TooManyAttempts when throttled."""
        key = hmac.digest(self._key, b"\0".join(
            s.encode() for s in (username, password, stored_hash or "")), hashlib.sha256)
        if stored_hash is not None and self._verified.get(key, 0.0) > self.clock():
            return True
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        self.admit(username, address)
        if self._waiting >= self.max_waiting:
            raise TooManyAttempts("too many logins are being checked: try again shortly", 1)
        user_key, address_key = "user:" + username, "address:" + address
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending[key] = future
        self.users.begin(user_key)
        self.addresses.begin(address_key)
        self._waiting += 1
        ok = False
        try:
            ok = await loop.run_in_executor(self._pool, self._verify, password, stored_hash)
        finally:
            self._waiting -= 1
            self.users.end(user_key, ok=ok, reset=True)
            self.addresses.end(address_key, ok=ok, reset=False)
            del self._pending[key]
            if not future.done():
                future.set_result(ok)
        if ok:
            if len(self._verified) >= 10_000:
                self._verified.clear()
            self._verified[key] = self.clock() + self.cache_seconds
        return ok

    def _verify(self, password: str, stored_hash: str | None) -> bool:
        self.hashed += 1
        if stored_hash is None:  # the same work as for a user who exists, then no
            if self._dummy is None:
                self._dummy = hash_password(pysecrets.token_urlsafe(16))
            verify_password(password, self._dummy)
            return False
        return verify_password(password, stored_hash)

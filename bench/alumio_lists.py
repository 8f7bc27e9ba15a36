"""Time the platform API's lists over a large installation's metadata in PostgreSQL.

    python -m bench.alumio_lists [--spaces 1000] [--users 10000] [--audit 1000000]
                                 [--repeat 200] [--explain]

It makes a fresh PostgreSQL database (127.0.0.1:5432, user ``postgres``; dropped afterwards),
migrates it, bulk-loads it with ``COPY``: ``--spaces`` spaces, ``--users`` users who are each
members of two spaces (so each space has about ``2 * users / spaces`` members, with every
role), two API tokens per user, twenty environment variables per space and ``--audit``
audit entries spread over every space, user, action and the last 90 days; then ``VACUUM
ANALYZE``. Then, in process through the HTTP app (ASGI, no socket), as a space's
administrator (a JWT) and as the system administrator, it times ``--repeat`` calls of the
first page of each list and prints p50 and p99 wall times and the median CPU time of the
process (app and client):

- within one space: its users (both paths), the caller's tokens, its variables, its audit
  trail (newest first, and with an indexed filter on ``category``);
- the installation-wide audit trail (newest first, and filtered on ``action``);
- the audit writer: a change committed with its audit entry against the same change
  without one (the difference is what the entry adds to a call).

``--explain`` prints PostgreSQL's plan of each audit query. A benchmark, not a test; on a
shared machine the p99 follows the machine's load (printed at the start).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from sluiceway.bootstrap import create_app  # noqa: E402
from sluiceway.core.settings import Settings  # noqa: E402
from sluiceway.services import audit, auth, tokens  # noqa: E402
from sluiceway.services.platform import Platform  # noqa: E402
from sluiceway.store.models import ApiToken, Workspace  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = os.environ.get("SLUICEWAY_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway database's admin
ROLES = ("ROLE_USER", "ROLE_EDITOR", "ROLE_ADMINISTRATOR")
ACTIONS = (("space_user.create", "user"), ("space_user.update", "user"),
           ("token.create", "token"), ("token.revoke", "token"),
           ("variable.create", "variable"), ("variable.update", "variable"),
           ("source.create", "source"), ("source.update", "source"),
           ("connection.create", "connection"), ("connection.sync", "connection"),
           ("space.update", "space"), ("workspace.update", "space"))
DAY = 86400.0


@contextmanager
def _database() -> Iterator[tuple[str, str]]:
    """A fresh database: (SQLAlchemy URL, libpq connection string)."""
    name = f"sw_bench_lists_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_URL}/{name}", f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...],
          rows: Iterator[tuple[Any, ...]]) -> int:
    n = 0
    with conn.cursor() as cur, cur.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def populate(dsn: str, spaces: int, users: int, entries: int) -> None:
    """Bulk-load the installation (deterministic: one seed)."""
    rnd = random.Random(7)
    t = time.time()
    space_ids = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(spaces)]
    user_ids = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(users)]
    emails = [f"user-{i:05d}@bench.example" for i in range(users)]
    slugs = [f"space-{i:04d}" for i in range(spaces)]
    with psycopg.connect(dsn) as conn:
        _copy(conn, "workspaces", (
            "id", "customer_id", "name", "slug", "initial_setup_complete",
            "onboarding_complete", "anonymous_data_collection", "news", "security_updates",
            "created_at", "description", "purpose", "terms_agreed"),
            ((sid, sid, f"Space {i}", slugs[i], True, True, False, False, False,
              t - 100 * DAY + i, "", "prod", True) for i, sid in enumerate(space_ids)))
        _copy(conn, "users", ("id", "username", "password_hash", "created_at",
                              "system_admin"),
              ((uid, emails[i], "", t - 99 * DAY + i, False)
               for i, uid in enumerate(user_ids)))

        def memberships() -> Iterator[tuple[Any, ...]]:
            for i, uid in enumerate(user_ids):
                first, second = i % spaces, (i * 7 + 3) % spaces
                yield uid, space_ids[first], ROLES[i % 3]
                if second != first:
                    yield uid, space_ids[second], ROLES[(i + 1) % 3]

        _copy(conn, "memberships", ("user_id", "workspace_id", "role"), memberships())
        _copy(conn, "api_tokens", ("id", "user_id", "name", "token_hash", "created_at",
                                   "description"),
              ((str(uuid.uuid4()), uid, f"token {k}", uuid.uuid4().hex + uuid.uuid4().hex,
                t - 50 * DAY + k, "") for uid in user_ids for k in range(2)))
        _copy(conn, "environment_variables", (
            "id", "workspace_id", "name", "description", "value", "encrypted", "created_at",
            "updated_at"),
            ((str(uuid.uuid4()), sid, f"VAR_{k:02d}", "", f"value {k}", False, t, t)
             for sid in space_ids for k in range(20)))

        def trail() -> Iterator[tuple[Any, ...]]:
            for n in range(entries):
                u = rnd.randrange(users)
                sp = rnd.randrange(spaces)
                action, category = ACTIONS[rnd.randrange(len(ACTIONS))]
                yield (str(uuid.UUID(int=rnd.getrandbits(128))), t - rnd.random() * 90 * DAY,
                       user_ids[u], emails[u], space_ids[sp], slugs[sp], action, category,
                       f"10.0.{u % 250}.{sp % 250}", f"{action} number {n}",
                       json.dumps({"identifier": f"obj-{n}", "name": f"thing {n % 997}"}))

        _copy(conn, "audit_entries", ("id", "created_at", "user_id", "user_name",
                                      "workspace_id", "space", "action", "category",
                                      "address", "message", "request"), trail())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _percentiles(runs: list[float]) -> tuple[float, float]:
    runs = sorted(runs)
    return runs[len(runs) // 2], runs[min(len(runs) - 1, int(len(runs) * 0.99))]


def _time(call: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """p50 and p99 wall time, and the median CPU time of this process (the app and the
    client; PostgreSQL's work is not in it), steadier than wall time on a shared machine."""
    for _ in range(3):  # warm the caches and the connection pool
        call()
    runs, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        call()
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    p50, p99 = _percentiles(runs)
    return p50, p99, sorted(cpu)[len(cpu) // 2]


def _getter(client: TestClient, path: str, headers: dict[str, str],
            params: dict[str, str]) -> Callable[[], Any]:
    def call() -> Any:
        r = client.get(f"/api/v1{path}", params=params, headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"{path} answered {r.status_code}: {r.text[:300]}")
        body = r.json()
        if not body["results"]:
            raise SystemExit(f"{path} {params} listed nothing: the data are not as planned")
        return body
    return call


def _bearer(p: Platform, username: str) -> dict[str, str]:
    token, _ = tokens.create(p, auth.caller_for(p, username, "bench"), "bench")
    return {"Authorization": f"Bearer {token}"}


def _audit_write(p: Platform, repeat: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """A small change (a token's ``last_used_at``, in a session that has loaded its space, as
    a service's has) committed alone, then with its audit entry: the p50/p99 of each."""
    caller = auth.caller_for(p, "admin", "bench")
    with p.db.session() as s:
        token_id = s.scalars(select(ApiToken.id).where(
            ApiToken.user_id == caller.user_id)).first()
        ws_id = s.scalars(select(Workspace.id).where(Workspace.slug == "space-0042")).one()

    def change(with_entry: bool) -> None:
        with p.db.session() as s:
            s.get_one(Workspace, ws_id)  # a service has loaded the space it acts in
            s.get_one(ApiToken, token_id).last_used_at = time.time()
            if with_entry:
                audit.record(s, caller, "token.update", "token", "bench",
                             request={"identifier": token_id}, workspace_id=ws_id)

    alone, with_entry = [], []
    for _ in range(3):
        change(False)
        change(True)
    for _ in range(repeat):  # interleaved, so both see the same load
        t0 = time.perf_counter()
        change(False)
        t1 = time.perf_counter()
        change(True)
        t2 = time.perf_counter()
        alone.append(t1 - t0)
        with_entry.append(t2 - t1)
    return _percentiles(alone), _percentiles(with_entry)


def _explain(p: Platform, ws_id: str) -> None:
    queries = {
        "space trail, newest first":
            "SELECT id FROM audit_entries WHERE workspace_id = :ws "
            "ORDER BY created_at DESC, id DESC LIMIT 50",
        "space trail, category": "SELECT id FROM audit_entries WHERE workspace_id = :ws "
            "AND category = 'token' ORDER BY created_at DESC, id DESC LIMIT 50",
        "space trail count, category": "SELECT count(*) FROM audit_entries WHERE "
            "workspace_id = :ws AND category = 'token'",
        "trail, newest first": "SELECT id FROM audit_entries "
            "ORDER BY created_at DESC, id DESC LIMIT 50",
        "trail count": "SELECT count(*) FROM audit_entries",
        "trail, action": "SELECT id FROM audit_entries WHERE action = 'space.update' "
            "ORDER BY created_at DESC, id DESC LIMIT 50",
        "trail count, action": "SELECT count(*) FROM audit_entries "
            "WHERE action = 'space.update'",
    }
    with p.db.session() as s:
        for title, sql in queries.items():
            plan = s.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"), {"ws": ws_id})
            print(f"--- {title}")
            for (line,) in plan:
                print(f"    {line}")


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="sw-bench-") as tmp, _database() as (url, dsn):
        settings = Settings(data_dir=Path(tmp) / "data", database_url=url,
                            admin_password=ADMIN_PASSWORD)
        app = create_app(settings, run_jobs=False)
        with TestClient(app) as client:
            t0 = time.perf_counter()
            populate(dsn, args.spaces, args.users, args.audit)
            print(f"{args.spaces} spaces, {args.users} users, {args.audit} audit entries "
                  f"loaded in {time.perf_counter() - t0:.1f} s")
            p: Platform = app.state.platform
            space = "space-0042"
            with p.db.session() as s:
                ws_id = s.scalars(select(Workspace.id).where(Workspace.slug == space)).one()
                admin_email = s.execute(text(
                    "SELECT u.username FROM users u JOIN memberships m ON m.user_id = u.id "
                    "WHERE m.workspace_id = :ws AND m.role = 'ROLE_ADMINISTRATOR' "
                    "ORDER BY u.username LIMIT 1"), {"ws": ws_id}).scalar_one()
            member = _bearer(p, admin_email)
            system = _bearer(p, "admin")
            q = {"space": space}
            category = json.dumps({"where": {"category": "token"}})
            action = json.dumps({"where": {"action": "space.update"}})
            cases = [
                ("space users (/spaces/{space}/users)", f"/spaces/{space}/users", member, {}),
                ("space users (/current_space/users)", "/current_space/users", member, q),
                ("tokens (the caller's)", "/tokens", member, {}),
                ("environment variables", "/environment/variables", member, q),
                ("space audit trail", "/audit_trail/current_space", member, q),
                ("space audit trail, category filter", "/audit_trail/current_space", member,
                 {**q, "filter": category}),
                ("installation audit trail", "/audit_trail", system, {}),
                ("installation audit trail, action filter", "/audit_trail", system,
                 {"filter": action}),
            ]
            print(f"first page of each list, {args.repeat} calls (ms):")
            for title, path, headers, params in cases:
                p50, p99, cpu = _time(_getter(client, path, headers, params), args.repeat)
                print(f"  {title:42s} p50 {p50 * 1000:7.2f}  p99 {p99 * 1000:7.2f}  "
                      f"cpu {cpu * 1000:6.2f}")
            (a50, a99), (w50, w99) = _audit_write(p, args.repeat * 2)
            print(f"  {'a change alone':42s} p50 {a50 * 1000:7.2f}  p99 {a99 * 1000:7.2f}")
            print(f"  {'the same change with its audit entry':42s} p50 {w50 * 1000:7.2f}  "
                  f"p99 {w99 * 1000:7.2f}")
            print(f"  {'the audit entry adds (p50 difference)':42s} "
                  f"{(w50 - a50) * 1000:7.2f}")
            if args.explain:
                _explain(p, ws_id)
        app.state.platform.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spaces", type=int, default=1000)
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--audit", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--explain", action="store_true", help="print the audit queries' plans")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    run(args)


if __name__ == "__main__":
    main()

"""The celery executor with the real brokers: the server's job system in this process (it
publishes and reaps) and ``sluiceway worker`` processes, each with its own data directory as
if on its own machine, on a PostgreSQL metadata database.

Redis runs privately (a ``redis-server`` on a free port, started and restarted by the test).
RabbitMQ is mostly the machine's, shared with other tests, so each test uses queues of its
own and deletes them after and never restarts it (its message loss is played by purging this
test's queue); the broker restart test starts a RabbitMQ node of its own (its own node name,
ports and folders) and restarts that one (``rabbitmqctl stop_app`` / ``start_app``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.jobs.executors.celery import CeleryExecutor, make_app
from sluiceway.jobs.runtime import JobRuntime
from sluiceway.store.models import Attempt, Job, StreamState, Workspace
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _unavailable
from tests.helpers import wait_until
from tests.jobs.conftest import World, make_settings

pytestmark = [pytest.mark.postgres,
              pytest.mark.parametrize("metadata_url", ["postgresql"], indirect=True)]

SRC = Path(__file__).resolve().parents[2] / "src"
RABBIT = os.environ.get("SLUICEWAY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
#: the lease of these tests: a killed worker's job is taken over after it
LEASE = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test only, on a free port, that keeps nothing on disk."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, 20, "redis-server to answer")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


#: RabbitMQ's own scripts (the ones in /usr/sbin switch to the rabbitmq user first)
RABBIT_BIN = Path(os.environ.get("SLUICEWAY_TEST_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))


class PrivateRabbit:
    """A RabbitMQ node of this test only: its own node name, ports, Erlang cookie and
    folders, so restarting it touches no other test's broker."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.node = f"sw{uuid.uuid4().hex[:10]}@localhost"
        self.env = {**os.environ, "HOME": str(folder), "RABBITMQ_NODENAME": self.node,
                    "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(_free_port()),
                    "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(folder / "log"),
                    "RABBITMQ_PID_FILE": str(folder / "pid"),
                    "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
                    "RABBITMQ_ENABLED_PLUGINS": ""}

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def ctl(self, *args: str, timeout: float = 120) -> None:
        subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args],
                       env=self.env, check=True, capture_output=True, timeout=timeout)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(RABBIT_BIN / "rabbitmq-server"), "-detached"], env=self.env,
                       check=True, capture_output=True, timeout=60)
        self.await_startup()

    def await_startup(self) -> None:
        """Wait until the node runs (rabbitmqctl fails at once while the node's Erlang VM
        is not yet registered, then waits for the boot itself)."""
        deadline = time.monotonic() + 150
        while True:
            try:
                self.ctl("await_startup", "--timeout", "120", timeout=150)
                return
            except subprocess.CalledProcessError as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(f"RabbitMQ node {self.node} did not start: "
                                         f"{exc.stderr.decode(errors='replace')[-1000:]}"
                                         ) from exc
                time.sleep(0.5)

    def restart_app(self) -> None:
        """``rabbitmqctl stop_app`` then ``start_app``: every connection drops; durable
        queues and their persistent messages stay."""
        self.ctl("stop_app")
        time.sleep(1.0)  # the broker stays down a moment: clients see it gone
        self.ctl("start_app")
        self.await_startup()

    def stop(self) -> None:
        try:
            self.ctl("stop", timeout=60)
        except (subprocess.SubprocessError, OSError):
            pid = (self.folder / "pid").read_text().strip() if (
                self.folder / "pid").exists() else ""
            if pid.isdigit():
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """(broker URL, the private Redis or None)."""
    if request.param == "redis":
        if shutil.which("redis-server") is None:
            _unavailable("redis-server", FileNotFoundError("not on PATH"))
        redis = PrivateRedis(tmp_path / "redis")
        redis.start()
        try:
            yield redis.url, redis
        finally:
            redis.stop()
        return
    if request.param == "rabbitmq-private":
        if not (RABBIT_BIN / "rabbitmq-server").exists():
            _unavailable("rabbitmq-server", FileNotFoundError(str(RABBIT_BIN)))
        rabbit = PrivateRabbit(Path(tempfile.mkdtemp(prefix="sw-rabbit-")))
        try:
            rabbit.start()
        except (subprocess.SubprocessError, OSError) as exc:
            rabbit.stop()
            _unavailable("a private RabbitMQ node", exc)
        try:
            yield rabbit.url, rabbit
        finally:
            rabbit.stop()
            shutil.rmtree(rabbit.folder, ignore_errors=True)
        return
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=3):
            pass
    except OSError as exc:
        _unavailable("RabbitMQ at 127.0.0.1:5672", exc)
    yield RABBIT, None


@pytest.fixture
def settings(meta_url: str, tmp_path: Path, broker: tuple[str, Any]) -> Settings:
    tag = uuid.uuid4().hex[:10]
    return make_settings(meta_url, tmp_path, executor="celery", broker_url=broker[0],
                         queue=f"sw-test-{tag}", local_queue=f"sw-test-{tag}-local",
                         lease_seconds=LEASE, heartbeat_seconds=1.0, tick_seconds=0.5,
                         republish_seconds=3.0, checkpoint_rows=20_000)


class Workers:
    """``sluiceway worker`` processes, each in its own process group and data directory."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def env(self, name: str, data_dir: Path | None = None) -> dict[str, str]:
        s = self.settings
        assert s.secret_key is not None
        assert s.database_url is not None
        assert s.broker
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SLUICEWAY_")}
        environ.update(
            PYTHONPATH=str(SRC), SLUICEWAY_DATA_DIR=str(data_dir or self.tmp_path / name),
            SLUICEWAY_FILE_ROOTS=json.dumps([str(p) for p in s.file_roots]),
            SLUICEWAY_DATABASE_URL=s.database_url, SLUICEWAY_BROKER_URL=s.broker,
            SLUICEWAY_SECRET_KEY=s.secret_key.get_secret_value(),
            SLUICEWAY_QUEUE=s.queue, SLUICEWAY_LOCAL_QUEUE=s.local_queue,
            SLUICEWAY_LEASE_SECONDS=str(s.lease_seconds),
            SLUICEWAY_HEARTBEAT_SECONDS=str(s.heartbeat_interval),
            SLUICEWAY_CHECKPOINT_ROWS=str(s.checkpoint_rows),
            SLUICEWAY_PARALLEL_STREAMS="1", SLUICEWAY_RETRY_BACKOFF_SECONDS="0.2")
        return environ

    def start(self, name: str, concurrency: int = 1, queues: str | None = None,
              data_dir: Path | None = None) -> subprocess.Popen[bytes]:
        args = ["--concurrency", str(concurrency)] + (["--queues", queues] if queues else [])
        with (self.tmp_path / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "sluiceway.cli.main", "worker", *args],
                env=self.env(name, data_dir), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.processes[name] = process
        wait_until(lambda: b" ready." in self.log(name) or process.poll() is not None, 60,
                   f"worker {name} to be ready")
        assert process.poll() is None, self.log(name).decode()[-3000:]
        return process

    def log(self, name: str) -> bytes:
        return (self.tmp_path / f"{name}.log").read_bytes()

    def kill(self, name: str) -> None:
        """SIGKILL the worker and its pool: the machine is gone."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name)

    def pids(self, name: str) -> set[int]:
        """The worker's process and its pool's."""
        process = self.processes[name]
        out = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True,
                             text=True, check=False).stdout
        return {int(p) for p in out.split()}


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(settings, tmp_path)
    try:
        yield w
    finally:
        w.stop()
        if settings.broker == RABBIT:
            _delete_queues(settings)


def _purge(settings: Settings) -> int:
    """Drop the messages waiting in the test's queue; returns how many."""
    with make_app(settings).connection_for_write() as conn:
        return int(conn.default_channel.queue_purge(settings.queue) or 0)


def _delete_queues(settings: Settings) -> None:
    app = make_app(settings)
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for name in (settings.queue, settings.local_queue):
            try:
                channel.queue_delete(name)
                channel.exchange_delete(name)
            except Exception:  # noqa: S110 - never declared by this test: nothing to delete
                pass


@pytest.fixture
def server(world: World) -> Iterator[JobRuntime]:
    """The server's job system: scheduler, reaper and publisher."""
    rt = JobRuntime(world.settings, world.db, CeleryExecutor(world.settings, world.db))
    rt.start()
    try:
        yield rt
    finally:
        rt.stop()


def _sync(world: World, pg: dict[str, Any], stream: str, rows: int, *,
          priority: int = 0) -> int:
    conn = world.connection(("sample", {"rows": rows, "batch_size": 5_000, "streams": [stream]}),
                            ("postgres", pg))
    return ledger.enqueue_in(world.db, workspace_id=world.workspace_id, config_type="sync",
                             scope=conn, max_attempts=3, unicity=f"sync:{conn}",
                             priority=priority).id


def _rows(pg: dict[str, Any], table: str) -> tuple[int, int]:
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER,
                         dbname=pg["database"]) as c:
        row = c.execute(f'SELECT count(*), count(DISTINCT id) FROM public."{table}"').fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _done(world: World, ids: list[int]) -> bool:
    with world.db.session() as s:
        return all(st in ledger.FINAL for st in s.scalars(select(Job.status)
                                                          .where(Job.id.in_(ids))))


@pytest.mark.parametrize("broker", ["rabbitmq"], indirect=True)  # the default broker
def test_twenty_connections_over_two_workers_one_killed(
        world: World, pg_database: dict[str, Any], workers: Workers,
        server: JobRuntime) -> None:
    workers.start("one")
    workers.start("two")
    ids = [_sync(world, pg_database, f"t{k}", 20_000) for k in range(20)]

    def ran_on_both() -> bool:
        with world.db.session() as s:
            return len(set(s.scalars(select(Attempt.worker).where(
                Attempt.job_id.in_(ids), Attempt.status == "succeeded")))) == 2

    wait_until(ran_on_both, 120, "jobs to succeed on both workers")
    workers.kill("one")  # whatever it runs now is lost with it
    wait_until(lambda: _done(world, ids), 180, "every job to end")
    for k, job_id in enumerate(ids):
        attempts = world.attempts(job_id)
        assert world.job(job_id).status == "succeeded", [(a.status, a.error) for a in attempts]
        assert [a.status for a in attempts].count("succeeded") == 1  # never run twice
        assert all(a.error.startswith("worker lost") for a in attempts
                   if a.status == "failed" and a.error)
        assert attempts[-1].host == socket.gethostname()
        assert attempts[-1].pid
        assert _rows(pg_database, f"t{k}") == (20_000, 20_000)


def _committed(world: World, conn: str) -> int:
    with world.db.session() as s:
        row = s.scalars(select(StreamState).where(StreamState.connection_id == conn)).first()
        record = dict(row.record) if row is not None else {}
    return int((record.get("state") or {}).get("next_id", 0)) if record.get("pending") else 0


def test_a_killed_worker_is_taken_over_after_its_lease(
        world: World, pg_database: dict[str, Any], workers: Workers,
        server: JobRuntime) -> None:
    rows = 400_000
    workers.start("one")
    workers.start("two")
    job_id = _sync(world, pg_database, "big", rows)
    conn = world.job(job_id).scope
    wait_until(lambda: _committed(world, conn) >= 40_000, 120, "two committed checkpoints")
    [first] = world.attempts(job_id)
    victim = next(n for n in ("one", "two") if first.pid in workers.pids(n))
    workers.kill(victim)
    killed = time.monotonic()
    job = world.wait_job(job_id, ("succeeded", "failed", "cancelled"), timeout=180)
    attempts = world.attempts(job_id)
    assert job.status == "succeeded", [(a.status, a.error) for a in attempts]
    assert attempts[0].status == "failed"
    assert attempts[0].error is not None
    assert attempts[0].error.startswith("worker lost")
    assert time.monotonic() - killed >= LEASE - 2  # not before the lease ran out
    last = attempts[-1]
    assert last.status == "succeeded"
    assert last.worker != first.worker
    assert last.stats is not None
    assert last.stats["streams"][0]["resumed"]
    assert _rows(pg_database, "big") == (rows, rows)


@pytest.mark.parametrize("broker", ["redis"], indirect=True)  # the broker plays no part
def test_cancel_reaches_a_worker_within_five_seconds(
        world: World, pg_database: dict[str, Any], workers: Workers,
        server: JobRuntime) -> None:
    workers.start("one")
    job_id = _sync(world, pg_database, "long", 3_000_000)
    wait_until(lambda: world.job(job_id).status == "running", 60, "the sync to start")
    wait_until(lambda: world.attempts(job_id)[0].records_synced > 0, 60, "rows to flow")
    with world.db.claim() as s:
        ledger.request_cancel(s, s.get_one(Job, job_id))
    asked = time.monotonic()
    wait_until(lambda: world.job(job_id).status == "cancelled", 5, "the cancel")
    assert time.monotonic() - asked < 5
    [attempt] = world.attempts(job_id)
    assert attempt.status == "cancelled"
    # it stopped by itself, at its next look at the flag: its process was not ended
    assert "ended its process" not in (attempt.error or ""), attempt.error


@pytest.mark.parametrize("broker", ["redis"], indirect=True)  # the broker plays no part
def test_a_space_capped_at_one_never_runs_two_and_defers_the_rest(
        world: World, pg_database: dict[str, Any], workers: Workers,
        server: JobRuntime) -> None:
    with world.db.session() as s:
        s.get_one(Workspace, world.workspace_id).workers = 1
    workers.start("one", concurrency=2)
    workers.start("two", concurrency=2)
    ids = [_sync(world, pg_database, f"c{k}", 40_000) for k in range(4)]
    most = 0
    deadline = time.monotonic() + 120
    while not _done(world, ids):
        with world.db.session() as s:
            running = s.scalar(select(func.count()).where(
                Job.workspace_id == world.workspace_id, Job.status == "running"))
        most = max(most, int(running or 0))
        assert time.monotonic() < deadline, "the capped jobs did not end"
        time.sleep(0.05)
    assert most == 1
    for job_id in ids:
        assert [a.status for a in world.attempts(job_id)] == ["succeeded"]


def test_a_priority_nine_job_overtakes_queued_priority_zero_ones(
        world: World, pg_database: dict[str, Any], workers: Workers,
        server: JobRuntime) -> None:
    low = [_sync(world, pg_database, f"low{k}", 5_000) for k in range(3)]
    high = _sync(world, pg_database, "high", 5_000, priority=9)
    wait_until(lambda: all(world.job(j).published_at for j in [*low, high]), 30,
               "the jobs to be published")
    workers.start("one")  # one at a time, in the broker's order
    wait_until(lambda: _done(world, [*low, high]), 120, "every job to end")
    ended = {j: world.attempts(j)[0].ended_at or 0.0 for j in [*low, high]}
    assert min(ended, key=lambda j: ended[j]) == high


def test_a_broker_that_loses_its_messages_loses_no_job_and_runs_none_twice(
        world: World, pg_database: dict[str, Any], workers: Workers, server: JobRuntime,
        broker: tuple[str, Any]) -> None:
    redis = broker[1]
    running = _sync(world, pg_database, "during", 300_000)
    workers.start("one")
    wait_until(lambda: world.job(running).status == "running", 60, "a job to run")
    queued = [_sync(world, pg_database, f"q{k}", 5_000) for k in range(4)]
    wait_until(lambda: all(world.job(j).published_at for j in queued), 30,
               "the queued jobs to be published")
    if redis is not None:
        redis.stop()  # Redis keeps nothing on disk: the queued messages are gone
        redis.start()
    else:  # the machine's RabbitMQ serves other tests too: lose this test's messages only
        # (a job's published_at is written as its message is sent: on a busy machine the
        # message may reach the queue a moment later, and the busy worker cannot take it)
        wait_until(lambda: _purge(world.settings) >= 1, 30, "this test's messages to drop")
    workers.start("two")
    ids = [running, *queued]
    wait_until(lambda: _done(world, ids), 180, "every job to end")
    for job_id in ids:
        attempts = world.attempts(job_id)
        assert [a.status for a in attempts] == ["succeeded"], [(a.status, a.error)
                                                                for a in attempts]
    assert _rows(pg_database, "during") == (300_000, 300_000)
    for k in range(4):
        assert _rows(pg_database, f"q{k}") == (5_000, 5_000)


@pytest.mark.parametrize("broker", ["redis"], indirect=True)  # the broker plays no part
def test_jobs_with_local_files_run_on_the_servers_machine(
        world: World, workers: Workers, server: JobRuntime, tmp_path: Path) -> None:
    s = world.settings
    workers.start("remote")  # its own data directory: another machine
    workers.start("local", queues=f"{s.queue},{s.local_queue}", data_dir=s.data_dir)
    conns = [world.connection(("sample", {"rows": 2_000, "streams": [f"f{k}"]}),
                              ("duckdb", {"path": str(tmp_path / f"f{k}.duckdb")}))
             for k in range(4)]
    ids = [world.sync_job(c) for c in conns]
    wait_until(lambda: _done(world, ids), 120, "every job to end")
    local = workers.pids("local")
    for job_id in ids:
        [attempt] = world.attempts(job_id)
        assert attempt.status == "succeeded", attempt.error
        assert attempt.pid in local


@pytest.mark.parametrize("broker", ["rabbitmq-private"], indirect=True)
def test_a_rabbitmq_restart_loses_no_job_and_runs_none_twice(
        world: World, pg_database: dict[str, Any], workers: Workers, server: JobRuntime,
        broker: tuple[str, Any]) -> None:
    rabbit: PrivateRabbit = broker[1]
    workers.start("one")
    workers.start("two")
    running = [_sync(world, pg_database, f"r{k}", 300_000) for k in range(2)]
    wait_until(lambda: all(world.job(j).status == "running" for j in running), 60,
               "both workers to run a job")
    queued = [_sync(world, pg_database, f"q{k}", 5_000) for k in range(4)]
    wait_until(lambda: all(world.job(j).published_at for j in queued), 30,
               "the queued jobs to be published")
    rabbit.restart_app()  # the workers and the server lose their connections
    ids = [*running, *queued]
    wait_until(lambda: _done(world, ids), 240, "every job to end")
    for job_id in ids:
        attempts = world.attempts(job_id)
        assert [a.status for a in attempts] == ["succeeded"], [(a.status, a.error)
                                                                for a in attempts]
    for k in range(2):
        assert _rows(pg_database, f"r{k}") == (300_000, 300_000)
    for k in range(4):
        assert _rows(pg_database, f"q{k}") == (5_000, 5_000)
    # both workers came back to the broker: a job after the restart runs too
    after = _sync(world, pg_database, "after", 1_000)
    wait_until(lambda: _done(world, [after]), 60, "a job after the restart")
    assert [a.status for a in world.attempts(after)] == ["succeeded"]


@pytest.mark.parametrize("broker", ["redis"], indirect=True)  # the broker plays no part
@pytest.mark.parametrize("how", ["cancel", "kill"])
def test_a_cancel_ends_an_attempt_that_never_looks_at_it_within_five_seconds(
        world: World, pg_database: dict[str, Any], pg_conn: Any, workers: Workers,
        server: JobRuntime, how: str) -> None:
    pg_conn.execute("CREATE TABLE stuck (id int PRIMARY KEY, v text)")
    pg_conn.execute("INSERT INTO stuck SELECT g, 'v' || g FROM generate_series(1, 1000) g")
    source = {**pg_database, "schemas": ["public"]}
    destination = {**pg_database, "schema": "copied"}
    conn = world.connection(("postgres", source), ("postgres", destination))
    workers.start("one")
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER,
                         dbname=pg_database["database"]) as locker:
        # the sync's read waits on this lock inside the driver, never looking at its cancel
        locker.execute("LOCK TABLE stuck IN ACCESS EXCLUSIVE MODE")
        job_id = world.sync_job(conn)

        def waits_on_the_lock() -> bool:
            row = pg_conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                "wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
                [pg_database["database"]]).fetchone()
            return bool(row and row[0])

        wait_until(lambda: world.job(job_id).status == "running", 60, "the sync to start")
        wait_until(waits_on_the_lock, 60, "the sync's read to wait on the lock")
        [attempt] = world.attempts(job_id)
        assert attempt.pid in workers.pids("one")
        with world.db.claim() as s:
            ledger.request_cancel(s, s.get_one(Job, job_id), how)
        asked = time.monotonic()
        wait_until(lambda: world.job(job_id).status == "cancelled", 10, "the cancel")
        took = time.monotonic() - asked
        [attempt] = world.attempts(job_id)
        assert attempt.status == "cancelled"
        assert attempt.error is not None
        # a cancel is given a grace before the process is ended; a kill is not
        assert (attempt.error == "killed") if how == "kill" else (
            "ended its process" in attempt.error)
        assert took < 5, took
        wait_until(lambda: attempt.pid not in workers.pids("one"), 10,
                   "the attempt's process to be gone")
        locker.rollback()
    # the worker goes on (Celery starts another pool process); the job is not run again
    other = _sync(world, pg_database, "next", 1_000)
    wait_until(lambda: _done(world, [other]), 60, "the next job")
    assert [a.status for a in world.attempts(other)] == ["succeeded"]
    assert [a.status for a in world.attempts(job_id)] == ["cancelled"]
    assert world.job(job_id).status == "cancelled"

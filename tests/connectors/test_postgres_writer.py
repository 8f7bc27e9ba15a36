"""The PostgreSQL destination's COPY writer: sent from a thread of its own, bounded, and
failing (never hanging) when the server goes away. Against the real server."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from sluiceway.connectors.postgres.writer import QueuedWriter
from tests.conftest import PG_HOST, PG_PORT, PG_USER

BLOCK = 1 << 20  # each block is one 1 MiB row of text COPY
BLOCKS = 48
LOCK = 7331  # the advisory lock the target table's trigger waits on


def _connect(pg_database: dict[str, Any]) -> psycopg.Connection[Any]:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER,
                           dbname=pg_database["database"])


def _row(i: int) -> bytes:
    return f"{i}\t".encode() + b"x" * (BLOCK - 16) + b"\n"


def test_a_stalled_server_holds_the_writer_to_a_few_blocks(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    """While the server does not read, the caller is held back after a few blocks (the
    socket's buffers, the block being sent, the one in hand): an encoder faster than the
    server never piles the load up in memory. Once the server reads again, every block
    arrives, in order."""
    pg_conn.execute("CREATE TABLE t (id int, v text)")
    pg_conn.execute(f"""CREATE FUNCTION wait_for_test() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_lock_shared({LOCK});
              PERFORM pg_advisory_unlock_shared({LOCK}); RETURN NEW; END $$""")
    pg_conn.execute("CREATE TRIGGER w BEFORE INSERT ON t FOR EACH ROW "
                    "EXECUTE FUNCTION wait_for_test()")
    pg_conn.execute("SELECT pg_advisory_lock(%s)", (LOCK,))  # the server stalls on row 1
    accepted: list[int] = []
    failed: list[BaseException] = []
    with _connect(pg_database) as conn:
        cur = conn.cursor()
        with cur.copy("COPY t (id, v) FROM STDIN", writer=QueuedWriter(cur)) as copy:

            def write_all() -> None:
                try:
                    for i in range(BLOCKS):
                        copy.write(_row(i))
                        accepted.append(i)
                except BaseException as exc:  # noqa: BLE001 - reported by the test
                    failed.append(exc)

            writer = threading.Thread(target=write_all, daemon=True)
            writer.start()
            # the writer must still be held back after this wait; were it not bounded it
            # would have written all 48 MiB long before (the wait only ends the test early)
            writer.join(timeout=3)
            try:
                assert writer.is_alive(), f"all {len(accepted)} blocks were taken at once"
                assert len(accepted) <= 20, accepted
            finally:
                pg_conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
                writer.join(timeout=60)
            assert not writer.is_alive()
            assert not failed, failed
        conn.commit()
    rows = pg_conn.execute("SELECT id, length(v) FROM t ORDER BY id").fetchall()
    assert [r[0] for r in rows] == list(range(BLOCKS))
    assert {r[1] for r in rows} == {BLOCK - 16}


def test_a_server_gone_mid_copy_fails_the_load_instead_of_hanging(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (id int, v text)")
    outcome: list[BaseException | None] = []
    with _connect(pg_database) as conn:
        pid = conn.info.backend_pid
        cur = conn.cursor()

        def load() -> None:
            try:
                with cur.copy("COPY t (id, v) FROM STDIN", writer=QueuedWriter(cur)) as copy:
                    copy.write(_row(0))
                    pg_conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    for i in range(1, BLOCKS):  # far more than the writer holds
                        copy.write(_row(i))
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                outcome.append(exc)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        loader.join(timeout=60)
        assert not loader.is_alive(), "the load hung after its server went away"
    assert len(outcome) == 1, outcome
    assert isinstance(outcome[0], psycopg.OperationalError), outcome
    assert pg_conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_a_row_the_server_refuses_fails_the_copy_at_its_end(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    """The server answers a bad row only when the COPY ends; what was queued behind it is
    not taken for sent, and nothing of the COPY is stored."""
    pg_conn.execute("CREATE TABLE t (id int NOT NULL, v text)")
    with _connect(pg_database) as conn:
        cur = conn.cursor()

        def load() -> None:
            with cur.copy("COPY t (id, v) FROM STDIN", writer=QueuedWriter(cur)) as copy:
                copy.write(b"1\ta\n\\N\tb\n")
                for i in range(2, 10):
                    copy.write(f"{i}\tc\n".encode())

        with pytest.raises(psycopg.errors.NotNullViolation):
            load()
        conn.rollback()
    assert pg_conn.execute("SELECT count(*) FROM t").fetchone() == (0,)

"""Shared fixtures: real PostgreSQL and MariaDB databases with random names, dropped after.

A test that needs a server skips with the reason when none answers, unless
``SLUICEWAY_REQUIRE_SERVICES=1``: then it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

PG_HOST = os.environ.get("SLUICEWAY_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SLUICEWAY_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SLUICEWAY_TEST_PG_USER", "postgres")
MY_HOST = os.environ.get("SLUICEWAY_TEST_MYSQL_HOST", "127.0.0.1")
MY_PORT = int(os.environ.get("SLUICEWAY_TEST_MYSQL_PORT", "3306"))
MY_USER = os.environ.get("SLUICEWAY_TEST_MYSQL_USER", "root")
MY_PASSWORD = os.environ.get("SLUICEWAY_TEST_MYSQL_PASSWORD", "")


def _unavailable(what: str, exc: BaseException) -> None:
    reason = f"{what} is not reachable: {exc}"
    if os.environ.get("SLUICEWAY_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " (SLUICEWAY_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def random_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def pg_database() -> Iterator[dict[str, Any]]:
    """A fresh PostgreSQL database; yields a source/destination config for it."""
    import psycopg

    name = random_name("sw_test")
    admin = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL at {PG_HOST}:{PG_PORT}", exc)
    config = {"host": PG_HOST, "port": PG_PORT, "database": name, "username": PG_USER,
              "password": "", "ssl_mode": "disable"}
    try:
        yield config
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_conn(pg_database: dict[str, Any]) -> Iterator[Any]:
    """An autocommit psycopg connection to ``pg_database`` for setting up data."""
    import psycopg

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER,
                         dbname=pg_database["database"], autocommit=True) as conn:
        yield conn


@pytest.fixture
def mysql_database() -> Iterator[dict[str, Any]]:
    """A fresh MariaDB/MySQL database; yields a source/destination config for it."""
    import pymysql

    name = random_name("sw_test")
    try:
        conn = pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password=MY_PASSWORD,
                               connect_timeout=5, autocommit=True)
    except pymysql.err.OperationalError as exc:
        _unavailable(f"MariaDB at {MY_HOST}:{MY_PORT}", exc)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    config = {"host": MY_HOST, "port": MY_PORT, "database": name, "username": MY_USER,
              "password": MY_PASSWORD}
    try:
        yield config
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture
def mysql_conn(mysql_database: dict[str, Any]) -> Iterator[Any]:
    import pymysql

    conn = pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password=MY_PASSWORD,
                           database=mysql_database["database"], autocommit=True,
                           local_infile=True, charset="utf8mb4")
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A metadata database URL: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meta.db'}"
        return
    import psycopg

    name = random_name("sw_meta")
    admin = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL at {PG_HOST}:{PG_PORT}", exc)
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""A MySQL server that asks for a local file gets nothing: not during a check, not during a
sync's own load (where only the file being loaded may be sent)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sluiceway.connectors import registry
from sluiceway.connectors.memory.connector import DATASETS
from sluiceway.connectors.mysql.infile import LocalInfileRefused
from sluiceway.engine.plan import StreamChoice
from sluiceway.protocol.catalog import DestinationSyncMode as D
from sluiceway.protocol.catalog import SyncMode as S
from tests.connectors.mysql_peer import InfileTrap
from tests.helpers import sync

SECRET = b"FERNET-KEY-THAT-MUST-NOT-LEAVE-THE-HOST"


def _first_query(sql: bytes) -> bool:
    """The first query whose answer is read as a result (PyMySQL reads SET NAMES' answer as a
    bare OK and ignores anything else there)."""
    return not sql.upper().startswith(b"SET NAMES")


def _the_load(sql: bytes) -> bool:
    return b"LOAD DATA LOCAL INFILE" in sql.upper()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.key"
    path.write_bytes(SECRET)
    return path


def _via(trap: InfileTrap, database: dict[str, Any]) -> dict[str, Any]:
    return dict(database, host="127.0.0.1", port=trap.port, ssl_mode="disabled")


@pytest.mark.parametrize(("kind", "trigger"), [
    ("source", _first_query),
    ("destination", _first_query),
    ("destination", _the_load),  # the check's own probe load asks for another file
], ids=["source-connect", "destination-connect", "destination-probe-load"])
def test_check_sends_no_byte_of_a_file_the_server_asks_for(
    mysql_database: dict[str, Any], secret_file: Path, kind: str,
    trigger: Callable[[bytes], bool],
) -> None:
    connector = registry.source("mysql") if kind == "source" else registry.destination("mysql")
    with InfileTrap((mysql_database["host"], mysql_database["port"]), str(secret_file),
                    trigger) as trap:
        result = connector.check(_via(trap, mysql_database))
        assert trap.asked.is_set(), result.message
        assert trap.answered.wait(10)
    assert not result.ok
    assert "asked for the local file" in result.message
    assert str(secret_file) in result.message
    assert trap.received == b""


def test_sync_load_refuses_any_file_but_its_own(
    mysql_database: dict[str, Any], mysql_conn: Any, secret_file: Path,
) -> None:
    DATASETS["infile"] = {"people": pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]})}
    choice = [StreamChoice("people", S.full_refresh, D.overwrite)]
    with InfileTrap((mysql_database["host"], mysql_database["port"]), str(secret_file),
                    _the_load) as trap:
        result = sync("memory", {"dataset": "infile"}, "mysql", _via(trap, mysql_database),
                      choice)
        assert trap.answered.wait(10)
    assert result.status == "failed"
    error = result.first_error()
    assert isinstance(error, LocalInfileRefused), error
    assert "asked for the local file" in str(error)
    assert trap.received == b""
    with mysql_conn.cursor() as cur:
        cur.execute("SHOW TABLES LIKE 'people'")
        assert cur.fetchall() == ()  # nothing half-loaded became the table


def test_the_relay_itself_passes_a_sync_that_asks_for_nothing_else(
    mysql_database: dict[str, Any], mysql_conn: Any, secret_file: Path,
) -> None:
    """The trap is transparent until it fires: the destination's own load goes through it."""
    DATASETS["infile_ok"] = {"people": pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]})}
    choice = [StreamChoice("people", S.full_refresh, D.overwrite)]
    with InfileTrap((mysql_database["host"], mysql_database["port"]), str(secret_file),
                    lambda sql: False) as trap:
        sync("memory", {"dataset": "infile_ok"}, "mysql", _via(trap, mysql_database), choice)
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT id, name FROM people ORDER BY id")
        assert cur.fetchall() == ((1, "a"), (2, "b"), (3, "c"))


def test_the_fast_read_path_sends_no_byte_either(
    mysql_database: dict[str, Any], secret_file: Path,
) -> None:
    """connectorx (the source's fast reads) never offers LOCAL INFILE: asked at its first
    query, it sends nothing and opens a new connection."""
    import connectorx as cx

    from sluiceway.connectors.mysql.spec import connectorx_uri

    with InfileTrap((mysql_database["host"], mysql_database["port"]), str(secret_file),
                    _first_query) as trap:
        cx.read_sql(connectorx_uri(_via(trap, mysql_database)), "SELECT 1 AS x",
                    return_type="arrow")
        assert trap.asked.is_set()
        assert trap.answered.wait(10)
    assert trap.received == b""

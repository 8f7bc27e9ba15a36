"""Where connectors may connect, and what their connection errors may say."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from sluiceway.connectors import network, registry
from sluiceway.connectors.network import NetworkPolicy, Reserved, TargetRefused, check_target
from sluiceway.core.errors import ConnectionFailed
from sluiceway.core.settings import Settings
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.pipeline import Options, run
from sluiceway.engine.plan import configure

DEFAULT = NetworkPolicy()


@pytest.mark.parametrize(("host", "allowed"), [
    ("169.254.169.254", False),  # a cloud's instance metadata service
    ("fe80::1", False),
    ("0.0.0.0", False),
    ("::", False),
    ("224.0.0.251", False),
    ("ff02::1", False),
    ("::ffff:169.254.169.254", False),  # the same address, IPv4-mapped
    ("127.0.0.1", True),  # self-hosted databases live on loopback and private networks
    ("::1", True),
    ("10.1.2.3", True),
    ("192.168.0.10", True),
    ("localhost", True),
])
def test_default_deny_list(host: str, allowed: bool) -> None:
    if allowed:
        assert check_target(host, 5432, system="PostgreSQL", using=DEFAULT)
        return
    with pytest.raises(TargetRefused) as info:
        check_target(host, 5432, system="PostgreSQL", using=DEFAULT)
    assert info.value.errors[0].path == "host"
    assert "in a network that connectors may not reach" in info.value.message
    assert "SLUICEWAY_NETWORK_DENY" in info.value.message


@pytest.mark.parametrize(("host", "allowed"), [
    ("10.9.9.9", False),  # SLUICEWAY_NETWORK_DENY extends the built-in list
    ("10.1.2.3", True),  # a longer allowed prefix inside it wins
    ("169.254.169.254", False),  # the built-in list still holds
    ("169.254.7.7", True),  # ... except where an allowed /24 is more specific
    ("172.16.0.1", True),
])
def test_settings_extend_and_relax_the_lists(monkeypatch: pytest.MonkeyPatch, host: str,
                                             allowed: bool) -> None:
    monkeypatch.setenv("SLUICEWAY_NETWORK_DENY", "10.0.0.0/8")
    monkeypatch.setenv("SLUICEWAY_NETWORK_ALLOW", "10.1.0.0/16, 169.254.7.0/24")
    rules = NetworkPolicy.from_settings(Settings())
    assert rules.permits(ipaddress.ip_address(host)) is allowed


def test_an_equal_prefix_in_both_lists_is_allowed() -> None:
    rules = NetworkPolicy.from_settings(Settings(network_allow=["169.254.0.0/16"]))
    assert check_target("169.254.169.254", 80, system="MySQL", using=rules) == [
        "169.254.169.254"]


def test_a_bad_network_in_the_settings_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="'10.0.0.0/33' is not an address or CIDR"):
        Settings(network_deny="10.0.0.0/33")


def test_a_name_that_does_not_resolve_says_so() -> None:
    with pytest.raises(ConnectionFailed, match=r"no-such-host\.invalid:5432: name not resolved"):
        check_target("no-such-host.invalid", 5432, system="PostgreSQL", using=DEFAULT)


@pytest.mark.parametrize(("host", "port", "system", "database", "refused"), [
    ("127.0.0.1", 5432, "PostgreSQL", "meta", True),  # the metadata database itself
    ("localhost", 5432, "PostgreSQL", "meta", True),  # by another name of the address
    ("127.0.0.1", 5432, "PostgreSQL", "sales", False),  # another database of that server
    ("127.0.0.1", 5432, "MySQL", "sales", True),  # no MySQL server answers there
    ("127.0.0.1", 5433, "PostgreSQL", "meta", False),  # another server
    ("127.0.0.1", 6379, "MySQL", "x", True),  # the broker, whatever the database
])
def test_the_servers_own_systems_are_refused(host: str, port: int, system: Any,
                                             database: str, refused: bool) -> None:
    rules = NetworkPolicy.from_settings(Settings(
        database_url="postgresql+psycopg://postgres@localhost:5432/meta",
        broker_url="redis://127.0.0.1:6379/0",
        network_allow=["127.0.0.0/8"]))  # an allow list does not open them
    if not refused:
        assert check_target(host, port, system=system, database=database, using=rules)
        return
    with pytest.raises(TargetRefused, match="the server's (metadata database|message broker)"):
        check_target(host, port, system=system, database=database, using=rules)


def test_the_default_broker_of_the_celery_executor_is_refused() -> None:
    rules = NetworkPolicy.from_settings(Settings(
        executor="celery", database_url="postgresql+psycopg://postgres@db.internal:5432/meta",
        network_allow=["127.0.0.0/8"]))
    with pytest.raises(TargetRefused, match="the server's message broker"):
        check_target("127.0.0.1", 5672, system="PostgreSQL", database="x", using=rules)


@pytest.fixture
def policy() -> Iterator[None]:
    """The process's policy back as it was after the test."""
    before = network.policy()
    yield
    network.configure(before)


@pytest.mark.parametrize("connector", [("source", "postgres"), ("destination", "postgres"),
                                       ("source", "mysql"), ("destination", "mysql")], ids=str)
def test_a_check_of_a_denied_address_fails_before_connecting(connector: tuple[str, str],
                                                             policy: None) -> None:
    network.configure(NetworkPolicy())
    kind, name = connector
    c = registry.source(name) if kind == "source" else registry.destination(name)
    result = c.check({"host": "169.254.169.254", "port": 5432, "database": "d",
                      "username": "u", "password": "pw"})
    assert not result.ok
    assert "169.254.169.254:5432 is refused as a connection target" in result.message


BANNER = b"HTTP/1.1 400 Bad Request\r\nServer: banner-9f3e\r\n\r\n"


@pytest.fixture(params=["speaks first", "answers"])
def chatty_port(request: pytest.FixtureRequest) -> Iterator[int]:
    """A port that answers every connection with an HTTP error, first or once spoken to."""
    srv = socket.create_server(("127.0.0.1", 0))
    first = request.param == "speaks first"

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                try:
                    if first:
                        conn.sendall(BANNER)
                    conn.settimeout(1)  # a client waiting for a greeting gets it after 1 s
                    try:
                        conn.recv(1024)
                    except TimeoutError:
                        pass
                    if not first:
                        conn.sendall(BANNER)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(srv.getsockname()[1])
    srv.shutdown(socket.SHUT_RDWR)  # wakes the accept()
    srv.close()
    thread.join(5)


@pytest.mark.parametrize(("name", "ssl_mode", "system"), [
    ("postgres", "disable", "PostgreSQL"), ("postgres", "prefer", "PostgreSQL"),
    ("mysql", "disabled", "MySQL"), ("mysql", "preferred", "MySQL")])
def test_a_port_that_is_no_database_is_named_without_its_bytes(
        chatty_port: int, name: str, ssl_mode: str, system: str, policy: None) -> None:
    network.configure(NetworkPolicy(read_timeout=5))
    cfg = {"host": "127.0.0.1", "port": chatty_port, "database": "d", "username": "u",
           "password": "pw", "ssl_mode": ssl_mode}
    for connector in (registry.source(name), registry.destination(name)):
        result = connector.check(cfg)
        assert not result.ok
        assert result.message == (f"cannot connect to {system} at 127.0.0.1:{chatty_port}: "
                                  f"did not answer as a {system} server")


@pytest.mark.parametrize("side", ["source", "destination"])
def test_a_sync_neither_reads_nor_writes_the_metadata_database(
        pg_database: dict[str, Any], pg_conn: Any, tmp_path: Any, policy: None,
        side: str) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    pg_conn.execute("INSERT INTO t VALUES (1), (2)")
    source = registry.source("postgres")
    catalog = configure(source.discover(pg_database), None)
    network.configure(NetworkPolicy(reserved=(Reserved(
        "the server's metadata database", pg_database["host"], pg_database["port"],
        pg_database["database"]),)))
    if side == "source":
        dest, dest_config = "duckdb", {"path": str(tmp_path / "out.duckdb")}
    else:  # read the sample source into the reserved database
        source = registry.source("sample")
        catalog = configure(source.discover({"rows": 10}), None)
        dest, dest_config = "postgres", pg_database
    try:
        result = run(catalog, source, pg_database if side == "source" else {"rows": 10},
                     registry.destination(dest), dest_config, MemoryStateStore(), Options())
    except TargetRefused as exc:
        message = exc.message
    else:
        assert not result.ok
        message = " ".join(s.error or "" for s in result.streams)
    assert "is the server's metadata database, which connectors may not use" in message
    assert pg_conn.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_schema = 'public'").fetchone()[0] == 1  # only t

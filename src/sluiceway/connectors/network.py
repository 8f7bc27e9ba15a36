"""Where network connectors may connect: one policy, checked on the resolved address.

A connector resolves its host once with :func:`check_target`, which checks every address
against the policy and returns them; the connector then connects to those addresses (never
to the name again), so a DNS answer cannot change between the check and the connection.

The rule, for each resolved address (an IPv4-mapped IPv6 address counts as its IPv4):

* the most specific network (longest prefix) of the deny and allow lists that contains the
  address decides; on a tie allow wins; an address in neither list is allowed;
* ``deny`` is :data:`DEFAULT_DENY` (link-local, "this host", multicast) plus
  ``SLUICEWAY_NETWORK_DENY``; ``allow`` is ``SLUICEWAY_NETWORK_ALLOW``. Loopback and private
  ranges are allowed by default: self-hosted databases live there. So
  ``SLUICEWAY_NETWORK_DENY=10.0.0.0/8`` closes a private range, and
  ``SLUICEWAY_NETWORK_ALLOW=169.254.10.0/24`` opens one link-local subnet again;
* one refused address refuses the host (a name that resolves to a good and a bad address
  is refused: the driver could pick either);
* the server's own systems are refused whatever the lists say: the broker
  (``SLUICEWAY_BROKER_URL``) on its address and port, and the PostgreSQL metadata database
  (``SLUICEWAY_DATABASE_URL``) when a connector names its address, port *and* database.
  Another database of the same server stays usable, since self-hosted installs often keep
  their data next to Sluiceway's: a PostgreSQL connection reaches only the database it
  names, so the users and tokens tables are out of its reach. A MySQL connector pointed at
  the metadata server's port is refused outright (it can only be a mistake or a probe),
  and so is an HTTP target there (the HTTP proxy and the OAuth helpers check as ``HTTP``).

The policy is process-wide, like the settings it comes from: :func:`configure` installs it
(the server at start, each worker process); until then it is built from the environment.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from sluiceway.core.errors import ConfigInvalid, ConnectionFailed, FieldError
from sluiceway.core.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
System = Literal["PostgreSQL", "MySQL", "HTTP"]

DEFAULT_DENY: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in (
    "169.254.0.0/16", "fe80::/10",  # link-local, where cloud metadata services answer
    "0.0.0.0/32", "::/128",  # "this host": connects to whatever listens on any address
    "224.0.0.0/4", "ff00::/8",  # multicast
))
#: seconds a connector waits for a connection to open (libpq: per address, login included)
CONNECT_TIMEOUT = 10


class TargetRefused(ConfigInvalid):
    """The host resolves to an address that connectors may not use."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        super().__init__(f"{host}:{port} is refused as a connection target",
                         [FieldError("host", reason, host)])


@dataclass(frozen=True)
class Reserved:
    """A server of Sluiceway itself: connectors never reach it."""

    what: str
    host: str
    port: int
    #: only this database of it (PostgreSQL); None: the whole address and port
    database: str | None = None


@dataclass(frozen=True)
class NetworkPolicy:
    deny: tuple[Network, ...] = DEFAULT_DENY
    allow: tuple[Network, ...] = ()
    reserved: tuple[Reserved, ...] = field(default=())
    #: seconds a connector waits for any one answer; None (servers and sync workers): no
    #: limit, as a sync's long silent phases (an index build) must not be cut. The process
    #: that runs one check or discover sets it to that call's time limit.
    read_timeout: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> NetworkPolicy:
        reserved = [r for r in (_reserved_metadata(settings.database_url),
                                _reserved_broker(settings.broker)) if r is not None]
        deny = tuple(ipaddress.ip_network(n) for n in settings.network_deny)
        allow = tuple(ipaddress.ip_network(n) for n in settings.network_allow)
        return cls(DEFAULT_DENY + deny, allow, tuple(reserved))

    def permits(self, address: Address) -> bool:
        address = _plain(address)
        best: tuple[int, bool] | None = None  # (prefix length, allowed)
        for allowed, networks in ((False, self.deny), (True, self.allow)):
            for net in networks:
                if net.version == address.version and address in net:
                    if best is None or (net.prefixlen, allowed) > best:
                        best = (net.prefixlen, allowed)
        return best is None or best[1]


_configured: NetworkPolicy | None = None


def configure(policy: NetworkPolicy) -> None:
    """Install the process's policy (the server at start; each worker process)."""
    global _configured
    _configured = policy


def handshake_timeout() -> float:
    """Seconds a connection may take to open and log in."""
    limit = policy().read_timeout
    return float(CONNECT_TIMEOUT) if limit is None else min(float(CONNECT_TIMEOUT), limit)


def policy() -> NetworkPolicy:
    global _configured
    if _configured is None:
        _configured = NetworkPolicy.from_settings(Settings())
    return _configured


def check_target(host: str, port: int, *, system: System, database: str | None = None,
                 using: NetworkPolicy | None = None) -> list[str]:
    """The addresses of ``host`` a connector may connect to, in the resolver's order.

    Raises :class:`TargetRefused` (a config error naming ``host``) when any address is
    refused, and :class:`ConnectionFailed` when the name does not resolve."""
    rules = using or policy()
    addresses = resolve(host, port, system)
    for a in addresses:
        if not rules.permits(a):
            said = str(a) if host.strip("[]") == str(a) else f"{host} (resolved to {a})"
            raise TargetRefused(host, port, f"{said} is in a network that connectors may "
                                "not reach (SLUICEWAY_NETWORK_DENY / SLUICEWAY_NETWORK_ALLOW)")
    for r in rules.reserved:
        if r.port != port or (r.database is not None and system == "PostgreSQL"
                              and r.database != database):
            continue
        try:
            theirs = set(resolve(r.host, r.port, system))
        except ConnectionFailed:
            continue
        if theirs & set(addresses):
            raise TargetRefused(host, port, f"{host}:{port} is {r.what}, which connectors "
                                "may not use")
    return [str(_plain(a)) for a in addresses]


def resolve(host: str, port: int, system: System) -> list[Address]:
    """Every address of ``host`` (an address literal is itself), without duplicates."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectionFailed(system, host, port, "name not resolved") from exc
    seen: list[Address] = []
    for *_, sockaddr in infos:
        a = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if a not in seen:
            seen.append(a)
    if not seen:
        raise ConnectionFailed(system, host, port, "name not resolved")
    return seen


def _plain(a: Address) -> Address:
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        return a.ipv4_mapped
    return a


def _reserved_metadata(url: str | None) -> Reserved | None:
    if not url or url.split(":", 1)[0].split("+")[0] not in ("postgresql", "postgres"):
        return None
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or [""])[0]
    if not host or host.startswith("/"):
        host = "localhost"  # a Unix socket: the same server also answers on loopback
    try:
        port = parts.port or int((query.get("port") or ["5432"])[0])
    except ValueError:
        return None
    database = unquote(parts.path.lstrip("/")) or unquote(parts.username or "") or "postgres"
    return Reserved("the server's metadata database", host, port, database)


def _reserved_broker(url: str | None) -> Reserved | None:
    if not url:
        return None
    parts = urlsplit(url)
    defaults = {"redis": 6379, "rediss": 6380, "amqp": 5672, "amqps": 5671, "pyamqp": 5672}
    try:
        port = parts.port or defaults.get(parts.scheme.split("+")[0])
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return Reserved("the server's message broker", parts.hostname, port)

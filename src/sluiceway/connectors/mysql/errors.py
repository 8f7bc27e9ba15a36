"""Turn PyMySQL and connectorx errors into Sluiceway's error tree, at one boundary."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pymysql

from sluiceway.core.errors import ConnectionFailed, Fatal, Retryable, SluicewayError

SYSTEM = "MySQL"

#: server/client error codes of passing faults: lock wait timeout, deadlock, too many
#: connections, shutdown, lost or refused connection, network timeouts, killed connection
RETRYABLE_CODES = frozenset({1040, 1053, 1159, 1161, 1205, 1213, 1927, 2002, 2003, 2006,
                             2013, 2055, 4031})
_CODE = re.compile(r"ERROR (\d{4})")
_IO_WORDS = ("could not connect", "connection refused", "connection reset", "broken pipe",
             "timed out waiting for connection", "io error", "unexpected eof")


def _mask(text: str, config: dict[str, Any]) -> str:
    pw = str(config.get("password") or "")
    if pw:
        text = text.replace(pw, "**********").replace(quote(pw, safe=""), "**********")
    return re.sub(r"mysql://[^@\s]*@", "mysql://", text)


def _reason(exc: BaseException, config: dict[str, Any]) -> str:
    if isinstance(exc, pymysql.err.MySQLError) and len(exc.args) >= 2:
        text = f"{exc.args[1]} (error {exc.args[0]})"
    else:
        text = str(exc)
    msg = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return _mask(msg, config) or type(exc).__name__


def _code(exc: BaseException) -> int | None:
    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        return exc.args[0]
    found = _CODE.search(str(exc))
    return int(found.group(1)) if found else None


def _is_connectorx(exc: BaseException) -> bool:
    """connectorx raises RuntimeError, or pyo3's PanicException (a BaseException)."""
    return isinstance(exc, RuntimeError) or type(exc).__name__ == "PanicException"


@contextlib.contextmanager
def translate(config: dict[str, Any], *, connecting: bool = False) -> Iterator[None]:
    """Wrap driver calls: a failed connection becomes ConnectionFailed (host, port, the
    server's reason), passing faults Retryable, anything else Fatal; the original is chained.
    The password never appears in a message."""
    try:
        yield
    except SluicewayError:
        raise
    except (pymysql.err.MySQLError, OSError) as exc:
        _raise(exc, config, connecting)
    except BaseException as exc:
        # a foreign peer can make PyMySQL's handshake fail anywhere (IndexError, struct)
        foreign = connecting and isinstance(exc, Exception)
        if not (foreign or _is_connectorx(exc)):
            raise
        _raise(exc, config, connecting)


NOT_MYSQL = "did not answer as a MySQL server"
#: PyMySQL's own words about a server that did answer as MySQL (TLS not offered, an
#: unknown authentication method): no peer bytes in them
_OWN_CODES = frozenset({2026, 2059, 2061})
_KINDS = (("connection refused", "connection refused"), ("timed out", "timed out"),
          ("no route to host", "unreachable"), ("network is unreachable", "unreachable"))


def connect_reason(exc: BaseException, config: dict[str, Any]) -> str:
    """Why a connection failed, in words that never quote a peer's bytes: the server's own
    error when it spoke MySQL (access denied, unknown database: codes below 2000), else the
    kind of failure (refused, timed out, not a MySQL server). PyMySQL's client errors
    (packet sequence numbers, short packets) describe what a foreign peer sent."""
    code = _code(exc) if isinstance(exc, pymysql.err.MySQLError) else None
    if code is not None and code < 2000:
        return _reason(exc, config)
    low = str(exc).lower()
    for words, kind in _KINDS:
        if words in low:
            return kind
    if isinstance(exc, pymysql.err.MySQLError) and code in _OWN_CODES:
        return _reason(exc, config)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return NOT_MYSQL


def _raise(exc: BaseException, config: dict[str, Any], connecting: bool) -> None:
    if connecting:
        raise ConnectionFailed(SYSTEM, str(config.get("host")), config.get("port"),
                               connect_reason(exc, config)) from exc
    reason = _reason(exc, config)
    code = _code(exc)
    lowered = reason.lower()
    if code in RETRYABLE_CODES or (code is None and any(w in lowered for w in _IO_WORDS)):
        raise Retryable(f"{SYSTEM}: {reason}") from exc
    raise Fatal(f"{SYSTEM}: {reason}") from exc

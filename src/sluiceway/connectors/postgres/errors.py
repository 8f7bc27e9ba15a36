"""Turn psycopg and ADBC errors into Sluiceway's error tree, at one boundary.

psycopg is not imported here: the source reads through ADBC only, and importing psycopg
costs about 0.2 CPU-seconds a process. A psycopg error can only come from code that
imported it, so it is looked up among the loaded modules when an exception passes.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import Any

import adbc_driver_manager

from sluiceway.core.errors import ConnectionFailed, Fatal, Retryable, SluicewayError

_RETRYABLE_SQLSTATES = ("08", "40", "53", "57P")


#: what libpq says before its reason, and ADBC before libpq
_PREFIX = re.compile(r'^(?:.*?Failed to connect: )?(?:connection failed: )?'
                     r'(?:connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ failed: )?',
                     re.IGNORECASE)
#: libpq reasons that quote, or stand for, what a peer that is no PostgreSQL server sent
_NOT_POSTGRES = ("received", "invalid response", "expected authentication",
                 "unexpected", "closed the connection", "protocol")
_KINDS = (("connection refused", "connection refused"), ("timeout expired", "timed out"),
          ("timed out", "timed out"), ("could not translate host name", "name not resolved"),
          ("no route to host", "unreachable"), ("network is unreachable", "unreachable"))
#: libpq's own words (no peer bytes): kept as they are
_OWN_WORDS = ("fatal:", "password", "fe_sendauth", "ssl", "certificate", "gss", "scram",
              "authentication")


def connect_reason(exc: BaseException, config: dict[str, Any]) -> str:
    """Why a connection failed, in words that never quote a peer's bytes: the server's own
    message when it spoke PostgreSQL (``database "x" does not exist``), else the kind of
    failure (refused, timed out, name not resolved, not a PostgreSQL server)."""
    text = _PREFIX.sub("", _reason(exc, config))
    low = text.lower()
    if "fatal:" not in low and any(w in low for w in _NOT_POSTGRES):
        return NOT_POSTGRES
    for words, kind in _KINDS:
        if words in low:
            return kind
    if any(w in low for w in _OWN_WORDS):
        return re.sub(r"^FATAL:\s*", "", text).strip()
    return NOT_POSTGRES


NOT_POSTGRES = "did not answer as a PostgreSQL server"


def _reason(exc: BaseException, config: dict[str, Any]) -> str:
    text = str(exc).strip().splitlines()
    msg = " ".join(line.strip() for line in text if line.strip())
    pw = config.get("password")
    if pw:
        msg = msg.replace(str(pw), "**********")
    return msg or type(exc).__name__


def _psycopg() -> Any:
    """The psycopg module when something has imported it, else None."""
    return sys.modules.get("psycopg")


def _driver_errors() -> tuple[type[BaseException], ...]:
    psycopg = _psycopg()
    extra: tuple[type[BaseException], ...] = (psycopg.Error,) if psycopg is not None else ()
    return (adbc_driver_manager.Error, *extra)


@contextlib.contextmanager
def translate(config: dict[str, Any], *, connecting: bool = False) -> Iterator[None]:
    """Wrap driver calls: connection problems become ConnectionFailed, passing faults
    Retryable, anything else Fatal; the original is chained."""
    try:
        yield
    except SluicewayError:
        raise
    except _driver_errors() as exc:
        if connecting:
            raise ConnectionFailed("PostgreSQL", str(config.get("host")),
                                   config.get("port"), connect_reason(exc, config)) from exc
        _raise(exc, config)


def _raise(exc: BaseException, config: dict[str, Any]) -> None:
    psycopg = _psycopg()
    if isinstance(exc, adbc_driver_manager.OperationalError) or (
            psycopg is not None and isinstance(exc, psycopg.OperationalError)):
        raise Retryable(f"PostgreSQL: {_reason(exc, config)}") from exc
    if psycopg is not None and isinstance(exc, psycopg.Error):
        state = getattr(exc, "sqlstate", None) or ""
        if state.startswith(_RETRYABLE_SQLSTATES):
            raise Retryable(f"PostgreSQL: {_reason(exc, config)}") from exc
    raise Fatal(f"PostgreSQL: {_reason(exc, config)}") from exc

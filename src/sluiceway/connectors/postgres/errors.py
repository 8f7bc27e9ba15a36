"""Turn psycopg and ADBC errors into Sluiceway's error tree, at one boundary."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import adbc_driver_manager
import psycopg

from sluiceway.core.errors import ConnectionFailed, Fatal, Retryable, SluicewayError

_RETRYABLE_SQLSTATES = ("08", "40", "53", "57P")


def _reason(exc: BaseException, config: dict[str, Any]) -> str:
    text = str(exc).strip().splitlines()
    msg = " ".join(line.strip() for line in text if line.strip())
    pw = config.get("password")
    if pw:
        msg = msg.replace(str(pw), "**********")
    return msg or type(exc).__name__


@contextlib.contextmanager
def translate(config: dict[str, Any], *, connecting: bool = False) -> Iterator[None]:
    """Wrap driver calls: connection problems become ConnectionFailed, passing faults
    Retryable, anything else Fatal; the original is chained."""
    try:
        yield
    except SluicewayError:
        raise
    except (psycopg.OperationalError, adbc_driver_manager.OperationalError) as exc:
        if connecting:
            raise ConnectionFailed("PostgreSQL", str(config.get("host")),
                                   config.get("port"), _reason(exc, config)) from exc
        raise Retryable(f"PostgreSQL: {_reason(exc, config)}") from exc
    except psycopg.Error as exc:
        state = getattr(exc, "sqlstate", None) or ""
        if state.startswith(_RETRYABLE_SQLSTATES):
            raise Retryable(f"PostgreSQL: {_reason(exc, config)}") from exc
        raise Fatal(f"PostgreSQL: {_reason(exc, config)}") from exc
    except adbc_driver_manager.Error as exc:
        raise Fatal(f"PostgreSQL: {_reason(exc, config)}") from exc

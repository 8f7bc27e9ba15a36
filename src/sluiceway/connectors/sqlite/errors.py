"""Turn sqlite3 errors into Sluiceway's error tree, at one boundary."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from sluiceway.core.errors import ConnectionFailed, Fatal, Retryable, SluicewayError

_PASSING = ("database is locked", "database table is locked", "busy")


def _reason(exc: BaseException) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


@contextlib.contextmanager
def translate(path: str, *, connecting: bool = False) -> Iterator[None]:
    """Wrap sqlite3 calls: a file that cannot be opened (or is no database) becomes
    ConnectionFailed, a lock held too long Retryable, anything else Fatal."""
    try:
        yield
    except SluicewayError:
        raise
    except sqlite3.Error as exc:
        reason = _reason(exc)
        if connecting:
            raise ConnectionFailed("SQLite", path, None, reason) from exc
        if isinstance(exc, sqlite3.OperationalError) and any(
                p in reason.lower() for p in _PASSING):
            raise Retryable(f"SQLite: {reason}") from exc
        raise Fatal(f"SQLite: {reason}") from exc

"""Turn DuckDB errors into Sluiceway's error tree, at one boundary."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb

from sluiceway.core.errors import ConnectionFailed, Fatal, Retryable, SluicewayError


def _reason(exc: BaseException) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


@contextlib.contextmanager
def translate(path: str, *, connecting: bool = False) -> Iterator[None]:
    """Wrap driver calls: a file that cannot be opened becomes ConnectionFailed, a write
    conflict or a lock held by another process Retryable, anything else Fatal."""
    try:
        yield
    except SluicewayError:
        raise
    except (duckdb.IOException, duckdb.ConnectionException) as exc:
        if connecting:
            raise ConnectionFailed("DuckDB", path, None, _reason(exc)) from exc
        raise Retryable(f"DuckDB: {_reason(exc)}") from exc
    except duckdb.TransactionException as exc:
        raise Retryable(f"DuckDB: {_reason(exc)}") from exc
    except duckdb.Error as exc:
        raise Fatal(f"DuckDB: {_reason(exc)}") from exc

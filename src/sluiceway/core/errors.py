"""One error tree, grouped by what the caller does next.

    SluicewayError
    ├── InvalidInput          the caller sent something wrong: fix the input (HTTP 4xx, exit 2)
    │   ├── ConfigInvalid     a connector config breaks its spec (one entry per bad field)
    │   ├── UnknownStream     a stream name that the source does not have
    │   └── TooLarge          a request body past its limit (HTTP 413)
    ├── NotFound              an object that does not exist (HTTP 404)
    ├── Conflict              the request clashes with current state (HTTP 409)
    ├── Forbidden             known caller, refused (a wrong password: HTTP 403)
    ├── TooManyRequests       the caller has enough running: retry after a while (HTTP 429)
    │   └── TooManyAttempts   too many failed logins: wait ``retry_after`` s
    ├── ConnectorError        a system we talk to refused or failed
    │   ├── ConnectionFailed  unreachable or refused server (host, port, the server's reason)
    │   └── Retryable         a passing fault: retry from the last checkpoint
    ├── Cancelled             someone asked the run to stop
    └── Fatal                 the run cannot go on; retrying will not help
        ├── SchemaChangeError an incompatible column change between syncs
        ├── RecordRejected    the data itself is bad (file and line, or stream and row)
        └── DataLossError     a check found fewer rows written than read

The engine and the job runner decide by class, never by message text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class SluicewayError(Exception):
    """Root of every error Sluiceway raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # crosses process boundaries whole (class and attributes), whatever its __init__ takes
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[SluicewayError], args: tuple[Any, ...],
             attrs: dict[str, Any]) -> SluicewayError:
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(attrs)
    return exc


@dataclass(frozen=True)
class FieldError:
    """One offending field: a dotted path, what was wrong, and (optionally) the value seen."""

    path: str
    reason: str
    value: object = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.reason}"


class InvalidInput(SluicewayError):
    """The caller sent something wrong; ``errors`` lists each offending field."""

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        self.errors = list(errors or [])
        if self.errors:
            message = message + ": " + "; ".join(str(e) for e in self.errors)
        super().__init__(message)


class ConfigInvalid(InvalidInput):
    """A connector configuration does not satisfy the connector's spec."""


class UnknownStream(InvalidInput):
    """A stream was named that the source does not offer."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = available
        shown = ", ".join(sorted(available)[:20]) or "none"
        super().__init__(
            f"unknown stream {name!r}",
            [FieldError("streams.name", f"{name!r} does not exist; available: {shown}", name)],
        )


class TooLarge(InvalidInput):
    """A request body is larger than the server takes; ``limit`` is the most, in bytes,
    and ``setting`` the setting that raises it."""

    def __init__(self, what: str, limit: int, setting: str) -> None:
        self.limit = limit
        self.setting = setting
        super().__init__(f"{what} is larger than {limit} bytes (the server's {setting})",
                         [FieldError("body", f"must be at most {limit} bytes")])


class NotFound(SluicewayError):
    """An object does not exist (or is not visible to the caller: the same answer)."""

    def __init__(self, message: str, id: str | None = None) -> None:  # noqa: A002
        super().__init__(message)
        self.id = id


class Conflict(SluicewayError):
    """The request clashes with the current state of an object."""


class Forbidden(SluicewayError):
    """The caller is known but may not do this (a wrong password of a protected file)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TooManyRequests(SluicewayError):
    """The caller already runs as many of these calls as allowed; retry after a while."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooManyAttempts(TooManyRequests):
    """Refused for now without looking at the credentials: try again in ``retry_after``
    seconds (failed logins are throttled per user name and per client address)."""


class ConnectorError(SluicewayError):
    """A system we talk to refused or failed."""


class ConnectionFailed(ConnectorError):
    """A server could not be reached or refused us."""

    def __init__(self, system: str, host: str, port: int | None, reason: str) -> None:
        self.system = system
        self.host = host
        self.port = port
        self.reason = reason
        where = f"{host}:{port}" if port else host
        super().__init__(f"cannot connect to {system} at {where}: {reason}")


class Retryable(ConnectorError):
    """A passing fault (lost connection, deadlock, timeout): retry from the last checkpoint."""


class Cancelled(SluicewayError):
    """The run was asked to stop."""


class Fatal(SluicewayError):
    """The run cannot go on and retrying will not help."""


class SchemaChangeError(Fatal):
    """A column changed in a way the destination cannot follow."""

    def __init__(self, stream: str, column: str, old_type: str, new_type: str) -> None:
        self.stream = stream
        self.column = column
        self.old_type = old_type
        self.new_type = new_type
        super().__init__(
            f"stream {stream!r}: column {column!r} changed from {old_type} to {new_type}, "
            "which cannot be widened; drop or rename the destination table (or run a "
            "full_refresh+overwrite sync) to accept the new type"
        )


class RecordRejected(Fatal):
    """The data itself is bad: the message names where (file and line, or stream and row)."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class DataLossError(Fatal):
    """A verification found that the destination did not receive every record read."""

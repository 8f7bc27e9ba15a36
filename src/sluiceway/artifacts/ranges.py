"""The HTTP ``Range`` header for artifact downloads: ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``.

Several ranges (``bytes=0-9,20-29``) are answered with one range only: the first satisfiable
one, sent as a plain ``206`` with its ``Content-Range`` (RFC 9110 lets a server answer a
multi-range request with fewer parts). Every range in the header must still be well formed.
"""

from __future__ import annotations

import re

from sluiceway.core.errors import FieldError, InvalidInput

_SPEC = re.compile(r"([0-9]{0,40})-([0-9]{0,40})", re.ASCII)


class RangeNotSatisfiable(InvalidInput):
    """The Range header is malformed or asks for bytes the file does not have (HTTP 416).

    ``size`` is the file's size, for the ``Content-Range: bytes */<size>`` of the answer.
    """

    def __init__(self, size: int, header: str | None = None, reason: str | None = None) -> None:
        self.size = size
        self.header = header
        super().__init__("range not satisfiable", [FieldError(
            "Range", reason or f"no requested byte lies within the {size} bytes of the file",
            header,
        )])


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """First and last byte (inclusive) asked for by ``header`` in a file of ``size`` bytes.

    None when there is no header (or it is blank): send the whole file with 200. Raises
    :class:`RangeNotSatisfiable` for a malformed header, a unit other than ``bytes``, or ranges
    that all lie beyond the end of the file (an empty file satisfies none).
    """
    if header is None or not header.strip():
        return None
    unit, eq, specs = header.partition("=")
    if not eq or unit.strip().lower() != "bytes":
        raise RangeNotSatisfiable(size, header, "must look like 'bytes=<first>-<last>'")
    parsed = [_parse_spec(spec.strip(), size, header) for spec in specs.split(",")]
    for found in parsed:
        if found is not None:
            return found
    raise RangeNotSatisfiable(size, header)


def _parse_spec(spec: str, size: int, header: str) -> tuple[int, int] | None:
    """One range spec resolved against ``size``; None when it is well formed but unsatisfiable."""
    match = _SPEC.fullmatch(spec)
    if match is None or match.group(1) == match.group(2) == "":
        raise RangeNotSatisfiable(size, header, f"malformed range {spec!r}")
    first, last = match.group(1), match.group(2)
    if first == "":  # suffix: the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            return None
        return max(0, size - n), size - 1
    start = int(first)
    if last != "" and int(last) < start:
        raise RangeNotSatisfiable(size, header, f"range {spec!r} ends before it starts")
    if start >= size:
        return None
    end = size - 1 if last == "" else min(int(last), size - 1)
    return start, end

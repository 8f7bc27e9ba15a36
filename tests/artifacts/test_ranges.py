"""The HTTP Range header: single, open-ended and suffix ranges; 416 for the rest."""

from __future__ import annotations

import pytest

from sluiceway.artifacts import RangeNotSatisfiable, parse_range
from sluiceway.core.errors import InvalidInput

SIZE = 10


@pytest.mark.parametrize(("header", "size", "expected"), [
    (None, SIZE, None),
    ("", SIZE, None),
    ("bytes=0-0", SIZE, (0, 0)),
    ("bytes=0-9", SIZE, (0, 9)),
    ("bytes=2-4", SIZE, (2, 4)),
    ("bytes=5-", SIZE, (5, 9)),
    ("bytes=9-", SIZE, (9, 9)),
    ("bytes=-1", SIZE, (9, 9)),
    ("bytes=-3", SIZE, (7, 9)),
    ("bytes=-100", SIZE, (0, 9)),          # suffix longer than the file: the whole file
    ("bytes=3-100", SIZE, (3, 9)),         # end beyond the file: clipped
    ("Bytes = 1-2", SIZE, (1, 2)),         # unit is case-insensitive, spaces tolerated
    ("bytes=1-2,5-6", SIZE, (1, 2)),       # several ranges: the first one only
    ("bytes=50-60,5-6", SIZE, (5, 6)),     # ...the first that can be satisfied
    ("bytes=0-0", 1, (0, 0)),
])
def test_parse_range_gives_first_and_last_byte(header: str | None, size: int,
                                               expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [
    ("bytes=9-3", SIZE),        # ends before it starts
    ("bytes=100-", SIZE),       # starts beyond the end
    ("bytes=10-", SIZE),        # starts just past the last byte
    ("bytes=10-20", SIZE),
    ("bytes=-0", SIZE),         # an empty suffix
    ("bytes=0-", 0),            # an empty file satisfies no range
    ("bytes=-5", 0),
    ("items=0-1", SIZE),        # another unit
    ("bytes 0-1", SIZE),        # no '='
    ("bytes=", SIZE),
    ("bytes=-", SIZE),
    ("bytes=a-b", SIZE),
    ("bytes=1-2-3", SIZE),
    ("bytes=+1-2", SIZE),
    ("bytes=0x1-2", SIZE),
    ("bytes=\u0661-2", SIZE),   # an Arabic-Indic digit is not an ASCII digit
    ("bytes=0-1,junk", SIZE),   # every range must be well formed
    ("bytes=100-200,300-", SIZE),
])
def test_parse_range_refuses_unsatisfiable_or_malformed_ranges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as err:
        parse_range(header, size)
    assert err.value.size == size
    assert isinstance(err.value, InvalidInput)
    assert [e.path for e in err.value.errors] == ["Range"]
    assert err.value.errors[0].value == header

"""Reading a token's ``--expires``: spans from now, ISO dates and times, clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sluiceway.core.errors import InvalidInput
from sluiceway.services.auth import parse_expiry

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("text", "expected"), [
    ("30d", NOW + 30 * 86400),
    ("12h", NOW + 12 * 3600),
    ("90m", NOW + 90 * 60),
    ("2w", NOW + 14 * 86400),
    ("45s", NOW + 45),
    (" 7D ", NOW + 7 * 86400),
    ("2030-02-01", datetime(2030, 2, 1, tzinfo=UTC).timestamp()),
    ("2030-01-01T13:30:00", datetime(2030, 1, 1, 13, 30, tzinfo=UTC).timestamp()),
    ("2030-01-01T14:00:00+01:00", datetime(2030, 1, 1, 13, 0, tzinfo=UTC).timestamp()),
], ids=["days", "hours", "minutes", "weeks", "seconds", "spaces-and-case", "date",
        "naive-time-is-utc", "offset"])
def test_parse_expiry_reads_spans_and_iso_times(text: str, expected: float) -> None:
    assert parse_expiry(text, NOW) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("soon", "neither a span"),
    ("30x", "neither a span"),
    ("0d", "must be > 0"),
    ("2029-12-31", "lies in the past"),
    ("2030-01-01T11:59:59Z", "lies in the past"),
    ("2030-13-01", "neither a span"),
], ids=["word", "unknown-unit", "zero", "past-date", "past-time", "no-such-month"])
def test_parse_expiry_refuses_naming_the_option(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_expiry(text, NOW)
    (error,) = caught.value.errors
    assert error.path == "expires"
    assert reason in error.reason

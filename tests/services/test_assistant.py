"""Cron expressions from common phrases, checked by a real cron parser."""

from __future__ import annotations

import datetime as dt

import pytest
from croniter import croniter

from sluiceway.core.errors import InvalidInput
from sluiceway.services import assistant


@pytest.mark.parametrize(("prompt", "expression"), [
    ("every 5 minutes", "*/5 * * * *"),
    ("Every minute", "* * * * *"),
    ("every 2 hours", "0 */2 * * *"),
    ("hourly", "0 * * * *"),
    ("daily at 02:30", "30 2 * * *"),
    ("every day at 3pm", "0 15 * * *"),
    ("weekdays at 9", "0 9 * * 1-5"),
    ("weekends at noon", "0 12 * * 0,6"),
    ("every Monday at 10:00", "0 10 * * 1"),
    ("every Monday and Friday at 7:15 am", "15 7 * * 1,5"),
    ("on the 1st of each month", "0 0 1 * *"),
    ("on the 15th of every month at 23:45", "45 23 15 * *"),
    ("daily", "0 0 * * *"),
    ("at midnight", "0 0 * * *"),
    ("*/10 * * * 1-5", "*/10 * * * 1-5"),
])
def test_common_phrases_become_valid_cron_expressions(prompt: str, expression: str) -> None:
    answer = assistant.cron_expression(prompt)
    assert (answer.expression, answer.valid, answer.error) == (expression, True, None)
    assert croniter.is_valid(answer.expression)


def test_the_expression_fires_when_the_phrase_says() -> None:
    expression = assistant.cron_expression("weekdays at 9").expression
    start = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)  # a Saturday
    assert croniter(expression, start).get_next(dt.datetime) == dt.datetime(
        2026, 12, 7, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("prompt", ["when the moon is full", "every 75 minutes",
                                    "daily at 25:00", "61 * * * *",
                                    "on the 40th of each month"])
def test_what_is_not_a_schedule_says_so_without_an_expression_that_would_run(
        prompt: str) -> None:
    answer = assistant.cron_expression(prompt)
    assert answer.valid is False
    assert answer.error


def test_an_empty_or_long_prompt_is_refused_naming_the_field() -> None:
    for prompt in ("", "x" * 256):
        with pytest.raises(InvalidInput) as caught:
            assistant.cron_expression(prompt)
        assert caught.value.errors[0].path == "prompt"

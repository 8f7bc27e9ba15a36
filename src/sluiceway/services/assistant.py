"""The AI helpers (#1-3) without a model: common schedule phrases turned into cron
expressions by a fixed grammar, and any expression checked by a real cron parser (croniter).
Generating code or test data needs a model provider; none is configured in this server, and
:data:`PROVIDER` says so (the face answers 501)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from croniter import croniter

from sluiceway.core.errors import FieldError, InvalidInput

#: the configured model provider: none (code and test-data generation answer 501)
PROVIDER: str | None = None
NO_PROVIDER = ("no AI model provider is configured on this server, so it cannot generate "
               "code or data from a prompt; cron expressions (POST /ai/cron_expression) "
               "need none")

_DAYS = {"sunday": 0, "sun": 0, "monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "tues": 2,
         "wednesday": 3, "wed": 3, "thursday": 4, "thu": 4, "thur": 4, "thurs": 4,
         "friday": 5, "fri": 5, "saturday": 6, "sat": 6}
_TIME = re.compile(r"\b(?:at\s+)?(noon|midnight|(\d{1,2})(?::(\d{2}))?\s*(am|pm)?)\b")
_EXAMPLES = ("every 5 minutes, hourly, daily at 02:30, weekdays at 9, every Monday at "
             "10:00, on the 1st of each month")


@dataclass(frozen=True)
class CronAnswer:
    expression: str
    valid: bool
    error: str | None


def is_valid(expression: str) -> bool:
    """Whether ``expression`` is a cron expression of 5 fields that croniter accepts."""
    return len(expression.split()) == 5 and bool(croniter.is_valid(expression))


def _time(text: str) -> tuple[int, int] | None:
    """(hour, minute) of the first time in ``text`` after "at" (or a bare hh:mm / 9am)."""
    for m in _TIME.finditer(text):
        word, hour, minute, half = m.groups()
        if word == "noon":
            return 12, 0
        if word == "midnight":
            return 0, 0
        at = m.group(0).startswith("at")
        if not (at or minute or half):
            continue  # a bare number ("every 5 minutes", "the 1st") is not a time
        h, mi = int(hour), int(minute or 0)
        if half == "pm" and h < 12:
            h += 12
        if half == "am" and h == 12:
            h = 0
        if h > 23 or mi > 59:
            raise ValueError(f"{m.group(0).strip()!r} is not a time of day")
        return h, mi
    return None


def _days(text: str) -> str | None:
    if re.search(r"\bweekdays?\b|\bworking days?\b|\bbusiness days?\b|monday\s*(?:to|-|through)"
                 r"\s*friday", text):
        return "1-5"
    if re.search(r"\bweekends?\b", text):
        return "0,6"
    found = sorted({n for name, n in _DAYS.items()
                    if re.search(rf"\b{name}s?\b", text)})
    return ",".join(str(n) for n in found) or None


def phrase_to_cron(prompt: str) -> str:
    """A cron expression for a common phrase; ``ValueError`` saying why when none fits."""
    text = " ".join(prompt.lower().replace(",", " ").split())
    if is_valid(text):
        return text
    every = re.search(r"\bevery\s+(\d+)\s*(minute|min|hour|hr)s?\b", text)
    if every:
        n, unit = int(every.group(1)), every.group(2)
        if unit.startswith("m"):
            if not 1 <= n <= 59:
                raise ValueError("minutes between runs must be 1 to 59")
            return "* * * * *" if n == 1 else f"*/{n} * * * *"
        if not 1 <= n <= 23:
            raise ValueError("hours between runs must be 1 to 23")
        return f"0 */{n} * * *" if n > 1 else "0 * * * *"
    if re.search(r"\bevery\s+minute\b|\bminutely\b", text):
        return "* * * * *"
    if re.search(r"\bevery\s+hour\b|\bhourly\b", text):
        return "0 * * * *"
    at = _time(text)
    hour, minute = at if at is not None else (0, 0)
    monthday = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:day\s+)?of\s+(?:each|every|the)"
                         r"\s+month\b|\bmonthly\s+on\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\b",
                         text)
    if monthday:
        day = int(monthday.group(1) or monthday.group(2))
        if not 1 <= day <= 31:
            raise ValueError("a day of the month is 1 to 31")
        return f"{minute} {hour} {day} * *"
    if re.search(r"\bmonthly\b|\bevery\s+month\b", text):
        return f"{minute} {hour} 1 * *"
    days = _days(text)
    if days is not None:
        return f"{minute} {hour} * * {days}"
    if at is not None or re.search(r"\bdaily\b|\bevery\s+day\b|\beach\s+day\b|\bnightly\b",
                                   text):
        return f"{minute} {hour} * * *"
    raise ValueError(f"no schedule recognised; try phrases such as: {_EXAMPLES}")


def cron_expression(prompt: str) -> CronAnswer:
    """#3: the prompt (a phrase or an expression) as a cron expression, and whether it is
    valid."""
    if not prompt.strip() or len(prompt) > 255:
        raise InvalidInput("invalid prompt", [FieldError(
            "prompt", "must be 1 to 255 characters", prompt[:50])])
    try:
        expression = phrase_to_cron(prompt)
    except ValueError as exc:
        return CronAnswer("", False, str(exc))
    if not is_valid(expression):
        return CronAnswer(expression, False, "not a valid cron expression")
    return CronAnswer(expression, True, None)

"""The family's wire vocabulary on the way in: its list parameters (camelCase), its times
(RFC 3339) and the names of its fields in errors."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sluiceway.api.inputs import bool_param, int_param
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import backups
from sluiceway.services.listing import BadQuery

SORT_ORDERS = ("oldestFirst", "newestFirst")
_FLAGS = {"withExportsOnly": "with_exports_only", "runningRestoresOnly":
          "running_restores_only", "runningBackupsOnly": "running_backups_only"}


@dataclass(frozen=True)
class Page:
    """The listing asked for, and the page numbers the family answers in its headers."""

    query: backups.ListQuery

    @property
    def page(self) -> int:
        return self.query.skip // self.query.limit + 1




def list_query(params: Mapping[str, str]) -> Page:
    """The list parameters of the family; a bad value is refused naming the parameter.

    ``limit`` is 1 to 10,000 (default 1000); ``skip`` wins over ``page`` (1-based; 0 is
    taken as the first page, as the family's schema allows it)."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {}

    def take(name: str, fn: Callable[..., Any], *args: Any) -> None:
        if name in params:
            try:
                values[name] = fn(name, params[name], *args)
            except BadQuery as exc:
                errors.extend(exc.errors)

    take("limit", int_param, 1, backups.MAX_LIMIT)
    take("skip", int_param, 0, 10**9)
    take("page", int_param, 0, 10**9)
    for flag in _FLAGS:
        take(flag, bool_param)
    order = params.get("sortOrder", "oldestFirst")
    if order not in SORT_ORDERS:
        errors.append(FieldError("sortOrder", f"must be one of {', '.join(SORT_ORDERS)}",
                                 order))
    if errors:
        raise BadQuery("invalid query", errors)
    limit = int(values.get("limit", 1000))
    if "skip" in values:
        skip = int(values["skip"])
    else:
        skip = (max(int(values.get("page", 1)), 1) - 1) * limit
    flags = {ours: bool(values.get(theirs, False)) for theirs, ours in _FLAGS.items()}
    return Page(backups.ListQuery(search_term=params.get("searchTerm") or None,
                                  newest_first=order == "newestFirst", limit=limit,
                                  skip=skip, **flags))


def time(field: str, text: str | None) -> float | None:
    """Epoch seconds from an RFC 3339 time (UTC when it has no zone); None stays None."""
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput("invalid backup", [FieldError(
            field, "must be a date-time such as 2030-01-31T12:00:00Z", text)]) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


_SNAKE = re.compile(r"_([a-z0-9])")


def _camel(path: str) -> str:
    """``path_restore.source_paths[0]`` -> ``pathRestore.sourcePaths[0]``."""
    return _SNAKE.sub(lambda m: m.group(1).upper(), path)


@contextmanager
def field_names() -> Iterator[None]:
    """Errors of the backup service name the family's fields: the service's inputs are the
    family's fields in snake_case."""
    try:
        yield
    except InvalidInput as exc:
        if type(exc) is not InvalidInput or not exc.errors:
            raise
        # the message is "<what>: <field>: <reason>; ...", written again with the new names
        raise InvalidInput(exc.message.partition(": ")[0], [
            replace(e, path=_camel(e.path)) for e in exc.errors]) from None

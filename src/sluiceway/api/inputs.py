"""What every request body of every family must satisfy, enforced in one place.

Request models derive from :class:`RequestModel`: each of their fields, however deep
(a connector configuration, a filter, a dump config), is refused when it holds a string with
a NUL character or a lone UTF-16 surrogate (neither can be stored or sent back as UTF-8), or
a number that is not finite (JSON's ``NaN``, ``Infinity``). Bodies that are not a model
annotate themselves with :data:`Checked`. The constrained types below give the same lengths
to a name or a description on every face; :data:`Int64` bounds integers that reach a 64-bit
column.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from sluiceway.core.errors import FieldError
from sluiceway.services.listing import BadQuery

#: the metadata columns of names (workspaces, definitions, sources, destinations, connections)
#: hold 255 characters
MAX_NAME = 255
MAX_DESCRIPTION = 64_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

T = TypeVar("T")


def _where(path: str) -> str:
    return f" (at {path})" if path else ""


def text_problem(value: object) -> str | None:
    """Why ``value`` (any JSON value) cannot be accepted, or None. Walks without recursion:
    a deeply nested body costs no stack."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "must not contain NUL characters" + _where(path)
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "must be valid Unicode (no lone surrogate)" + _where(path)
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "must be a finite number" + _where(path)
        elif isinstance(item, dict):
            for k, v in item.items():
                key = str(k)
                stack.append((key, f"{path}.{key}".lstrip(".") + " (the key)"))
                stack.append((v, f"{path}.{key}".lstrip(".")))
        elif isinstance(item, list | tuple):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(item))
    return None


def check_text(value: T) -> T:
    """A pydantic after-validator: ``value`` unchanged, or an error saying what is wrong."""
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError("invalid_text", "{reason}", {"reason": problem})
    return value


#: for a body or parameter that is not a :class:`RequestModel` (``Annotated[Any, Checked]``)
Checked = AfterValidator(check_text)

Name = Annotated[str, Field(max_length=MAX_NAME)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION)]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]


class RequestModel(BaseModel):
    """Base of every request body: every field passes :func:`check_text`."""

    @field_validator("*")
    @classmethod
    def _checked(cls, value: Any) -> Any:
        if isinstance(value, BaseModel):
            return value  # a nested model checks its own fields
        return check_text(value)


def int_param(name: str, text: str, low: int, high: int) -> int:
    """A query parameter's integer between ``low`` and ``high``, or :class:`BadQuery`
    naming the parameter."""
    try:
        value = int(text)
    except ValueError:
        raise BadQuery("invalid query", [FieldError(name, "must be an integer", text)]
                       ) from None
    if not low <= value <= high:
        raise BadQuery("invalid query", [FieldError(
            name, f"must be between {low} and {high}", text)])
    return value


def bool_param(name: str, text: str) -> bool:
    """A query parameter's boolean (``true``/``false``/``1``/``0``), or :class:`BadQuery`."""
    if text.lower() not in ("true", "false", "1", "0"):
        raise BadQuery("invalid query", [FieldError(name, "must be true or false", text)])
    return text.lower() in ("true", "1")

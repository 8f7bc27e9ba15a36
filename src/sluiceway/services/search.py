"""One search across a space (the Alumio face's ``/search``, #83): its configurations
(storages among them), tasks and environment variables.

``query`` is free text and ``field:value`` terms. Each word must appear (any case) in the
name or the identifier of a configuration, in the route or the entity identifier of a task
(or be the task's number), or in the name or the description of a variable; a term narrows
one kind: ``type:``, ``prototype:``, ``identifier:``, ``name:``, ``disabled:`` for
configurations, ``route:``, ``status:``, ``entityIdentifier:`` and ``identifier:`` (its
number) for tasks and ``encrypted:`` for variables (a kind that lacks the field has no
match). ``filter`` gives each group its page (``limit``, ``skip``) and, for configurations,
its ``where`` and ``order`` (the fields of ``/di/configurations``); tasks come newest first.

What each group shows is what its own list shows the caller (variables' values as
:mod:`variables` decides), under the same policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from sluiceway.core.errors import FieldError
from sluiceway.services import configurations, criteria, policy, tasks, variables
from sluiceway.services.caller import Caller
from sluiceway.services.listing import BadQuery
from sluiceway.services.platform import Platform

CONFIGURATION_TERMS = ("type", "prototype", "identifier", "name", "disabled")
VARIABLE_TERMS = ("name", "encrypted")
TASK_TERMS = ("route", "status", "entityIdentifier", "identifier")


@dataclass(frozen=True)
class SearchResult:
    configurations: list[configurations.ConfigurationView]
    configurations_total: int
    variables: list[variables.VariableView]
    variables_total: int
    tasks: list[tasks.TaskView]
    tasks_total: int


def _terms(query: str) -> tuple[list[str], list[tuple[str, str]]]:
    words, terms = [], []
    for part in query.split():
        name, sep, value = part.partition(":")
        if sep and name and value and name.isalpha():
            known = {*CONFIGURATION_TERMS, *VARIABLE_TERMS, *TASK_TERMS}
            if name not in known:
                raise BadQuery("invalid search", [FieldError(
                    "query", f"unknown term {name!r}; terms are "
                    f"{', '.join(sorted(known))}", part)])
            terms.append((name, value))
        else:
            words.append(part)
    return words, terms


def _value(column: criteria.Column, value: str) -> object:
    if value in ("true", "false"):
        try:
            return column.parse(value == "true")
        except TypeError:
            pass
    try:
        return column.parse(value)
    except (TypeError, ValueError) as exc:
        raise BadQuery("invalid search", [FieldError("query", str(exc), value)]) from None


def _where(words: list[str], terms: list[tuple[str, str]], text_fields: tuple[str, ...],
           columns: dict[str, criteria.Column], extra: criteria.Group) -> criteria.Group | None:
    """The where of one group; None when a term names a field the group lacks."""
    parts: list[criteria.Cond | criteria.Group] = [extra]
    for word in words:
        parts.append(criteria.Group("or", tuple(
            criteria.Cond(f, "ilike", f"%{word}%") for f in text_fields)))
    for name, value in terms:
        if name not in columns:
            return None
        parts.append(criteria.Cond(name, "eq", _value(columns[name], value)))
    return criteria.Group("and", tuple(parts))


def search(p: Platform, caller: Caller, workspace_id: str, query: str,
           c: criteria.Criteria) -> SearchResult:
    policy.require(caller, policy.READ, workspace_id)
    words, terms = _terms(query)
    conf_where = _where(words, terms, ("name", "identifier"), configurations.COLUMNS, c.where)
    confs: tuple[list[configurations.ConfigurationView], int] = ([], 0)
    if conf_where is not None:
        confs = configurations.list_configurations(
            p, caller, workspace_id, criteria.Criteria(conf_where, c.order, c.limit, c.skip))
    var_where = _where(words, terms,
                       ("name", "description"), variables.COLUMNS, criteria.Group("and", ()))
    found: tuple[list[variables.VariableView], int] = ([], 0)
    if var_where is not None:
        found = variables.list_variables(p, caller, workspace_id,
                                         criteria.Criteria(var_where, (), c.limit, c.skip))
    return SearchResult(confs[0], confs[1], found[0], found[1],
                        *_tasks(p, caller, workspace_id, words, terms, c))


def _tasks(p: Platform, caller: Caller, workspace_id: str, words: list[str],
           terms: list[tuple[str, str]], c: criteria.Criteria,
           ) -> tuple[list[tasks.TaskView], int]:
    """The space's tasks the words and terms find (a term of another kind finds none)."""
    columns = {k: v for k, v in tasks.COLUMNS.items() if k in TASK_TERMS}
    parts: list[criteria.Cond | criteria.Group] = []
    for word in words:
        options: list[criteria.Cond | criteria.Group] = [
            criteria.Cond(f, "ilike", f"%{word}%") for f in ("route", "entityIdentifier")]
        if word.isascii() and word.isdigit() and len(word) <= 18:
            options.append(criteria.Cond("identifier", "eq", int(word)))
        parts.append(criteria.Group("or", tuple(options)))
    for name, value in terms:
        if name not in columns:
            return [], 0
        try:
            parts.append(criteria.Cond(name, "eq", _value(columns[name], value)))
        except BadQuery:  # identifier:orders names a configuration, not a task number
            return [], 0
    return tasks.list_tasks(p, caller, workspace_id, criteria.Criteria(
        criteria.Group("and", tuple(parts)), (("identifier", True),), c.limit, c.skip))

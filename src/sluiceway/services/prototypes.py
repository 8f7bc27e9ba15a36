"""Sluiceway's catalogue of configuration types and their prototypes
(:mod:`sluiceway.services.prototype_catalogue`), and the checks against it.

:func:`validate` checks a configuration's ``object`` (``{prototype, parameters}``) against
its prototype: a value holding a ``${NAME}`` reference is checked only when it runs (its
variable is resolved then), every other violation is a :class:`FieldError` at
``object.parameters.<path>``. :func:`references` finds the configurations a configuration
names; :func:`run_tests` runs the prototypes' test cases; :func:`platforms` lists the
systems the catalogue reaches.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft7Validator

from sluiceway.connectors import registry
from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.protocol.spec import MASK
from sluiceway.secrets import variables as refs
from sluiceway.services.prototype_catalogue import (
    NOT_OFFERED,
    REFERENCE,
    SCHEMA,
    Prototype,
    TestCase,
    Type,
    catalogue,
    one_of_reason,
)
from sluiceway.transforms import entities

__all__ = ["REFERENCE", "SCHEMA", "Prototype", "TestCase", "Type", "catalogue"]


def types() -> tuple[Type, ...]:
    return catalogue()


def get_type(identifier: str) -> Type:
    for t in catalogue():
        if t.identifier == identifier:
            return t
    known = ", ".join(t.identifier for t in catalogue())
    raise NotFound(f"type {identifier!r} not found; types are: {known}", identifier)


def check_type(identifier: str, path: str = "type") -> Type:
    """The type, or an :class:`InvalidInput` at ``path`` (for a body that names it)."""
    try:
        return get_type(identifier)
    except NotFound as exc:
        raise InvalidInput("unknown type", [FieldError(path, exc.message, identifier)]) from None


def get_prototype(type_identifier: str, identifier: str) -> Prototype:
    t = get_type(type_identifier)
    for p in t.prototypes:
        if p.identifier == identifier:
            return p
    raise NotFound(f"prototype {identifier!r} of type {type_identifier} not found", identifier)


def _holds_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(refs.names(value))


def violations(prototype: Prototype, parameters: Any,
               path: str = "object.parameters") -> list[FieldError]:
    """Each way ``parameters`` breaks the prototype's schema, at its dotted path; a value
    with a ``${NAME}`` reference is left to run time."""
    if not isinstance(parameters, dict):
        return [FieldError(path, "must be an object")]
    found = []
    for err in sorted(Draft7Validator(prototype.schema).iter_errors(parameters),
                      key=lambda e: [str(p) for p in e.absolute_path]):
        if _holds_reference(err.instance):
            continue
        where = ".".join([path, *(str(p) for p in err.absolute_path)])
        reason = err.message
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            where, reason = f"{where}.{missing}" if missing else where, "is required"
        elif err.validator == "oneOf":
            reason = "must match exactly one of the forms the prototype allows"
            if isinstance(err.instance, dict) and err.schema_path and list(
                    err.schema_path) == ["oneOf"]:
                reason = one_of_reason(prototype.schema)
        elif reason.startswith(repr(err.instance)):
            reason = reason[len(repr(err.instance)):].strip()
        shown: Any = None if isinstance(err.instance, dict | list) else err.instance
        if _secret_at(prototype, where, path):
            reason, shown = f"failed the '{err.validator}' rule", MASK
        found.append(FieldError(where, reason, shown))
    if not found and prototype.check is not None:
        found.extend(prototype.check(parameters))
    return found


def _secret_at(prototype: Prototype, where: str, base: str) -> bool:
    rel = tuple(where[len(base) + 1:].split(".")) if where.startswith(base + ".") else ()
    return any(rel[: len(p)] == p for p in prototype.spec.secret_paths() if p)


def validate(type_identifier: str, obj: Any) -> tuple[Prototype, dict[str, Any]]:
    """The prototype and the ``object`` to keep (``{prototype, parameters}``), or an
    :class:`InvalidInput` naming every violation."""
    t = check_type(type_identifier)
    if not isinstance(obj, dict):
        raise InvalidInput("invalid configuration", [FieldError("object", "must be an object "
                                                                "{prototype, parameters}")])
    errors = []
    unknown = sorted(set(obj) - {"prototype", "parameters"})
    if unknown:
        errors.append(FieldError(f"object.{unknown[0]}", "is not known; an object has a "
                                 "prototype and parameters"))
    name = obj.get("prototype", t.default_prototype)
    if not isinstance(name, str):
        raise InvalidInput("invalid configuration", [
            *errors, FieldError("object.prototype", "is required (one of "
                                f"{', '.join(p.identifier for p in t.prototypes)})")])
    prototype = t.prototype(name)
    parameters = obj.get("parameters", {})
    errors.extend(violations(prototype, parameters))
    if errors:
        raise InvalidInput("the configuration breaks its prototype's schema", errors)
    return prototype, {"prototype": prototype.identifier, "parameters": parameters}


@dataclass(frozen=True)
class Reference:
    """A configuration another one names: its type, identifier, and where it is named."""

    type: str
    identifier: str
    path: str


def references(prototype: Prototype, parameters: Any) -> list[Reference]:
    """The configurations ``parameters`` names (by the schema's ``x-reference`` marks)."""
    found: list[Reference] = []

    def walk(schema: Any, value: Any, path: str) -> None:
        if not isinstance(schema, dict):
            return
        target = schema.get(REFERENCE)
        if isinstance(target, str) and isinstance(value, str) and not refs.names(value):
            found.append(Reference(target, value, path))
            return
        if isinstance(value, dict):
            for key, sub in (schema.get("properties") or {}).items():
                if key in value:
                    walk(sub, value[key], f"{path}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(schema.get("items"), item, f"{path}.{i}")

    walk(prototype.schema, parameters, "object.parameters")
    return found


def matches(pattern: str, value: str) -> bool:
    """A ``*``/``?`` glob, as the prototype tests take them."""
    return fnmatch.fnmatchcase(value, pattern or "*")


# --- test cases ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TestOutcome:
    type: str
    identifier: str
    name: str
    parameters: dict[str, Any]
    #: what the case produced (the transformed entity, or the checked parameters)
    object: Any = None
    #: why it failed; ``None`` when it succeeded
    exception: str | None = None


def run_test(prototype: Prototype, case: TestCase,
             lookup: entities.Lookup | None = None) -> TestOutcome:
    def outcome(obj: Any = None, exception: str | None = None) -> TestOutcome:
        return TestOutcome(prototype.type, prototype.identifier, case.name, case.parameters,
                           obj, exception)

    bad = violations(prototype, case.parameters)
    if bad:
        return outcome(exception="; ".join(str(e) for e in bad))
    if prototype.type != "transformer" or prototype.identifier == "chain":
        return outcome(case.parameters)
    try:
        got = entities.compile_transformer(prototype.identifier, case.parameters,
                                           lookup)(case.entity)
    except InvalidInput as exc:
        return outcome(exception=exc.message)
    if case.skipped is not None:
        if isinstance(got, entities.Skipped) and got.reason == case.skipped:
            return outcome({"skipped": got.reason})
        return outcome(exception=f"expected the entity skipped ({case.skipped}), got {got!r}")
    if isinstance(got, entities.Skipped) or got != case.expected:
        return outcome(exception=f"expected {case.expected!r}, got {got!r}")
    return outcome(got)


def run_tests(type_pattern: str = "*", identifier_pattern: str = "*",
              per_prototype: int | None = None) -> list[TestOutcome]:
    """The test cases of every prototype whose type and identifier match the globs (at most
    ``per_prototype`` of each)."""
    out: list[TestOutcome] = []
    for t in catalogue():
        if not matches(type_pattern, t.identifier):
            continue
        for p in t.prototypes:
            if matches(identifier_pattern, p.identifier):
                out.extend(run_test(p, case) for case in p.tests[:per_prototype])
    return out


@dataclass(frozen=True)
class IntegrationPlatform:
    """A system Sluiceway can read from or write to (a connector, by name)."""

    identifier: str
    name: str
    vendor: str
    categories: tuple[str, ...]
    incoming: bool
    outgoing: bool


_CATEGORIES = {"file": ("files",), "sample": ("testing",), "http": ("api",)}


def platforms() -> list[IntegrationPlatform]:
    names: dict[str, list[registry.Entry]] = {}
    for e in registry.entries(route_only=True):
        if e.name not in NOT_OFFERED:
            names.setdefault(e.name, []).append(e)
    return [IntegrationPlatform(name, found[0].title, found[0].title,
                                _CATEGORIES.get(name, ("database",)),
                                any(e.kind == "source" for e in found),
                                any(e.kind == "destination" for e in found))
            for name, found in sorted(names.items())]

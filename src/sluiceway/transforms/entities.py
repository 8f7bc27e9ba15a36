"""Transformers over one entity (a JSON object), as a configuration of type ``transformer``
names them: ``set``, ``copy``, ``move``, ``remove``, ``rename``, ``jsonata``, ``filter``,
``hash``, ``mask`` and ``chain``.

Enters: a prototype identifier and its parameters (already checked against the prototype's
JSON Schema), and for ``chain`` a function that finds the named transformers. Leaves: a
callable from an entity to a new entity, or to :class:`Skipped` (with the reason) when a
filter drops it. The entity given is never changed. Keys are dotted paths (``customer.name``);
``a.0`` is the first item of the list ``a``.

JSONata expressions run through the ``jsonata-python`` library with a time and a depth bound,
so a runaway expression fails that entity instead of hanging the run.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonata

from sluiceway.core.errors import FieldError, InvalidInput

Entity = Any
MASK = "**********"
#: a JSONata expression's bounds: milliseconds and evaluation depth
JSONATA_TIMEOUT_MS = 2000
JSONATA_MAX_DEPTH = 500
FILTER_OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "is_null", "not_null",
              "contains", "starts_with")
PROTOTYPES = ("set", "copy", "move", "remove", "rename", "jsonata", "filter", "hash", "mask",
              "chain")


@dataclass(frozen=True)
class Skipped:
    """An entity a filter dropped, and why."""

    reason: str


Result = Entity | Skipped
Transformer = Callable[[Entity], Result]
#: finds a transformer by its configuration identifier (for ``chain``)
Lookup = Callable[[str], Transformer]


class TransformFailed(InvalidInput):
    """A transformer could not handle an entity (a JSONata error, a key that is not an
    object...); ``errors`` names the transformer's parameter."""


_MISSING = object()


def _parts(path: str) -> list[str]:
    return [p for p in path.split(".") if p != ""]


def get(entity: Entity, path: str, default: Any = _MISSING) -> Any:
    node = entity
    for part in _parts(path):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def put(entity: Entity, path: str, value: Any) -> None:
    """Set ``path`` in ``entity`` (in place), making objects on the way."""
    parts = _parts(path)
    if not parts:
        raise TransformFailed("cannot set the root", [FieldError("key", "must not be empty")])
    node = entity
    for part in parts[:-1]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise TransformFailed("cannot set a key", [FieldError(
                "key", f"{path!r} goes through a value that is not an object")])
        if not isinstance(node.get(part), dict | list):
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise TransformFailed("cannot set a key", [FieldError(
            "key", f"{path!r} goes through a value that is not an object")])


def pop(entity: Entity, path: str) -> Any:
    parts = _parts(path)
    parent = get(entity, ".".join(parts[:-1])) if len(parts) > 1 else entity
    if isinstance(parent, dict) and parts and parts[-1] in parent:
        return parent.pop(parts[-1])
    return _MISSING


def _copying(step: Callable[[Entity], None]) -> Transformer:
    def run(entity: Entity) -> Result:
        out = copy.deepcopy(entity)
        step(out)
        return out
    return run


def _set(p: Mapping[str, Any]) -> Transformer:
    values: dict[str, Any] = dict(p["values"])

    def step(e: Entity) -> None:
        for key, value in values.items():
            put(e, key, copy.deepcopy(value))
    return _copying(step)


def _copy(p: Mapping[str, Any]) -> Transformer:
    def step(e: Entity) -> None:
        value = get(e, p["source"])
        if value is not _MISSING:
            put(e, p["target"], copy.deepcopy(value))
    return _copying(step)


def _move(p: Mapping[str, Any]) -> Transformer:
    def step(e: Entity) -> None:
        value = pop(e, p["source"])
        if value is not _MISSING:
            put(e, p["target"], value)
    return _copying(step)


def _remove(p: Mapping[str, Any]) -> Transformer:
    keys = list(p["keys"])

    def step(e: Entity) -> None:
        for key in keys:
            pop(e, key)
    return _copying(step)


def _rename(p: Mapping[str, Any]) -> Transformer:
    mapping: dict[str, str] = dict(p["mapping"])

    def step(e: Entity) -> None:
        moved = {new: pop(e, old) for old, new in mapping.items()}
        for new, value in moved.items():
            if value is not _MISSING:
                put(e, new, value)
    return _copying(step)


def _jsonata(p: Mapping[str, Any]) -> Transformer:
    try:
        expression = jsonata.Jsonata(p["expression"])
    except Exception as exc:  # noqa: BLE001 - the library's parse errors are not typed
        raise InvalidInput("invalid JSONata expression", [FieldError(
            "parameters.expression", str(exc))]) from None
    target = p.get("target")

    def run(entity: Entity) -> Result:
        frame = expression.create_frame()
        frame.set_runtime_bounds(JSONATA_TIMEOUT_MS, JSONATA_MAX_DEPTH)
        try:
            value = expression.evaluate(copy.deepcopy(entity), frame)
        except Exception as exc:  # noqa: BLE001 - the library's evaluation errors
            raise TransformFailed("the JSONata expression failed", [FieldError(
                "parameters.expression", str(exc))]) from None
        if not target:
            return value
        out = copy.deepcopy(entity)
        put(out, target, value)
        return out
    return run


def _holds(value: Any, op: str, operand: Any) -> bool:
    if op == "is_null":
        return value is None or value is _MISSING
    if op == "not_null":
        return not (value is None or value is _MISSING)
    if value is None or value is _MISSING:
        return False
    if op == "eq":
        return bool(value == operand)
    if op == "ne":
        return bool(value != operand)
    if op == "in":
        return value in operand
    if op == "not_in":
        return value not in operand
    if op in ("contains", "starts_with"):
        text = str(value)
        return text.startswith(str(operand)) if op == "starts_with" else str(operand) in text
    try:
        return bool({"lt": value < operand, "lte": value <= operand,
                     "gt": value > operand, "gte": value >= operand}[op])
    except TypeError:
        return False


def _filter(p: Mapping[str, Any]) -> Transformer:
    conditions = list(p["conditions"])
    keep_any = p.get("match", "all") == "any"

    def run(entity: Entity) -> Result:
        failed = [c for c in conditions
                  if not _holds(get(entity, c["key"]), c["op"], c.get("value"))]
        if (keep_any and len(failed) < len(conditions)) or (not keep_any and not failed):
            return copy.deepcopy(entity)
        c = failed[0]
        shown = "" if c["op"] in ("is_null", "not_null") else f" {c.get('value')!r}"
        return Skipped(f"filtered out: {c['key']} {c['op']}{shown} does not hold")
    return run


def _hash(p: Mapping[str, Any]) -> Transformer:
    keys, algorithm, salt = list(p["keys"]), p.get("algorithm", "sha256"), p.get("salt", "")

    def step(e: Entity) -> None:
        for k in keys:
            value = get(e, k)
            if value is not _MISSING and value is not None:
                digest = hashlib.new(algorithm, (salt + str(value)).encode())
                put(e, k, digest.hexdigest())
    return _copying(step)


def _mask(p: Mapping[str, Any]) -> Transformer:
    keys, keep = list(p["keys"]), int(p.get("keepLast", 0))

    def step(e: Entity) -> None:
        for k in keys:
            value = get(e, k)
            if value is not _MISSING and value is not None:
                text = str(value)
                put(e, k, MASK + (text[-keep:] if keep and len(text) > keep else ""))
    return _copying(step)


def _chain(p: Mapping[str, Any], lookup: Lookup | None) -> Transformer:
    if lookup is None:
        raise InvalidInput("a chain needs its transformers", [FieldError(
            "parameters.transformers", "cannot be looked up here")])
    steps = [lookup(identifier) for identifier in p["transformers"]]

    def run(entity: Entity) -> Result:
        out: Result = entity
        for step in steps:
            out = step(out)
            if isinstance(out, Skipped):
                return out
        return copy.deepcopy(out) if out is entity else out
    return run


_MAKERS: dict[str, Callable[[Mapping[str, Any]], Transformer]] = {
    "set": _set, "copy": _copy, "move": _move, "remove": _remove, "rename": _rename,
    "jsonata": _jsonata, "filter": _filter, "hash": _hash, "mask": _mask,
}


def compile_transformer(prototype: str, parameters: Mapping[str, Any],
                        lookup: Lookup | None = None) -> Transformer:
    """The transformer ``prototype`` with ``parameters``; an unknown prototype or a bad
    expression is an :class:`InvalidInput` naming the field."""
    if prototype == "chain":
        return _chain(parameters, lookup)
    maker = _MAKERS.get(prototype)
    if maker is None:
        raise InvalidInput("unknown transformer", [FieldError(
            "prototype", f"unknown transformer {prototype!r}; one of {', '.join(PROTOTYPES)}",
            prototype)])
    return maker(parameters)

"""Transformers over one entity (a JSON object), as a configuration of type ``transformer``
names them: ``set``, ``copy``, ``move``, ``remove``, ``rename``, ``jsonata``, ``filter``,
``hash``, ``mask``, ``split``, ``storage-merge`` and ``chain``.

Enters: a prototype identifier and its parameters (already checked against the prototype's
JSON Schema), and for ``chain`` a function that finds the named transformers. Leaves: a
callable from an entity to a new entity, or to :class:`Skipped` (with the reason) when a
filter drops it, or to :class:`Split` when ``split`` makes many entities of it (the steps after
a split run on each of them: :func:`run_steps`). The entity given is never changed. Keys are
dotted paths (``customer.name``); ``a.0`` is the first item of the list ``a``. A split keeps
each item as the split gave it and where that split sits among the steps, so that the steps
after it can run again on the item alone (:func:`resume`).

JSONata expressions run through the ``jsonata-python`` library with a time and a depth bound,
so a runaway expression fails that entity instead of hanging the run.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping, Sequence
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
              "split", "storage-merge", "chain")


@dataclass(frozen=True)
class Skipped:
    """An entity a filter dropped, and why."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """An item of a split that a later step could not handle, and why."""

    reason: str


#: where a split sits: its position among the steps, then among a chain's steps, ...
At = tuple[int, ...]


@dataclass(frozen=True)
class Split:
    """The entities one entity became: each item's key (its position in the list split,
    ``"2"``; ``"2.0"`` after two splits) and what the steps after the split made of it.
    ``origins`` (one per item, when known) is each item as the split gave it, before the
    steps after it, with where that split sits (relative to the steps that gave this)."""

    items: tuple[tuple[str, Any], ...]
    origins: tuple[tuple[Entity, At], ...] = ()

    @property
    def entities(self) -> list[Entity]:
        """The items that are entities (neither skipped nor failed)."""
        return [v for _, v in self.items if not isinstance(v, Skipped | Failed)]


Result = Entity | Skipped | Split
Transformer = Callable[[Entity], Result]
#: finds a transformer by its configuration identifier (for ``chain``)
Lookup = Callable[[str], Transformer]
#: reads the value a storage keeps under a key (for ``storage-merge``); :data:`MISSING` when
#: it keeps none
StorageRead = Callable[[str, str], Any]


class TransformFailed(InvalidInput):
    """A transformer could not handle an entity (a JSONata error, a key that is not an
    object...); ``errors`` names the transformer's parameter."""


_MISSING = object()
#: what a :data:`StorageRead` gives for a key the storage does not keep
MISSING = _MISSING


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


class SplitStep:
    """A ``split`` (its type tells :func:`resume` where a split sits)."""

    def __init__(self, run: Transformer) -> None:
        self.run = run

    def __call__(self, entity: Entity) -> Result:
        return self.run(entity)


def _split(p: Mapping[str, Any]) -> Transformer:
    path, into = p["path"], p.get("into") or "value"
    parents: dict[str, str] = dict(p.get("parentKeys") or {})

    def run(entity: Entity) -> Result:
        items = get(entity, path)
        if items is _MISSING or items is None or items == []:
            return Skipped(f"nothing to split: {path} has no items")
        if isinstance(items, dict):  # one object (JSONata gives one item so): one item
            items = [items]
        if not isinstance(items, list):
            raise TransformFailed("cannot split", [FieldError(
                "parameters.path", f"{path!r} is a {type(items).__name__}, not a list")])
        out = []
        for i, item in enumerate(items):
            child = copy.deepcopy(item) if isinstance(item, dict) else {into: copy.deepcopy(item)}
            for source, target in parents.items():
                value = get(entity, source)
                if value is not _MISSING:
                    put(child, target, copy.deepcopy(value))
            out.append((str(i), child))
        return Split(tuple(out), tuple((child, ()) for _, child in out))
    return SplitStep(run)


def _storage_merge(p: Mapping[str, Any], read: StorageRead | None) -> Transformer:
    if read is None:
        raise InvalidInput("a storage merge needs its storage", [FieldError(
            "parameters.storage", "cannot be read here")])
    storage, key_path, target = str(p["storage"]), str(p["key"]), p.get("target")
    skip = p.get("onMissing", "keep") == "skip"

    def run(entity: Entity) -> Result:
        key = get(entity, key_path)
        found = _MISSING if key is _MISSING or key is None else read(storage, str(key))
        if found is _MISSING:
            if skip:
                return Skipped(f"storage {storage} keeps no entity {key_path}="
                               f"{None if key is _MISSING else key!r}")
            return copy.deepcopy(entity)
        out = copy.deepcopy(entity)
        if target:
            put(out, str(target), copy.deepcopy(found))
        elif isinstance(found, dict) and isinstance(out, dict):
            out.update(copy.deepcopy(found))
        else:
            raise TransformFailed("cannot merge", [FieldError(
                "parameters.target", f"the value storage {storage} keeps under {key!r} is "
                "not an object: name a target key for it")])
        return out
    return run


def run_steps(steps: Sequence[Transformer], entity: Entity) -> Result:
    """Run ``steps`` one after another; a skip ends the run; after a split, the steps left
    run on each item (an item one of them fails is :class:`Failed`, the others go on)."""
    out: Result = entity
    for n, step in enumerate(steps):
        out = step(out)
        if isinstance(out, Skipped):
            return out
        if isinstance(out, Split):
            placed = Split(out.items, tuple((item, (n, *at)) for item, at in out.origins))
            return _each(placed, steps[n + 1:], n + 1)
    return out


def _shifted(split: Split, by: int) -> Split:
    """``split``'s origins counted from ``by`` steps further on."""
    return Split(split.items, tuple((item, (by + at[0], *at[1:])) for item, at in
                                    split.origins))


def _each(split: Split, rest: Sequence[Transformer], offset: int) -> Split:
    """The steps ``rest`` (``offset`` steps after the first of theirs) on each item."""
    known = len(split.origins) == len(split.items)
    items: list[tuple[str, Any]] = []
    origins: list[tuple[Entity, At]] = []
    for n, (key, item) in enumerate(split.items):
        origin = [split.origins[n]] if known else []
        if isinstance(item, Skipped | Failed) or not rest:
            items.append((key, item))
            origins += origin
            continue
        try:
            got = run_steps(rest, item)
        except InvalidInput as exc:
            items.append((key, Failed(str(exc))))
            origins += origin
            continue
        if isinstance(got, Split):  # split again: the items keep the later split's origins
            got = _shifted(got, offset)
            items.extend((f"{key}.{k}", v) for k, v in got.items)
            origins += got.origins if len(got.origins) == len(got.items) else []
            known = known and len(got.origins) == len(got.items)
        else:
            items.append((key, got))
            origins += origin
    return Split(tuple(items), tuple(origins) if known else ())


class Chain:
    """Transformers run one after another (:func:`run_steps`); ``steps`` are kept for
    :func:`resume`. With ``copies``, an entity no step changed is given back as a copy."""

    def __init__(self, steps: Sequence[Transformer], *, copies: bool = True) -> None:
        self.steps = tuple(steps)
        self.copies = copies

    def __call__(self, entity: Entity) -> Result:
        out = run_steps(self.steps, entity)
        return copy.deepcopy(out) if self.copies and out is entity else out


def resume(chain: Transformer, at: Sequence[int], item: Entity) -> Result:
    """What the steps after the split at ``at`` (an origin of a :class:`Split` the chain
    gave) make of ``item``, one of that split's items: the item runs on from there alone.
    When the chain no longer has a split there: :class:`InvalidInput`."""
    steps = chain.steps if isinstance(chain, Chain) else ()
    if not at or not 0 <= at[0] < len(steps):
        raise _moved()
    n, inner = at[0], tuple(at[1:])
    step = steps[n]
    if inner:
        if not isinstance(step, Chain):
            raise _moved()
        out = resume(step, inner, item)
    elif isinstance(step, SplitStep):
        out = item
    else:
        raise _moved()
    if isinstance(out, Skipped | Failed):
        return out
    if isinstance(out, Split):  # split again inside the chain at ``n``
        placed = Split(out.items, tuple((i, (n, *a)) for i, a in out.origins))
        return _each(placed, steps[n + 1:], n + 1)
    got = run_steps(steps[n + 1:], out)
    return _shifted(got, n + 1) if isinstance(got, Split) else got


def _moved() -> InvalidInput:
    return InvalidInput("the item cannot run on from its split", [FieldError(
        "transformers", "the split it came from is no longer where it was (the route's "
        "transformers changed)")])


def _chain(p: Mapping[str, Any], lookup: Lookup | None) -> Transformer:
    if lookup is None:
        raise InvalidInput("a chain needs its transformers", [FieldError(
            "parameters.transformers", "cannot be looked up here")])
    return Chain([lookup(identifier) for identifier in p["transformers"]])


_MAKERS: dict[str, Callable[[Mapping[str, Any]], Transformer]] = {
    "set": _set, "copy": _copy, "move": _move, "remove": _remove, "rename": _rename,
    "jsonata": _jsonata, "filter": _filter, "hash": _hash, "mask": _mask, "split": _split,
}


def compile_transformer(prototype: str, parameters: Mapping[str, Any],
                        lookup: Lookup | None = None, storage: StorageRead | None = None,
                        ) -> Transformer:
    """The transformer ``prototype`` with ``parameters``; an unknown prototype or a bad
    expression is an :class:`InvalidInput` naming the field. ``lookup`` finds a chain's
    transformers, ``storage`` reads a storage for ``storage-merge``."""
    if prototype == "chain":
        return _chain(parameters, lookup)
    if prototype == "storage-merge":
        return _storage_merge(parameters, storage)
    maker = _MAKERS.get(prototype)
    if maker is None:
        raise InvalidInput("unknown transformer", [FieldError(
            "prototype", f"unknown transformer {prototype!r}; one of {', '.join(PROTOTYPES)}",
            prototype)])
    return maker(parameters)

"""The dependency graph of a space's configurations (#37-40): who names whom.

Edges come from the prototypes' schemas (a value marked ``x-reference``: a route's incoming,
outgoing and transformers, a chain's transformers, a route's change-detection storage) and
from ``${NAME}`` references to environment variables (nodes of type
``environment-variable``). A configuration may name one that does not exist (yet); the edge
is kept and its node has no name.

Directions: ``down`` (what the objects use), ``up`` (what uses them), ``both``, and
``recursive`` (everything reachable either way, each node with both kinds of edges).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.secrets import variables as refs
from sluiceway.services import criteria, policy, prototypes
from sluiceway.services.caller import Caller
from sluiceway.services.configurations import COLUMNS, Dependant
from sluiceway.services.platform import Platform
from sluiceway.store.models import Configuration

VARIABLE = "environment-variable"
DIRECTIONS = ("down", "up", "both", "recursive")
Key = tuple[str, str]


@dataclass(frozen=True)
class Edge:
    relation: str  # uses | used-by
    type: str
    identifier: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Node:
    type: str
    identifier: str
    name: str | None
    relationships: tuple[Edge, ...]


@dataclass(frozen=True)
class Usage:
    """Where a configuration is named: by whom (type, identifier, name) and at which path."""

    path: str
    type: str
    identifier: str
    name: str


class _Graph:
    def __init__(self, rows: Sequence[Configuration]) -> None:
        self.names: dict[Key, str] = {(r.type, r.identifier): r.name for r in rows}
        self.down: dict[Key, dict[Key, list[str]]] = defaultdict(dict)
        self.up: dict[Key, dict[Key, list[str]]] = defaultdict(dict)
        for r in rows:
            key = (r.type, r.identifier)
            parameters = (r.object or {}).get("parameters")
            try:
                proto = prototypes.get_prototype(r.type, str((r.object or {}).get("prototype")))
            except NotFound:
                continue
            for ref in prototypes.references(proto, parameters):
                self._add(key, (ref.type, ref.identifier), ref.path)
            for path, names in refs.references(parameters).items():
                for name in names:
                    self._add(key, (VARIABLE, name), f"object.parameters.{path}")

    def _add(self, source: Key, target: Key, path: str) -> None:
        self.down[source].setdefault(target, []).append(path)
        self.up[target].setdefault(source, []).append(path)

    def edges(self, key: Key, down: bool, up: bool) -> tuple[Edge, ...]:
        out: list[Edge] = []
        if down:
            out += [Edge("uses", t, i, tuple(p)) for (t, i), p in self.down[key].items()]
        if up:
            out += [Edge("used-by", t, i, tuple(p)) for (t, i), p in self.up[key].items()]
        return tuple(out)

    def node(self, key: Key, down: bool, up: bool) -> Node:
        return Node(key[0], key[1], self.names.get(key), self.edges(key, down, up))


def _load(s: Session, workspace_id: str) -> _Graph:
    return _Graph(list(s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id).order_by(Configuration.type,
                                                              Configuration.identifier))))


def resolve(p: Platform, caller: Caller, workspace_id: str, objects: Sequence[Key],
            direction: str = "both") -> list[Node]:
    policy.require(caller, policy.READ, workspace_id)
    if direction not in DIRECTIONS:
        raise InvalidInput("invalid direction", [FieldError(
            "direction", f"must be one of {', '.join(DIRECTIONS)}", direction)])
    with p.db.session() as s:
        g = _load(s, workspace_id)
    missing = [k for k in objects if k not in g.names]
    if missing:
        raise NotFound(f"configuration {missing[0][0]}/{missing[0][1]} not found",
                       missing[0][1])
    if direction != "recursive":
        down, up = direction in ("down", "both"), direction in ("up", "both")
        return [g.node(k, down, up) for k in dict.fromkeys(objects)]
    seen: dict[Key, None] = {}
    todo = list(objects)
    while todo:
        key = todo.pop(0)
        if key in seen:
            continue
        seen[key] = None
        todo += [k for k in (*g.down[key], *g.up[key]) if k not in seen]
    return [g.node(k, True, True) for k in seen]


def usages(p: Platform, caller: Caller, workspace_id: str, type_: str,
           identifier: str) -> list[Usage]:
    """Where ``type_/identifier`` is named (404 when it does not exist)."""
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        g = _load(s, workspace_id)
    if (type_, identifier) not in g.names:
        raise NotFound(f"configuration {type_}/{identifier} not found", identifier)
    return [Usage(path, t, i, g.names.get((t, i), ""))
            for (t, i), paths in g.up[(type_, identifier)].items() for path in paths]


def dependants(p: Platform, caller: Caller, workspace_id: str,
               c: criteria.Criteria) -> list[tuple[Key, list[Dependant]]]:
    """The configurations (matching the filter) that others name, each with where."""
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        g = _load(s, workspace_id)
        wanted = {(r.type, r.identifier) for r in s.scalars(select(Configuration).where(
            Configuration.workspace_id == workspace_id, criteria.where_clause(c, COLUMNS)))}
    out = []
    for key in sorted(wanted):
        found = [Dependant(t, i, g.names.get((t, i), ""), path)
                 for (t, i), paths in g.up[key].items() for path in paths]
        if found:
            out.append((key, found))
    return out

"""Transformers over an Arrow batch: each chain gives, row by row, exactly what the same
chain gives entity by entity (entities, skips with their reasons, failures), whether its
steps run vectorised or fall back per entity."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from sluiceway.artifacts.formats import json_safe
from sluiceway.core.errors import SluicewayError
from sluiceway.transforms.entities import Skipped, compile_transformer
from sluiceway.transforms.vectorised import Plan, Spec, run_entity

TABLE = pa.table({
    "id": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
    "sku": pa.array(["ab-1", None, "cd-3", "ef-4", "gh-5", "ij-6"]),
    "name": pa.array(["Ann", "Bo", "Cé", "Di", "Ed", "Fa"]),
    "qty": pa.array([3, 5, -1, 2, None, 0], pa.int64()),
    "price": pa.array([1.5, 2.0, 3.25, None, 0.5, 10.0]),
    "active": pa.array([True, False, True, None, True, False]),
    "amount": pa.array([Decimal("1.10"), None, Decimal("3"), Decimal("4.5"), None,
                        Decimal("0")], pa.decimal128(10, 2)),
    "day": pa.array([date(2024, 1, d) for d in range(1, 7)]),
    "tags": pa.array([["a"], [], None, ["b", "c"], ["d"], ["e"]]),
})

CHAINS: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
    ("rename, map, filter", [
        ("rename", {"mapping": {"id": "order_id", "qty": "quantity"}}),
        ("jsonata", {"expression": '$uppercase(name) & "-" & order_id', "target": "code"}),
        ("filter", {"conditions": [{"key": "quantity", "op": "gt", "value": 0}]})]),
    ("set, copy, move, remove", [
        ("set", {"values": {"source": "shop", "rank": 2, "ok": True, "none": None}}),
        ("copy", {"source": "sku", "target": "sku2"}),
        ("move", {"source": "price", "target": "cost"}),
        ("move", {"source": "missing", "target": "x"}),
        ("remove", {"keys": ["tags", "day", "nope"]})]),
    ("swap by rename", [("rename", {"mapping": {"id": "name", "name": "id"}})]),
    ("filters of every kind", [
        ("filter", {"conditions": [{"key": "sku", "op": "not_null"},
                                   {"key": "price", "op": "lte", "value": 3.25},
                                   {"key": "name", "op": "in", "value": ["Ann", "Cé", "Ed"]}]}),
        ("filter", {"match": "any", "conditions": [
            {"key": "sku", "op": "starts_with", "value": "ab"},
            {"key": "sku", "op": "contains", "value": "-5"},
            {"key": "active", "op": "eq", "value": True}]})]),
    ("filters on nulls, missing keys and not_in", [
        ("filter", {"conditions": [{"key": "qty", "op": "not_in", "value": [0, 3]},
                                   {"key": "missing", "op": "is_null"}]}),
        ("filter", {"conditions": [{"key": "qty", "op": "ne", "value": 7}]})]),
    ("filter that falls back (a decimal, a list)", [
        ("filter", {"conditions": [{"key": "amount", "op": "gt", "value": 1}]}),
        ("filter", {"conditions": [{"key": "tags", "op": "not_null"}]})]),
    ("jsonata over a column with nulls falls back, and fails per entity", [
        ("jsonata", {"expression": "$uppercase(sku)", "target": "code"}),
        ("jsonata", {"expression": "$number(code)", "target": "n"})]),
    ("jsonata outside the subset, then vectorisable steps (run per entity)", [
        ("jsonata", {"expression": "qty * 2", "target": "double"}),
        ("rename", {"mapping": {"double": "twice"}})]),
    ("a filter with a number of the wrong kind", [
        ("filter", {"conditions": [{"key": "name", "op": "eq", "value": 3}]})]),
]


def _per_entity(chain: list[tuple[str, dict[str, Any]]], table: pa.Table) -> list[Any]:
    steps = [compile_transformer(p, params) for p, params in chain]
    return [run_entity(steps, json_safe(row)) for row in table.to_pylist()]


def _comparable(outcome: Any) -> Any:
    if isinstance(outcome, SluicewayError):
        return ("failed", str(outcome))
    if isinstance(outcome, Skipped):
        return ("skipped", outcome.reason)
    return ("entity", outcome)


@pytest.mark.parametrize(("name", "chain"), CHAINS, ids=[c[0] for c in CHAINS])
def test_a_chain_gives_the_same_results_over_the_batch_and_per_entity(
        name: str, chain: list[tuple[str, dict[str, Any]]]) -> None:
    steps = [compile_transformer(p, params) for p, params in chain]
    plan = Plan([Spec(p, params) for p, params in chain], steps)
    got = [_comparable(o) for o in plan.run(TABLE, json_safe)]
    assert got == [_comparable(o) for o in _per_entity(chain, TABLE)]
    for batch in TABLE.to_batches(max_chunksize=4):  # record batches, in pieces
        part = [_comparable(o) for o in plan.run(batch, json_safe)]
        assert part == [_comparable(o) for o in _per_entity(chain, pa.Table.from_batches(
            [batch]))]


def test_the_usual_route_chain_runs_over_the_batch() -> None:
    chain = CHAINS[0][1]
    plan = Plan([Spec(p, params) for p, params in chain],
                [compile_transformer(p, params) for p, params in chain])
    assert plan.vectorised == 3
    out = plan.run(TABLE.filter(pa.array([True, False, False, True, True, True])), json_safe)
    assert out[0] == {"sku": "ab-1", "name": "Ann", "price": 1.5, "active": True,
                      "amount": "1.10", "day": "2024-01-01", "tags": ["a"], "order_id": 1,
                      "quantity": 3, "code": "ANN-1"}
    assert [type(o).__name__ for o in out] == ["dict", "dict", "Skipped", "Skipped"]
    assert out[3] == Skipped("filtered out: quantity gt 0 does not hold")


def test_steps_outside_the_subset_have_no_vectorised_form() -> None:
    chain = [("hash", {"keys": ["sku"]}), ("rename", {"mapping": {"a.b": "c"}})]
    plan = Plan([Spec(p, params) for p, params in chain],
                [compile_transformer(p, params) for p, params in chain])
    assert plan.vectorised == 0

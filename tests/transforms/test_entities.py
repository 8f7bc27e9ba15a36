"""Transformers over one entity: each prototype's behaviour, skips with reasons, and a
runaway JSONata expression that fails instead of hanging."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.core.errors import InvalidInput
from sluiceway.transforms import entities
from sluiceway.transforms.entities import Skipped, TransformFailed, compile_transformer

ENTITY = {"id": 3, "name": "Bo", "tags": ["a", "b"], "address": {"city": "Gouda"}}


@pytest.mark.parametrize(("prototype", "parameters", "expected"), [
    ("set", {"values": {"status": "new", "address.zip": "2801"}},
     {**ENTITY, "status": "new", "address": {"city": "Gouda", "zip": "2801"}}),
    ("copy", {"source": "tags.1", "target": "second"}, {**ENTITY, "second": "b"}),
    ("copy", {"source": "missing", "target": "x"}, ENTITY),
    ("move", {"source": "address.city", "target": "city"},
     {"id": 3, "name": "Bo", "tags": ["a", "b"], "address": {}, "city": "Gouda"}),
    ("remove", {"keys": ["tags", "nope"]}, {"id": 3, "name": "Bo",
                                             "address": {"city": "Gouda"}}),
    ("rename", {"mapping": {"id": "code", "name": "label"}},
     {"tags": ["a", "b"], "address": {"city": "Gouda"}, "code": 3, "label": "Bo"}),
    ("jsonata", {"expression": '{"n": $count(tags), "c": address.city}'}, {"n": 2, "c": "Gouda"}),
    ("jsonata", {"expression": "id * 2", "target": "double"}, {**ENTITY, "double": 6}),
    ("filter", {"conditions": [{"key": "tags", "op": "not_null"},
                               {"key": "id", "op": "in", "value": [1, 3]}]}, ENTITY),
    ("filter", {"match": "any", "conditions": [{"key": "id", "op": "eq", "value": 9},
                                               {"key": "name", "op": "starts_with",
                                                "value": "B"}]}, ENTITY),
    ("mask", {"keys": ["name"]}, {**ENTITY, "name": "**********"}),
])
def test_a_transformer_gives_the_entity_it_describes(prototype: str, parameters: dict[str, Any],
                                                     expected: Any) -> None:
    before = {**ENTITY, "address": dict(ENTITY["address"])}  # type: ignore[dict-item]
    assert compile_transformer(prototype, parameters)(ENTITY) == expected
    assert before == ENTITY  # the entity given is never changed


def test_a_filter_skips_with_the_condition_that_failed() -> None:
    run = compile_transformer("filter", {"conditions": [{"key": "id", "op": "gt",
                                                         "value": 5}]})
    assert run(ENTITY) == Skipped("filtered out: id gt 5 does not hold")
    # a comparison across kinds does not hold rather than failing
    assert isinstance(run({"id": "text"}), Skipped)


def test_a_chain_runs_its_transformers_and_stops_at_a_skip() -> None:
    steps = {"up": compile_transformer("jsonata", {"expression": "$uppercase(name)",
                                                   "target": "name"}),
             "only-bo": compile_transformer("filter", {"conditions": [
                 {"key": "name", "op": "eq", "value": "BO"}]}),
             "drop": compile_transformer("remove", {"keys": ["tags"]})}
    chain = compile_transformer("chain", {"transformers": ["up", "only-bo", "drop"]},
                                steps.__getitem__)
    assert chain(ENTITY) == {"id": 3, "name": "BO", "address": {"city": "Gouda"}}
    assert isinstance(chain({"name": "Al"}), Skipped)


def test_a_bad_jsonata_expression_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        compile_transformer("jsonata", {"expression": "$count("})
    assert caught.value.errors[0].path == "parameters.expression"


def test_a_runaway_jsonata_expression_fails_its_entity() -> None:
    run = compile_transformer("jsonata", {"expression":
                                          "($f := function($x){ $f($x) }; $f(1))"})
    with pytest.raises(TransformFailed):
        run(ENTITY)


def test_an_unknown_transformer_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        compile_transformer("explode", {})
    assert caught.value.errors[0].path == "prototype"


def test_split_makes_an_item_per_list_entry_and_the_steps_after_run_on_each() -> None:
    split = entities.compile_transformer("split", {"path": "order.lines",
                                                   "parentKeys": {"id": "orderId"},
                                                   "into": "sku"})
    upper = entities.compile_transformer("jsonata", {"expression": "$uppercase(sku)",
                                                     "target": "code"})
    entity = {"id": 4, "order": {"lines": ["a", {"sku": "b"}, {"qty": 1}]}}
    got = entities.run_steps([split, upper], entity)
    assert isinstance(got, entities.Split)
    assert [k for k, _ in got.items] == ["0", "1", "2"]
    assert got.items[0][1] == {"sku": "a", "orderId": 4, "code": "A"}
    assert got.items[1][1] == {"sku": "b", "orderId": 4, "code": "B"}
    # the third item has no sku: the JSONata result is undefined, the others go on
    assert entities.get(got.items[2][1], "code") in (None, entities.MISSING)
    assert entity == {"id": 4, "order": {"lines": ["a", {"sku": "b"}, {"qty": 1}]}}
    # a split of a split keys its items by both positions
    inner = entities.compile_transformer("split", {"path": "parts"})
    nested = entities.run_steps([entities.compile_transformer("split", {"path": "lines"}),
                                 inner], {"lines": [{"parts": [1, 2]}, {"parts": [3]}]})
    assert isinstance(nested, entities.Split)
    assert [(k, v) for k, v in nested.items] == [("0.0", {"value": 1}), ("0.1", {"value": 2}),
                                                 ("1.0", {"value": 3})]
    with pytest.raises(entities.TransformFailed) as bad:
        split({"order": {"lines": "text"}})
    assert bad.value.errors[0].path == "parameters.path"
    assert split({"order": {}}) == entities.Skipped("nothing to split: order.lines has no "
                                                    "items")


def test_a_split_item_a_later_step_fails_fails_alone() -> None:
    split = entities.compile_transformer("split", {"path": "lines"})
    strict = entities.compile_transformer("jsonata", {
        "expression": "x = 5 ? $error('five') : x", "target": "y"})
    got = entities.run_steps([split, strict], {"lines": [{"x": 5}, {"x": 1}]})
    assert isinstance(got, entities.Split)
    assert isinstance(got.items[0][1], entities.Failed)
    assert got.items[1][1] == {"x": 1, "y": 1}
    assert got.entities == [{"x": 1, "y": 1}]


def test_a_split_item_runs_on_from_its_split_alone() -> None:
    def t(prototype: str, **parameters: Any) -> entities.Transformer:
        return entities.compile_transformer(prototype, parameters)

    parse = t("set", values={"seen": True})
    lines = entities.Chain([parse, t("split", path="lines", parentKeys={"id": "orderId"})])
    tag = t("set", values={"tagged": 1})
    route = entities.Chain([lines, tag], copies=False)
    got = route({"id": 7, "lines": [{"sku": "a"}, {"sku": "b", "parts": [1, 2]}]})
    assert isinstance(got, entities.Split)
    # each item as the split gave it, and where the split sits: route step 0, chain step 1
    assert got.origins == (({"sku": "a", "orderId": 7}, (0, 1)),
                           ({"sku": "b", "parts": [1, 2], "orderId": 7}, (0, 1)))
    for (_, item), (origin, at) in zip(got.items, got.origins, strict=True):
        assert entities.resume(route, at, origin) == item
    # a second split after the first: the items keep the later split's place
    again = entities.Chain([lines, t("split", path="parts"), tag], copies=False)
    nested = again({"id": 7, "lines": [{"sku": "b", "parts": [1, 2]}]})
    assert isinstance(nested, entities.Split)
    assert [k for k, _ in nested.items] == ["0.0", "0.1"]
    assert [at for _, at in nested.origins] == [(1,), (1,)]
    assert entities.resume(again, (1,), nested.origins[1][0]) == {"value": 2, "tagged": 1}
    # resumed from the first split, the item splits again (the caller decides)
    assert isinstance(entities.resume(again, (0, 1), {"parts": [1]}), entities.Split)
    # the split is no longer where the item came from: refused, naming the transformers
    for moved, at in ((entities.Chain([tag, lines]), (0, 1)),
                      (entities.Chain([lines]), (1,)), (route, (0, 0)), (route, ())):
        with pytest.raises(InvalidInput) as caught:
            entities.resume(moved, at, {"sku": "a"})
        assert caught.value.errors[0].path == "transformers"


def test_storage_merge_merges_keeps_or_skips() -> None:
    kept = {"prices": {"a": {"price": 3}, "n": 7}}

    def read(storage: str, key: str) -> object:
        return kept.get(storage, {}).get(key, entities.MISSING)
    merge = entities.compile_transformer("storage-merge", {"storage": "prices", "key": "sku"},
                                         storage=read)
    assert merge({"sku": "a"}) == {"sku": "a", "price": 3}
    assert merge({"sku": "z"}) == {"sku": "z"}
    assert merge({"other": 1}) == {"other": 1}
    with pytest.raises(entities.TransformFailed):
        merge({"sku": "n"})  # not an object and no target
    into = entities.compile_transformer("storage-merge", {
        "storage": "prices", "key": "sku", "target": "stored", "onMissing": "skip"},
        storage=read)
    assert into({"sku": "n"}) == {"sku": "n", "stored": 7}
    assert isinstance(into({"sku": "z"}), entities.Skipped)
    with pytest.raises(InvalidInput):
        entities.compile_transformer("storage-merge", {"storage": "prices", "key": "sku"})

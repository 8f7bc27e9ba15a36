"""Transformers over one entity: each prototype's behaviour, skips with reasons, and a
runaway JSONata expression that fails instead of hanging."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.core.errors import InvalidInput
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

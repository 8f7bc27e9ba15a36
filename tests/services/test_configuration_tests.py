"""Testing a ``transformer-test``: its owner runs on its entity, and what it gave is compared
with what the test expects (the differences listed path by path)."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.core.errors import InvalidInput
from sluiceway.services import auth, configuration_tests, configurations, variables
from sluiceway.services.configuration_tests import Difference, differences, judge
from sluiceway.services.platform import Platform
from sluiceway.transforms import entities


def test_differences_name_each_path_that_differs() -> None:
    assert differences({"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 2]}) == []
    assert differences({"a": 1, "b": {"c": [1, 2]}, "gone": True},
                       {"a": 2, "b": {"c": [1, 3, 4]}, "new": None}) == [
        Difference("a", "changed", 1, 2),
        Difference("b.c[1]", "changed", 2, 3),
        Difference("b.c[2]", "unexpected", None, 4),
        Difference("gone", "missing", True, None),
        Difference("new", "unexpected", None, None)]
    assert differences({"a": 1}, None) == [Difference("", "changed", {"a": 1}, None)]


def test_a_case_passes_fails_or_reports_the_transformer_s_error() -> None:
    rename = entities.compile_transformer("rename", {"mapping": {"nm": "name"}})
    ok = judge(rename, "t", "T", {"entity": {"nm": "Ada"}, "expected": {"name": "Ada"}})
    assert (ok.passed, ok.got, ok.differences) == (True, {"name": "Ada"}, ())
    bad = judge(rename, "t", "T", {"entity": {"nm": "Ada"}, "expected": {"nm": "Ada"}})
    assert not bad.passed
    assert bad.differences == (Difference("nm", "missing", "Ada", None),
                               Difference("name", "unexpected", None, "Ada"))
    drop = entities.compile_transformer("filter", {"conditions": [
        {"key": "n", "op": "gt", "value": 1}]})
    skipped = judge(drop, "t", "T", {"entity": {"n": 0}, "expected": {"n": 0}})
    assert not skipped.passed
    assert skipped.got == {"skipped": "filtered out: n gt 1 does not hold"}
    broken = entities.compile_transformer("jsonata", {"expression": "$error('bad price')"})
    failed = judge(broken, "t", "T", {"entity": {}, "expected": {}})
    assert not failed.passed
    assert failed.reason is not None
    assert "bad price" in failed.reason


def _save(p: Platform, caller: auth.Caller, space: str, type_: str, identifier: str,
          obj: dict[str, Any], owner: str | None = None) -> None:
    configurations.create(p, caller, space, configurations.ConfigurationInput(
        type_, identifier, identifier, obj, owner=owner))


def test_a_saved_transformer_test_runs_its_owner_with_its_variables(
        platform: Platform, admin: auth.Caller) -> None:
    (space,) = admin.workspace_ids
    variables.create(platform, admin, space, variables.VariableInput("COUNTRY", "NL"))
    _save(platform, admin, space, "transformer", "tag", {
        "prototype": "set", "parameters": {"values": {"country": "${COUNTRY}"}}})
    _save(platform, admin, space, "transformer-test", "tagged", {
        "prototype": "transformer-test",
        "parameters": {"entity": {"id": 1}, "expected": {"id": 1, "country": "BE"}}},
        owner="tag")
    trial = configuration_tests.run_stored(platform, admin, space, "transformer-test",
                                           "tagged")
    assert trial.object == {"id": 1, "country": "NL"}
    (case,) = trial.cases
    assert not case.passed
    assert case.differences == (Difference("country", "changed", "BE", "NL"),)
    with pytest.raises(InvalidInput) as caught:
        configuration_tests.run_unsaved(platform, admin, space, "transformer-test", {
            "prototype": "transformer-test", "parameters": {"entity": {}}}, None,
            owner="tagged")
    assert [e.path for e in caught.value.errors] == ["owner"]
    assert "is a transformer-test, not a transformer" in caught.value.errors[0].reason

"""The catalogue of configuration types and prototypes: schemas, test cases, checks."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.core.errors import InvalidInput, NotFound
from sluiceway.services import prototypes


def test_the_catalogue_offers_every_connector_and_the_named_types() -> None:
    by_type = {t.identifier: {p.identifier for p in t.prototypes} for t in prototypes.types()}
    assert {"postgres", "mysql", "sqlite", "duckdb", "file", "sample"} <= by_type[
        "incoming-configuration"]
    assert {"postgres", "mysql", "sqlite", "duckdb", "file"} <= by_type[
        "outgoing-configuration"]
    assert "memory" not in by_type["incoming-configuration"]
    assert {"set", "copy", "move", "remove", "rename", "jsonata", "filter", "hash", "mask",
            "split", "storage-merge", "chain"} == by_type["transformer"]
    assert by_type["route-configuration"] == {"route"}
    assert by_type["storage"] == {"storage"}
    assert by_type["scheduler-entry"] == {"cron"}


def test_every_prototype_test_case_passes() -> None:
    outcomes = prototypes.run_tests()
    assert len(outcomes) >= 30
    assert [o for o in outcomes if o.exception] == []


def test_documentation_is_written_from_the_schema() -> None:
    doc = prototypes.get_prototype("incoming-configuration", "postgres").documentation
    assert "| `stream` | string | yes |" in doc
    assert "exactly one of: source, configuration" in doc


@pytest.mark.parametrize(("type_", "obj", "path"), [
    ("transformer", {"prototype": "rename", "parameters": {}}, "object.parameters.mapping"),
    ("transformer", {"prototype": "nope", "parameters": {}}, "object.prototype"),
    ("transformer", {"prototype": "jsonata", "parameters": {"expression": "$count("}},
     "object.parameters.expression"),
    ("scheduler-entry", {"prototype": "cron", "parameters": {
        "expression": "every day", "commands": [{"command": "route:run",
                                                 "arguments": {"route": "r"}}]}},
     "object.parameters.expression"),
    ("incoming-configuration", {"prototype": "postgres", "parameters": {
        "stream": "t", "configuration": {"host": "h", "port": "many", "database": "d",
                                         "username": "u"}}},
     "object.parameters.configuration.port"),
    ("incoming-configuration", {"prototype": "sample", "parameters": {"stream": "t"}},
     "object.parameters"),
    ("route-configuration", {"parameters": {"incoming": "Not An Id", "outgoing": "o"}},
     "object.parameters.incoming"),
])
def test_a_configuration_that_breaks_its_schema_names_the_field(type_: str, obj: Any,
                                                                path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        prototypes.validate(type_, obj)
    assert path in [e.path for e in caught.value.errors]


def test_a_secret_that_breaks_the_schema_is_not_echoed() -> None:
    with pytest.raises(InvalidInput) as caught:
        prototypes.validate("incoming-configuration", {"prototype": "postgres", "parameters": {
            "stream": "t", "configuration": {"host": "h", "port": 5432, "database": "d",
                                             "username": "u", "password": 123456}}})
    (error,) = caught.value.errors
    assert error.path == "object.parameters.configuration.password"
    assert "123456" not in error.reason
    assert error.value == "**********"


def test_a_variable_reference_is_checked_when_it_runs() -> None:
    proto, obj = prototypes.validate("incoming-configuration", {
        "prototype": "postgres", "parameters": {
            "stream": "t", "configuration": {"host": "${PG_HOST}", "port": "${PG_PORT}",
                                             "database": "d", "username": "u"}}})
    assert obj["parameters"]["configuration"]["port"] == "${PG_PORT}"
    assert proto.identifier == "postgres"


def test_references_to_other_configurations_come_from_the_schema() -> None:
    route = prototypes.get_prototype("route-configuration", "route")
    found = prototypes.references(route, {"incoming": "in", "outgoing": "out",
                                          "transformers": ["a", "${T}"],
                                          "changeDetection": {"storage": "seen"}})
    assert {(r.type, r.identifier, r.path) for r in found} == {
        ("incoming-configuration", "in", "object.parameters.incoming"),
        ("outgoing-configuration", "out", "object.parameters.outgoing"),
        ("transformer", "a", "object.parameters.transformers.0"),
        ("storage", "seen", "object.parameters.changeDetection.storage")}


def test_an_unknown_type_is_not_found() -> None:
    with pytest.raises(NotFound):
        prototypes.get_type("listener")

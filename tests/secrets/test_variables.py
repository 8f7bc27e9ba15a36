"""``${NAME}`` references: resolution, literal ``$${``, typed fields, and where encrypted
values may go."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.secrets.variables import Variable, allows, guard, names, references, resolve

SCHEMA = {"type": "object", "properties": {
    "host": {"type": "string"}, "port": {"type": "integer"}, "ssl": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "tunnel": {"oneOf": [{"properties": {"tunnel_port": {"type": "integer"}}}]}}}
VARS = {"HOST": Variable("HOST", "db.example.com"), "PORT": Variable("PORT", "6432"),
        "ON": Variable("ON", "true"), "PW": Variable("PW", "s3cret", encrypted=True)}


@pytest.mark.parametrize(("config", "expected"), [
    ({"host": "${HOST}"}, {"host": "db.example.com"}),
    ({"port": "${PORT}"}, {"port": 6432}),
    ({"ssl": "${ON}"}, {"ssl": True}),
    ({"tunnel": {"tunnel_port": "${PORT}"}}, {"tunnel": {"tunnel_port": 6432}}),
    ({"host": "${PORT}"}, {"host": "6432"}),  # a string field keeps the text
    ({"host": "pg-${PORT}.internal"}, {"host": "pg-6432.internal"}),
    ({"tags": ["a", "${HOST}"]}, {"tags": ["a", "db.example.com"]}),
    ({"host": "$${HOST}"}, {"host": "${HOST}"}),  # $${ writes a literal ${
    ({"host": "a$${b}${HOST}"}, {"host": "a${b}db.example.com"}),
    ({"host": "${not a name}"}, {"host": "${not a name}"}),
])
def test_references_resolve_to_the_fields_type(config: dict[str, Any],
                                               expected: dict[str, Any]) -> None:
    resolved, missing = resolve(config, VARS, SCHEMA)
    assert (resolved, missing) == (expected, [])


def test_a_missing_variable_is_named_with_its_field_and_left_as_written() -> None:
    resolved, missing = resolve({"tags": ["${NOPE}"], "host": "$${NOPE}"}, VARS, SCHEMA)
    assert resolved == {"tags": ["${NOPE}"], "host": "${NOPE}"}
    assert [(e.path, "${NOPE}" in e.reason) for e in missing] == [("tags.0", True)]


def test_references_list_names_by_path_but_not_literals() -> None:
    config = {"a": {"b": "${X}-${Y}"}, "c": "$${Z}", "d": 5}
    assert references(config) == {"a.b": ["X", "Y"]}
    assert names(config) == {"X", "Y"}


@pytest.mark.parametrize(("allowed", "target", "ok"), [
    (("db.example.com",), "db.example.com", True),
    (("DB.example.com",), "db.example.com:5432", True),
    (("db.example.com",), "https://db.example.com/x", True),
    (("db.example.com",), "evil.example.com", False),
    (("db.example.com",), "db.example.com.evil.net", False),
    (("https://api.example.com/v1/",), "https://api.example.com/v1/orders", True),
    (("https://api.example.com/v1/",), "https://api.example.com/v2/", False),
])
def test_allowed_targets_match_hosts_and_url_prefixes(allowed: tuple[str, ...], target: str,
                                                      ok: bool) -> None:
    assert allows(allowed, target) is ok


def test_an_encrypted_variable_goes_only_to_its_targets() -> None:
    listed = {**VARS, "PW": Variable("PW", "s3cret", True, ("db.example.com",))}
    raw = {"host": "evil.example.com", "password": "${PW}"}
    problems = guard(raw, resolve(raw, listed)[0], listed)
    assert [e.path for e in problems] == ["host"]
    raw["host"] = "db.example.com"
    assert guard(raw, resolve(raw, listed)[0], listed) == []


def test_a_host_from_a_plain_variable_cannot_carry_an_unlisted_encrypted_one() -> None:
    raw = {"host": "${HOST}", "password": "${PW}"}
    problems = guard(raw, resolve(raw, VARS)[0], VARS)
    assert [e.path for e in problems] == ["host"]
    assert "s3cret" not in str(problems)
    assert guard({"host": "fixed.example.com", "password": "${PW}"},
                 {"host": "fixed.example.com", "password": "s3cret"}, VARS) == []

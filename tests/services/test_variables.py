"""Environment variables: roles, encryption at rest, the audit trail, and ``${NAME}`` in
connector configurations (checked at save, resolved only to run)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sluiceway.core.errors import ConfigInvalid, Conflict, Fatal, Forbidden, InvalidInput
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.actors import load_actor
from sluiceway.services import actors, audit, auth, criteria, space_users, spaces, variables
from sluiceway.services.platform import Platform
from sluiceway.store.models import Actor, ConnectorDefinition, EnvironmentVariable

V, E, A = "viewer@team.example", "editor@team.example", "admin@team.example"
PG = {"host": "db.example.com", "port": 5432, "database": "shop", "username": "reader"}


@pytest.fixture
def team(platform: Platform, admin: auth.Caller) -> dict[str, Any]:
    ws = spaces.create(platform, admin, spaces.SpaceInput("team-a", "Team A", "dev"),
                       [(V, "ROLE_USER"), (E, "ROLE_EDITOR"), (A, "ROLE_ADMINISTRATOR")])
    return {"ws": ws.id, **{k: auth.caller_for(platform, k, "192.0.2.9") for k in (V, E, A)}}


def _pg(p: Platform) -> str:
    with p.db.session() as s:
        return s.scalars(select(ConnectorDefinition.id).where(
            ConnectorDefinition.docker_repository == "postgres",
            ConnectorDefinition.kind == "source")).one()


def _var(name: str, value: str, encrypted: bool = False,
         targets: list[str] | None = None) -> variables.VariableInput:
    return variables.VariableInput(name, value, "", encrypted, targets)


def test_viewers_read_names_editors_plain_values_and_nobody_an_encrypted_value(
        platform: Platform, team: dict[str, Any]) -> None:
    ws = team["ws"]
    variables.create(platform, team[E], ws, _var("DB_HOST", "db.example.com"))
    with pytest.raises(Forbidden):
        variables.create(platform, team[E], ws, _var("DB_PASSWORD", "pw-1", encrypted=True))
    with pytest.raises(Forbidden):
        variables.create(platform, team[V], ws, _var("OTHER", "x"))
    made = variables.create(platform, team[A], ws, _var("DB_PASSWORD", "pw-1", True))
    assert made.value is None
    assert made.encrypted
    for who in (A, E, V):
        seen = {v.name: v.value for v in variables.list_variables(
            platform, team[who], ws, criteria.Criteria())[0]}
        assert seen == {"DB_HOST": None if who == V else "db.example.com",
                        "DB_PASSWORD": None}
    with platform.db.session() as s:
        stored = s.scalars(select(EnvironmentVariable.value).where(
            EnvironmentVariable.name == "DB_PASSWORD")).one()
    assert "pw-1" not in stored
    assert platform.cipher.decrypt(stored) == "pw-1"
    with pytest.raises(Forbidden):
        variables.update(platform, team[E], ws, "DB_PASSWORD", variables.VariableInput(
            "DB_PASSWORD", "mine"))
    with pytest.raises(Conflict):
        variables.create(platform, team[E], ws, _var("DB_HOST", "again"))


def test_a_blank_value_keeps_an_encrypted_value_and_plain_needs_a_new_one(
        platform: Platform, team: dict[str, Any]) -> None:
    ws, admin = team["ws"], team[A]
    variables.create(platform, admin, ws, _var("TOKEN", "t-1", True))
    variables.update(platform, admin, ws, "TOKEN", variables.VariableInput(
        "TOKEN", "", "the API token"))
    with platform.db.session() as s:
        v = s.scalars(select(EnvironmentVariable)).one()
        assert platform.cipher.decrypt(v.value) == "t-1"
        assert v.description == "the API token"
    with pytest.raises(InvalidInput) as caught:
        variables.update(platform, admin, ws, "TOKEN", variables.VariableInput(
            "TOKEN", "", encrypted=False))
    assert caught.value.errors[0].path == "value"
    view = variables.update(platform, admin, ws, "TOKEN", variables.VariableInput(
        "TOKEN", "public-now", encrypted=False))
    assert (view.value, view.encrypted) == ("public-now", False)


def test_every_change_is_audited_with_encrypted_values_masked(
        platform: Platform, team: dict[str, Any], admin: auth.Caller) -> None:
    ws = team["ws"]
    variables.create(platform, team[A], ws, _var("KEY", "k-secret-1", True))
    variables.update(platform, team[A], ws, "KEY", variables.VariableInput("KEY", "k-2"))
    variables.delete(platform, team[A], ws, "KEY")
    entries, _ = audit.list_entries(platform, admin, criteria.Criteria(), ws)
    actions = [e.action for e in entries if e.category == "environment"]
    assert actions == ["variable.delete", "variable.update", "variable.create"]
    assert "k-secret-1" not in repr(entries)
    assert "k-2" not in repr(entries)


@pytest.mark.parametrize(("name", "field"), [("bad name", "name"), ("", "name")])
def test_a_bad_name_is_refused_naming_the_field(platform: Platform, team: dict[str, Any],
                                                name: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        variables.create(platform, team[E], team["ws"], _var(name, "x"))
    assert caught.value.errors[0].path == field


def test_a_reference_in_an_integer_field_is_checked_with_the_variables_value(
        platform: Platform, team: dict[str, Any]) -> None:
    ws, editor, pg = team["ws"], team[E], _pg(platform)
    config = {**PG, "port": "${DB_PORT}"}
    # the variable does not exist yet: the field is not type-checked, the reference is kept
    made = actors.create(platform, editor, "source", ws, pg, config, "shop")
    assert made.config["port"] == "${DB_PORT}"
    variables.create(platform, editor, ws, _var("DB_PORT", "not-a-port"))
    with pytest.raises(ConfigInvalid) as caught:
        actors.update_config(platform, editor, "source", made.id, config, "shop")
    assert caught.value.errors[0].path == "config.port"
    variables.update(platform, editor, ws, "DB_PORT",
                     variables.VariableInput("DB_PORT", "6432"))
    assert actors.update_config(platform, editor, "source", made.id, config,
                                "shop").config["port"] == "${DB_PORT}"
    with platform.db.session() as s:
        assert s.get_one(Actor, made.id).config["port"] == "${DB_PORT}"


def test_references_resolve_only_to_run_and_encrypted_values_are_redacted(
        platform: Platform, team: dict[str, Any]) -> None:
    ws, pg = team["ws"], _pg(platform)
    variables.create(platform, team[E], ws, _var("DB_PORT", "6432"))
    variables.create(platform, team[A], ws, _var("DB_PASSWORD", "pw-77", True,
                                                  ["db.example.com"]))
    config = {**PG, "port": "${DB_PORT}", "password": "${DB_PASSWORD}",
              "database": "$${literal}"}
    made = actors.create(platform, team[E], "source", ws, pg, config, "shop")
    assert made.config["password"] == "**********"
    ctx = AttemptContext(platform.settings, platform.db, 0, 0)
    plain = load_actor(ctx, made.id)
    assert (plain.config["port"], plain.config["password"], plain.config["database"]) == (
        6432, "pw-77", "${literal}")
    assert "pw-77" not in ctx.redact("login with pw-77 failed")
    with platform.db.session() as s:
        resolved = actors.resolve(s, platform, s.get_one(Actor, made.id))
    assert resolved.config["password"] == "pw-77"
    assert "pw-77" in resolved.secrets
    variables.delete(platform, team[E], ws, "DB_PORT")
    with pytest.raises(Fatal, match=r"\$\{DB_PORT\}"):
        load_actor(ctx, made.id)
    with platform.db.session() as s, pytest.raises(ConfigInvalid) as caught:
        actors.resolve(s, platform, s.get_one(Actor, made.id))
    assert caught.value.errors[0].path == "config.port"


def test_an_unlisted_encrypted_variable_is_for_administrators_only(
        platform: Platform, team: dict[str, Any]) -> None:
    ws, pg = team["ws"], _pg(platform)
    variables.create(platform, team[A], ws, _var("PROD_DB_PASSWORD", "prod-pw", True))
    config = {**PG, "host": "attacker.example.net", "password": "${PROD_DB_PASSWORD}"}
    with pytest.raises(Forbidden, match="PROD_DB_PASSWORD"):
        actors.create(platform, team[E], "source", ws, pg, config, "steal")
    assert actors.create(platform, team[A], "source", ws, pg, {**config, "host": "db"}, "ok")
    # a field filled from an encrypted variable is named without its value
    with pytest.raises(ConfigInvalid) as caught:
        actors.create(platform, team[A], "source", ws, pg,
                      {**PG, "port": "${PROD_DB_PASSWORD}"}, "bad")
    assert caught.value.errors[0].path == "config.port"
    assert "prod-pw" not in repr(caught.value.errors) + str(caught.value)


def test_allowed_targets_let_editors_use_an_encrypted_variable_only_there(
        platform: Platform, team: dict[str, Any]) -> None:
    ws, pg = team["ws"], _pg(platform)
    variables.create(platform, team[A], ws, _var("PW", "pw-9", True, ["db.example.com"]))
    config = {**PG, "password": "${PW}"}
    made = actors.create(platform, team[E], "source", ws, pg, config, "ok")
    with pytest.raises(ConfigInvalid) as caught:
        actors.update_config(platform, team[E], "source", made.id,
                             {**config, "host": "attacker.example.net"}, "steal")
    assert caught.value.errors[0].path == "config.host"
    # changing the list later stops the run, not only the next save
    variables.update(platform, team[A], ws, "PW", variables.VariableInput(
        "PW", None, allowed_targets=["other.example.com"]))
    with pytest.raises(Fatal, match="allowedTargets"):
        load_actor(AttemptContext(platform.settings, platform.db, 0, 0), made.id)


def test_usages_and_candidates_say_where_never_what(platform: Platform,
                                                    team: dict[str, Any]) -> None:
    ws, pg, editor = team["ws"], _pg(platform), team[E]
    one = actors.create(platform, editor, "source", ws, pg,
                        {**PG, "password": "hunter2-literal", "username": "${DB_USER}"}, "one")
    two = actors.create(platform, editor, "source", ws, pg, {**PG, "username": "x"}, "two")
    found = variables.usages(platform, team[V], ws, "DB_USER")
    assert [(u.type, u.identifier, u.paths) for u in found] == [
        ("source", one.id, ("username",))]
    cands = variables.candidates(platform, editor, ws)
    assert "hunter2-literal" not in repr(cands)
    assert "db.example.com" not in repr(cands)
    by_reason = {(c.reason, m.identifier, m.path) for c in cands for m in c.matches}
    assert ("secret", one.id, "password") in by_reason
    assert {("repeated", one.id, "host"), ("repeated", two.id, "host")} <= by_reason
    with pytest.raises(Forbidden):
        variables.candidates(platform, team[V], ws)


def test_a_space_the_caller_is_not_in_shows_no_variables(platform: Platform,
                                                         team: dict[str, Any],
                                                         admin: auth.Caller) -> None:
    other = spaces.create(platform, admin, spaces.SpaceInput("team-b", "B", "dev"))
    variables.create(platform, admin, other.id, _var("B_ONLY", "b"))
    space_users.add_member(platform, admin, "team-b", "outsider@team.example", ["ROLE_USER"])
    with pytest.raises(Exception) as caught:  # noqa: PT011 - NotFound, asserted below
        variables.get(platform, team[A], other.id, "B_ONLY")
    assert type(caught.value).__name__ == "NotFound"

"""The role matrix on the command line: every command of the Typer app has an entry (a new
one cannot skip it), and each command that acts on stored objects runs in-process with
``--as`` as a viewer, an editor, an administrator of space ``team`` and the system
administrator ``admin``: a refused one exits non-zero with a clear message and changes
nothing (the audit trail, which every change writes to, stays as it was)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.main import get_command
from typer.testing import CliRunner

from sluiceway.cli.main import app
from sluiceway.core.settings import Settings
from sluiceway.services.platform import open_platform
from sluiceway.store.models import AuditEntry

V, E, A, S = "viewer@team.example", "editor@team.example", "admin@team.example", "admin"
MEMBERS = {V: "viewer", E: "editor", A: "administrator"}


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.env = {"SLUICEWAY_DATA_DIR": str(data_dir)}
        self.runner = CliRunner()
        self.data_dir = data_dir
        self.team_job = ""

    def __call__(self, *args: str, input: str | None = None) -> Any:  # noqa: A002
        return self.runner.invoke(app, list(args), env=self.env, input=input)

    def ok(self, *args: str, input: str | None = None) -> str:  # noqa: A002
        r = self(*args, input=input)
        assert r.exit_code == 0, (args, r.output)
        return str(r.output)

    def audit_count(self) -> int:
        p = open_platform(Settings(data_dir=self.data_dir))
        try:
            with p.db.session() as s:
                return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)
        finally:
            p.close()

    def member(self) -> str:
        email = f"{_unique('m')}@team.example"
        self.ok("users", "add", email, "--space", "team", "--role", "viewer")
        return email

    def system_admin(self) -> str:
        email = f"{_unique('sys')}@example.com"
        self.ok("users", "system-admins", "add", email)
        return email

    def variable(self) -> str:
        name = _unique("VAR").replace("-", "_").upper()
        self.ok("variables", "set", name, "--value", "v", "--space", "team")
        return name

    def job(self, space: str = "team") -> str:
        """A queued sync of a connection of ``space`` (its log is read, not run)."""
        from sluiceway.services import auth, connections
        from tests.web.conftest import sample_connection

        p = open_platform(Settings(data_dir=self.data_dir))
        try:
            conn = sample_connection(p, _unique("sync"), space)
            return str(connections.sync(p, auth.caller_for(p, "admin"), conn).id)
        finally:
            p.close()

    def token(self, who: str) -> str:
        out = self.ok("tokens", "create", who, "--name", "t", "--as", who)
        listed = self.ok("tokens", "list", "--user", who, "--as", who)
        assert out
        return listed.splitlines()[-1].split()[0]


READ, WRITE, ADMIN, SYSTEM, SELF, EXCLUDED = "read", "write", "admin", "system", "self", "-"


@dataclass(frozen=True)
class Command:
    cls: str
    args: Callable[[Cli, str], list[str]] | None = None
    input: str | None = None
    why: str = ""


def _import_file(cli: Cli, _: str) -> list[str]:
    path = cli.data_dir / f"{_unique('import')}.ndjson"
    path.write_text(json.dumps({"type": "transformer", "identifier": _unique("made"),
                                "name": "Made", "object": {"prototype": "remove",
                                                           "parameters": {"keys": ["x"]}}}))
    return ["configurations", "import", str(path), "--space", "team"]


_LOCAL = ("works on a connector or a pipeline file given on the command line, not on stored "
          "objects of a space")
COMMANDS: dict[str, Command] = {
    "audit list": Command(ADMIN, lambda c, w: ["audit", "list", "--space", "team"]),
    "configurations export": Command(WRITE, lambda c, w: [
        "configurations", "export", "--space", "team", "--output",
        str(c.data_dir / f"{_unique('out')}.ndjson")]),
    "configurations import": Command(WRITE, _import_file),
    "configurations list": Command(READ, lambda c, w: ["configurations", "list",
                                                       "--space", "team"]),
    "spaces create": Command(SYSTEM, lambda c, w: ["spaces", "create", _unique("made")]),
    "spaces list": Command(READ, lambda c, w: ["spaces", "list"]),
    "tokens create": Command(SELF, lambda c, w: ["tokens", "create", w, "--name", "mine"]),
    "tokens list": Command(SELF, lambda c, w: ["tokens", "list"]),
    "tokens revoke": Command(SELF, lambda c, w: ["tokens", "revoke", c.token(w)]),
    "users add": Command(ADMIN, lambda c, w: [
        "users", "add", f"{_unique('new')}@team.example", "--space", "team"]),
    "users create": Command(SYSTEM, lambda c, w: [
        "users", "create", _unique("login"), "--workspace", "team", "--password",
        "a-long-password-1"]),
    "users list": Command(READ, lambda c, w: ["users", "list", "--space", "team"]),
    "users remove": Command(ADMIN, lambda c, w: ["users", "remove", c.member(),
                                                 "--space", "team"]),
    # another user's password: an administrator of every space the user is in (a fresh
    # member is in team only), or a system administrator
    "users set-password": Command(ADMIN, lambda c, w: ["users", "set-password", c.member(),
                                                       "--password-stdin"],
                                  input="a-long-password-2\n"),
    "users set-role": Command(ADMIN, lambda c, w: ["users", "set-role", c.member(),
                                                   "--space", "team", "--role", "editor"]),
    "users system-admins add": Command(SYSTEM, lambda c, w: [
        "users", "system-admins", "add", f"{_unique('sys')}@example.com"]),
    "users system-admins list": Command(SYSTEM, lambda c, w: ["users", "system-admins",
                                                              "list"]),
    "users system-admins remove": Command(SYSTEM, lambda c, w: [
        "users", "system-admins", "remove", c.system_admin()]),
    # plain variables are an editor's; encrypted ones an administrator's
    "variables set": Command(WRITE, lambda c, w: [
        "variables", "set", _unique("NEW").replace("-", "_").upper(), "--value", "v",
        "--space", "team"]),
    "variables delete": Command(WRITE, lambda c, w: ["variables", "delete", c.variable(),
                                                     "--space", "team"]),
    "variables list": Command(READ, lambda c, w: ["variables", "list", "--space", "team"]),
    "check": Command(EXCLUDED, why=_LOCAL),
    "discover": Command(EXCLUDED, why=_LOCAL),
    "spec": Command(EXCLUDED, why=_LOCAL),
    "connectors": Command(EXCLUDED, why="lists the connectors this installation has"),
    "run": Command(EXCLUDED, why=_LOCAL),
    "version": Command(EXCLUDED, why="prints the version"),
    "serve": Command(EXCLUDED, why="starts the server (whose API the API matrix walks)"),
    "worker": Command(EXCLUDED, why="starts a worker process"),
    "jobs logs": Command(READ, lambda c, w: ["jobs", "logs", c.team_job]),
}


def _commands(group: Any, prefix: str = "") -> Iterator[str]:
    for name, sub in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        if hasattr(sub, "commands"):
            yield from _commands(sub, path)
        else:
            yield path


def test_every_command_has_an_entry() -> None:
    found = set(_commands(get_command(app)))
    assert not found - set(COMMANDS), f"commands without a matrix entry: {found - set(COMMANDS)}"
    assert not set(COMMANDS) - found, f"entries of no command: {set(COMMANDS) - found}"
    for name, c in COMMANDS.items():
        assert c.cls != EXCLUDED or c.why, name


def _leaves(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, sub in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        if hasattr(sub, "commands"):
            yield from _leaves(sub, path)
        else:
            yield path, sub


def test_every_command_that_acts_as_a_user_takes_as() -> None:
    """A command on stored objects acts as someone: each one takes ``--as EMAIL``."""
    missing = [name for name, command in _leaves(get_command(app))
               if COMMANDS[name].cls != EXCLUDED
               and not any("--as" in getattr(p, "opts", ()) for p in command.params)]
    assert not missing, f"commands without --as: {missing}"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    c = Cli(tmp_path_factory.mktemp("cli") / "data")
    c.ok("spaces", "create", "team")
    for who, role in MEMBERS.items():
        c.ok("users", "add", who, "--space", "team", "--role", role)
    c.team_job = c.job()
    return c


def _allowed(cls: str, who: str) -> bool:
    return (who == S or cls in (READ, SELF) or (cls == WRITE and who != V)
            or (cls == ADMIN and who == A))


WALKED = [name for name, c in COMMANDS.items() if c.cls != EXCLUDED]


@pytest.mark.parametrize("who", [V, E, A, S], ids=["viewer", "editor", "admin", "sysadmin"])
@pytest.mark.parametrize("name", WALKED)
def test_cli_role_matrix(cli: Cli, name: str, who: str) -> None:
    command = COMMANDS[name]
    assert command.args is not None
    args = [*command.args(cli, who), "--as", who]
    before = cli.audit_count()
    r = cli(*args, input=command.input)
    if _allowed(command.cls, who):
        assert r.exit_code == 0, r.output
        return
    assert r.exit_code != 0, r.output
    assert "may not" in r.output or "only a system administrator" in r.output, r.output
    assert cli.audit_count() == before, "a refused command changed something"


def test_a_job_of_a_space_one_is_not_in_is_not_found(cli: Cli) -> None:
    cli.ok("spaces", "create", "rival")
    job = cli.job("rival")
    for who in (V, E, A):
        r = cli("jobs", "logs", job, "--as", who)
        assert r.exit_code == 2, r.output
        assert f"job {job} not found" in r.output
    cli.ok("jobs", "logs", job, "--as", S)

"""``sluiceway spaces``, ``variables`` and ``audit`` as a user runs them (a process each),
through the same services, policy and audit trail as the platform API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from sluiceway.core.settings import Settings
from sluiceway.services.platform import open_platform
from sluiceway.store.models import EnvironmentVariable


def _sluiceway(tmp_path: Path, *args: str,
               stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SLUICEWAY_")}
    environ.update(SLUICEWAY_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run([sys.executable, "-m", "sluiceway.cli.main", *args], env=environ,
                          input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)


def test_spaces_variables_and_audit_from_the_command_line(tmp_path: Path) -> None:
    made = _sluiceway(tmp_path, "spaces", "create", "team-a", "--name", "Team A",
                      "--purpose", "dev")
    assert made.returncode == 0, made.stderr
    listed = _sluiceway(tmp_path, "spaces", "list")
    assert ["default", "team-a"] == [line.split()[0] for line in
                                     listed.stdout.splitlines()[1:]]
    plain = _sluiceway(tmp_path, "variables", "set", "DB_HOST", "--value", "db.example.com",
                       "--space", "team-a")
    assert plain.returncode == 0, plain.stderr
    secret = _sluiceway(tmp_path, "variables", "set", "DB_PASSWORD", "--value-stdin",
                        "--encrypted", "--allow-target", "db.example.com",
                        "--space", "team-a", stdin="cli-secret-42\n")
    assert secret.returncode == 0, secret.stderr
    assert "encrypted variable DB_PASSWORD created" in secret.stderr
    shown = _sluiceway(tmp_path, "variables", "list", "--space", "team-a")
    assert "db.example.com" in shown.stdout
    assert "(encrypted)" in shown.stdout
    assert "cli-secret-42" not in shown.stdout
    p = open_platform(Settings(data_dir=tmp_path / "data"))
    try:
        with p.db.session() as s:
            stored = s.scalars(select(EnvironmentVariable).where(
                EnvironmentVariable.name == "DB_PASSWORD")).one()
            assert stored.encrypted
            assert p.cipher.decrypt(stored.value) == "cli-secret-42"
            assert stored.allowed_targets == ["db.example.com"]
    finally:
        p.close()
    gone = _sluiceway(tmp_path, "variables", "delete", "DB_HOST", "--space", "team-a")
    assert gone.returncode == 0, gone.stderr
    trail = _sluiceway(tmp_path, "audit", "list", "--space", "team-a")
    assert trail.returncode == 0, trail.stderr
    actions = [line.split()[4] for line in trail.stdout.splitlines()[1:]]
    assert actions == ["variable.delete", "variable.create", "variable.create",
                       "space.create"]
    assert all(line.split()[3] == "cli" for line in trail.stdout.splitlines()[1:])
    assert "cli-secret-42" not in trail.stdout


def test_the_command_line_obeys_the_same_policy_and_names_bad_input(tmp_path: Path) -> None:
    bad = _sluiceway(tmp_path, "variables", "set", "has space", "--value", "x")
    assert bad.returncode == 2
    assert "name" in bad.stderr
    nobody = _sluiceway(tmp_path, "spaces", "list", "--as", "nobody@example.com")
    assert nobody.returncode == 2
    assert "does not exist" in nobody.stderr
    bad_filter = _sluiceway(tmp_path, "audit", "list", "--filter", '{"where": {"colour": 1}}')
    assert bad_filter.returncode == 2
    assert "colour" in bad_filter.stderr


def test_users_and_system_administrators_from_the_command_line(tmp_path: Path) -> None:
    assert _sluiceway(tmp_path, "spaces", "create", "team-a").returncode == 0
    added = _sluiceway(tmp_path, "users", "add", "ed@team.example", "--space", "team-a",
                       "--role", "editor")
    assert added.returncode == 0, added.stderr
    assert "as ROLE_EDITOR" in added.stderr
    boss = _sluiceway(tmp_path, "users", "add", "boss@team.example", "--space", "team-a",
                      "--role", "ROLE_ADMINISTRATOR")
    assert boss.returncode == 0, boss.stderr
    # a space administrator manages the space's users, as on the platform API
    viewer = _sluiceway(tmp_path, "users", "add", "vi@team.example", "--space", "team-a",
                        "--as", "boss@team.example")
    assert viewer.returncode == 0, viewer.stderr
    refused = _sluiceway(tmp_path, "users", "add", "x@team.example", "--space", "team-a",
                         "--as", "ed@team.example")
    assert refused.returncode == 2
    assert "may not do this" in refused.stderr
    bad_role = _sluiceway(tmp_path, "users", "add", "x@team.example", "--space", "team-a",
                          "--role", "owner")
    assert bad_role.returncode == 2
    assert "unknown role 'owner'" in bad_role.stderr
    roles = _sluiceway(tmp_path, "users", "set-role", "vi@team.example", "--space", "team-a",
                       "--role", "editor")
    assert roles.returncode == 0, roles.stderr
    members = _sluiceway(tmp_path, "users", "list", "--space", "team-a")
    assert [line.split() for line in members.stdout.splitlines()[1:]] == [
        ["boss@team.example", "ROLE_ADMINISTRATOR"], ["ed@team.example", "ROLE_EDITOR"],
        ["vi@team.example", "ROLE_EDITOR"]]
    assert _sluiceway(tmp_path, "users", "remove", "vi@team.example", "--space",
                      "team-a").returncode == 0
    everyone = _sluiceway(tmp_path, "users", "list")
    rows = {line.split()[0]: line.split()[1:] for line in everyone.stdout.splitlines()[1:]}
    assert rows["admin"][:2] == ["yes", "set"]
    assert rows["ed@team.example"] == ["no", "none", "team-a:ROLE_EDITOR"]
    assert rows["vi@team.example"] == ["no", "none", "-"]
    assert _sluiceway(tmp_path, "users", "list", "--as", "boss@team.example").returncode == 2
    last = _sluiceway(tmp_path, "users", "system-admins", "remove", "admin")
    assert last.returncode == 2
    assert "last system administrator" in last.stderr
    assert _sluiceway(tmp_path, "users", "system-admins", "add",
                      "ops@team.example").returncode == 0
    assert _sluiceway(tmp_path, "users", "system-admins", "list").stdout.split() == [
        "admin", "ops@team.example"]
    gone = _sluiceway(tmp_path, "users", "system-admins", "remove", "admin",
                      "--as", "ops@team.example")
    assert gone.returncode == 0, gone.stderr
    assert _sluiceway(tmp_path, "users", "system-admins", "list", "--as",
                      "ops@team.example").stdout.split() == ["ops@team.example"]
    trail = _sluiceway(tmp_path, "audit", "list", "--as", "ops@team.example", "--filter",
                       '{"where": {"category": "user"}, "order": "createdAt asc"}')
    actions = [line.split()[4] for line in trail.stdout.splitlines()[1:]]
    assert actions == ["space_user.create"] * 3 + [
        "space_user.update", "space_user.delete", "system_administrator.create",
        "system_administrator.delete"]

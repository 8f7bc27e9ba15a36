"""``sluiceway users`` and ``sluiceway tokens`` as a user runs them (a process each)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from sluiceway.artifacts import verify_password
from sluiceway.core.settings import Settings
from sluiceway.services import auth
from sluiceway.services.platform import open_platform
from sluiceway.store.models import User


def _sluiceway(tmp_path: Path, *args: str, stdin: str | None = None,
               **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SLUICEWAY_")}
    environ.update(SLUICEWAY_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run([sys.executable, "-m", "sluiceway.cli.main", *args], env=environ,
                          input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)


def _stored_hash(tmp_path: Path, username: str) -> str:
    p = open_platform(Settings(data_dir=tmp_path / "data"))
    try:
        with p.db.session() as s:
            return s.scalars(select(User.password_hash).where(User.username == username)
                             ).one()
    finally:
        p.close()


def test_set_password_from_stdin_replaces_the_password(tmp_path: Path) -> None:
    made = _sluiceway(tmp_path, "users", "create", "bob", "--workspace", "team",
                      "--password", "first-password")
    assert made.returncode == 0, made.stderr
    changed = _sluiceway(tmp_path, "users", "set-password", "bob", "--password-stdin",
                         stdin="second-password\n")
    assert changed.returncode == 0, changed.stderr
    stored = _stored_hash(tmp_path, "bob")
    assert verify_password("second-password", stored)
    assert not verify_password("first-password", stored)


def test_set_password_prompts_twice(tmp_path: Path) -> None:
    assert _sluiceway(tmp_path, "users", "create", "bob", "--password",
                      "first-password").returncode == 0
    changed = _sluiceway(tmp_path, "users", "set-password", "bob",
                         stdin="prompted-password\nprompted-password\n")
    assert changed.returncode == 0, changed.stderr
    assert verify_password("prompted-password", _stored_hash(tmp_path, "bob"))


def test_set_password_refuses_a_short_password_and_an_unknown_user(tmp_path: Path) -> None:
    short = _sluiceway(tmp_path, "users", "set-password", "admin", "--password-stdin",
                       stdin="x\n")
    assert short.returncode == 2
    assert "password" in short.stderr
    assert "at least 8" in short.stderr
    unknown = _sluiceway(tmp_path, "users", "set-password", "nobody", "--password-stdin",
                         stdin="long-enough-password\n")
    assert unknown.returncode == 2
    assert "'nobody' does not exist" in unknown.stderr


def test_tokens_create_with_expiry_list_and_revoke(tmp_path: Path) -> None:
    made = _sluiceway(tmp_path, "tokens", "create", "admin", "--name", "ci",
                      "--expires", "30d")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith(auth.TOKEN_PREFIX)
    listed = _sluiceway(tmp_path, "tokens", "list")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["id", "user", "name", "status", "created", "expires", "last",
                              "used"]
    token_id, user, name, status, _, expires, last_used = row.split()
    assert (user, name, status, last_used) == ("admin", "ci", "active", "-")
    in_30_days = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
    assert expires.startswith(in_30_days)
    assert token not in listed.stdout

    p = open_platform(Settings(data_dir=tmp_path / "data"))
    try:
        assert auth.authenticate_token(p, token) is not None
        revoked = _sluiceway(tmp_path, "tokens", "revoke", token_id)
        assert revoked.returncode == 0, revoked.stderr
        assert auth.authenticate_token(p, token) is None
    finally:
        p.close()
    after = _sluiceway(tmp_path, "tokens", "list", "--user", "admin")
    assert after.stdout.splitlines()[1].split()[3] == "revoked"
    again = _sluiceway(tmp_path, "tokens", "revoke", "no-such-id")
    assert again.returncode == 2
    assert "no-such-id" in again.stderr


def test_tokens_create_refuses_an_unreadable_or_past_expiry(tmp_path: Path) -> None:
    for value, reason in [("soon", "neither a span"), ("2020-01-01", "lies in the past")]:
        done = _sluiceway(tmp_path, "tokens", "create", "admin", "--expires", value)
        assert done.returncode == 2, (value, done.stdout)
        assert "expires" in done.stderr
        assert reason in done.stderr
        assert done.stdout == ""


def test_admin_password_setting_after_the_first_start_is_ignored_with_a_warning(
    tmp_path: Path,
) -> None:
    env = {"SLUICEWAY_ADMIN_PASSWORD": "first-admin-password"}
    first = _sluiceway(tmp_path, "tokens", "list", **env)
    assert first.returncode == 0, first.stderr
    assert "ignored" not in first.stderr
    later = _sluiceway(tmp_path, "tokens", "list",
                       SLUICEWAY_ADMIN_PASSWORD="another-admin-password")
    assert later.returncode == 0, later.stderr
    assert "SLUICEWAY_ADMIN_PASSWORD is ignored" in later.stderr
    assert "set-password admin" in later.stderr
    stored = _stored_hash(tmp_path, "admin")
    assert verify_password("first-admin-password", stored)
    assert not verify_password("another-admin-password", stored)


def test_users_and_tokens_commands_act_as_another_user_with_that_users_rights(
        tmp_path: Path) -> None:
    for name in ("bob", "carol"):
        made = _sluiceway(tmp_path, "users", "create", name, "--workspace", "team",
                          "--password", f"{name}-password-1")
        assert made.returncode == 0, made.stderr
    own = _sluiceway(tmp_path, "tokens", "create", "bob", "--name", "bobs", "--as", "bob")
    assert own.returncode == 0, own.stderr
    assert own.stdout.startswith("swt_")
    assert _sluiceway(tmp_path, "tokens", "create", "carol", "--name", "carols").returncode == 0
    theirs = _sluiceway(tmp_path, "tokens", "create", "carol", "--as", "bob")
    assert theirs.returncode == 2
    assert "only a system administrator may create a token of another user" in theirs.stderr
    listed = _sluiceway(tmp_path, "tokens", "list", "--as", "bob")
    assert listed.returncode == 0, listed.stderr
    assert "bobs" in listed.stdout
    assert "carols" not in listed.stdout
    carols_id = next(line.split()[0] for line in _sluiceway(
        tmp_path, "tokens", "list").stdout.splitlines() if "carols" in line)
    refused = _sluiceway(tmp_path, "tokens", "revoke", carols_id, "--as", "bob")
    assert refused.returncode == 2
    assert "does not exist" in refused.stderr
    password = _sluiceway(tmp_path, "users", "set-password", "carol", "--password-stdin",
                          "--as", "bob", stdin="bobs-choice-for-carol\n")
    # bob administers every space carol is in (team): he may set her password
    assert password.returncode == 0, password.stderr
    assert verify_password("bobs-choice-for-carol", _stored_hash(tmp_path, "carol"))
    made = _sluiceway(tmp_path, "users", "create", "erin", "--workspace", "elsewhere",
                      "--password", "erin-password-1")
    assert made.returncode == 0, made.stderr
    password = _sluiceway(tmp_path, "users", "set-password", "erin", "--password-stdin",
                          "--as", "bob", stdin="bobs-choice-for-erin\n")
    assert password.returncode == 2  # erin is in no space of bob's: not found
    assert "does not exist" in password.stderr
    assert verify_password("erin-password-1", _stored_hash(tmp_path, "erin"))
    made = _sluiceway(tmp_path, "users", "create", "dave", "--password", "dave-password-1",
                      "--as", "bob")
    assert made.returncode == 2
    assert "system administrator" in made.stderr

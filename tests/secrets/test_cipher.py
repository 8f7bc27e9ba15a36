"""Secrets at rest: sealing, the key, updates that send the mask back, and log redaction."""

from __future__ import annotations

import json
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from sluiceway.core.errors import Fatal, InvalidInput
from sluiceway.core.settings import Settings
from sluiceway.protocol.spec import MASK, ConnectorSpec
from sluiceway.secrets import (
    SEALED,
    Cipher,
    load_key,
    merge_masked,
    redact,
    seal,
    secret_values,
    unseal,
)

SPEC = ConnectorSpec({
    "type": "object",
    "properties": {
        "host": {"type": "string"},
        "password": {"type": "string", "airbyte_secret": True},
        "pin": {"type": "integer", "airbyte_secret": True},
        "tunnel_method": {"oneOf": [
            {"properties": {"tunnel_method": {"const": "NO_TUNNEL"}}},
            {"properties": {"tunnel_user": {"type": "string"},
                            "tunnel_user_password": {"type": "string", "airbyte_secret": True}}},
        ]},
    },
})

PLAIN: dict[str, Any] = {
    "host": "db.example",
    "password": "hunter2-top",
    "pin": 480913,
    "tunnel_method": {"tunnel_user": "bob", "tunnel_user_password": "s3cret-tunnel"},
}
SECRETS = ["hunter2-top", "480913", "s3cret-tunnel"]


@pytest.fixture
def cipher() -> Cipher:
    return Cipher(Fernet.generate_key())


@pytest.mark.parametrize("config", [
    PLAIN,
    {"host": "h"},
    {"host": "h", "password": None, "tunnel_method": {"tunnel_method": "NO_TUNNEL"}},
    {"password": "", "pin": 0, "tunnel_method": {"tunnel_user_password": "x"}},
], ids=["all", "no-secrets", "none-and-other-branch", "falsy"])
def test_seal_unseal_round_trip(cipher: Cipher, config: dict[str, Any]) -> None:
    before = json.dumps(config)
    sealed = seal(SPEC, config, cipher)
    assert json.dumps(config) == before  # the input is not changed
    assert unseal(sealed, cipher) == config


def test_sealed_config_holds_no_plaintext_secret(cipher: Cipher) -> None:
    sealed = seal(SPEC, PLAIN, cipher)
    assert sealed["host"] == "db.example"
    assert set(sealed["password"]) == {SEALED}
    assert set(sealed["pin"]) == {SEALED}
    assert set(sealed["tunnel_method"]["tunnel_user_password"]) == {SEALED}
    assert sealed["tunnel_method"]["tunnel_user"] == "bob"
    text = json.dumps(sealed)
    for secret in SECRETS:
        assert secret not in text
    assert unseal(sealed, cipher)["pin"] == 480913  # an int stays an int


def test_seal_is_idempotent(cipher: Cipher) -> None:
    once = seal(SPEC, PLAIN, cipher)
    assert seal(SPEC, once, cipher) == once


def test_unseal_needs_no_spec_and_finds_sealed_values_at_any_depth(cipher: Cipher) -> None:
    token = cipher.encrypt(json.dumps({"k": [1, "two"]}))
    stored = {"a": [{"b": {SEALED: token}}, 3], "c": {SEALED: cipher.encrypt('"x"')}}
    assert unseal(stored, cipher) == {"a": [{"b": {"k": [1, "two"]}}, 3], "c": "x"}


def test_wrong_key_raises_fatal_without_the_secret(cipher: Cipher) -> None:
    sealed = seal(SPEC, PLAIN, cipher)
    with pytest.raises(Fatal, match="was the secret key changed") as info:
        unseal(sealed, Cipher(Fernet.generate_key()))
    assert all(secret not in str(info.value) for secret in SECRETS)
    assert info.value.__cause__ is None


def test_rotated_key_still_decrypts_old_tokens() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed = seal(SPEC, PLAIN, Cipher(old))
    assert unseal(sealed, Cipher(new + b"," + old)) == PLAIN


def test_key_file_is_made_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    key = load_key(settings)
    assert stat.S_IMODE(settings.key_path.stat().st_mode) == 0o600
    assert load_key(settings) == key
    assert Cipher.from_settings(settings).decrypt(Cipher(key).encrypt("v")) == "v"


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: load_key(settings), range(16)))
    assert keys == {settings.key_path.read_bytes().strip()}


def test_bad_key_file_names_the_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    settings.key_path.write_text("not-a-key\n")
    with pytest.raises(Fatal, match="secret.key") as info:
        load_key(settings)
    assert "not-a-key" not in str(info.value)


def test_explicit_secret_key_wins(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr(key.decode()))
    assert load_key(settings) == key
    assert not settings.key_path.exists()


@pytest.mark.parametrize("bad", ["short-and-wrong", "", "x" * 44])
def test_invalid_secret_key_names_the_setting_not_the_value(tmp_path: Path, bad: str) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr(bad))
    with pytest.raises(InvalidInput) as info:
        load_key(settings)
    assert [e.path for e in info.value.errors] == ["SLUICEWAY_SECRET_KEY"]
    assert info.value.errors[0].value is None
    if bad:
        assert bad not in str(info.value)


@pytest.mark.parametrize(("incoming", "expected"), [
    ({"host": "db.example", "password": MASK, "pin": MASK,
      "tunnel_method": {"tunnel_user": "bob", "tunnel_user_password": MASK}}, PLAIN),
    ({"host": "db.example", "password": "fresh", "pin": MASK, "comment": "any",
      "tunnel_method": {"tunnel_user": "bob", "tunnel_user_password": "x"}},
     {"host": "db.example", "password": "fresh", "pin": 480913, "comment": "any",
      "tunnel_method": {"tunnel_user": "bob", "tunnel_user_password": "x"}}),
    ({"host": MASK, "password": "p"}, {"host": MASK, "password": "p"}),
], ids=["keeps-stored", "takes-new", "mask-in-plain-field"])
def test_merge_masked(incoming: dict[str, Any], expected: dict[str, Any]) -> None:
    assert merge_masked(SPEC, incoming, PLAIN) == expected


@pytest.mark.parametrize(("change", "moved"), [
    ({"host": "attacker.example"}, "host"),
    ({"port": 1}, "port"),
    ({"tunnel_method": {"tunnel_user": "eve", "tunnel_user_password": MASK}},
     "tunnel_method.tunnel_user"),
    ({"tunnel_method": {"tunnel_user": "bob", "tunnel_host": "evil",
                        "tunnel_user_password": MASK}}, "tunnel_method.tunnel_host"),
], ids=["host", "added-port", "tunnel-user", "tunnel-host"])
def test_merge_masked_refuses_the_mask_when_the_target_changes(
    change: dict[str, Any], moved: str,
) -> None:
    incoming = {"host": "db.example", "password": MASK, "pin": 480913,
                "tunnel_method": {"tunnel_user": "bob", "tunnel_user_password": MASK}}
    with pytest.raises(InvalidInput) as info:
        merge_masked(SPEC, {**incoming, **change}, PLAIN)
    assert "password" in [e.path for e in info.value.errors]
    assert all(moved in e.reason and "send the secret again" in e.reason
               for e in info.value.errors)
    assert "hunter2-top" not in str(info.value)


@pytest.mark.parametrize("stored", [None, {"host": "h"}], ids=["nothing", "other-fields"])
def test_merge_masked_rejects_a_mask_with_nothing_stored(stored: dict[str, Any] | None) -> None:
    incoming = {"password": MASK, "tunnel_method": {"tunnel_user_password": MASK}}
    with pytest.raises(InvalidInput) as info:
        merge_masked(SPEC, incoming, stored)
    assert [e.path for e in info.value.errors] == [
        "password", "tunnel_method.tunnel_user_password"]
    assert "send the real value" in str(info.value)


def test_secret_values_lists_every_present_secret() -> None:
    values = secret_values(SPEC, PLAIN)
    assert set(SECRETS) <= set(values)
    assert "db.example" not in values
    assert secret_values(SPEC, {"host": "h", "password": None}) == []
    assert 'a\\"b' in secret_values(SPEC, {"password": 'a"b'})  # as it shows in JSON


@pytest.mark.parametrize(("text", "secrets", "expected"), [
    ("pw=hunter2 user=bob", ["hunter2"], f"pw={MASK} user=bob"),
    ("a hunter2 b hunter2", ["hunter2"], f"a {MASK} b {MASK}"),
    ("key abcdef", ["abc", "abcdef"], f"key {MASK}"),
    ("id=ab x", ["ab", ""], f"id={MASK} x"),
    ("expected exit", ["x"], "expected exit"),
    ("password 'x' rejected; x.", ["x"], f"password '{MASK}' rejected; {MASK}."),
    ('{"password": "x", "xy": 1}', ["x"], f'{{"password": "{MASK}", "xy": 1}}'),
    ("pin 123 in 91234", ["123"], f"pin {MASK} in 91234"),
    ("_x_ x1 ex", ["x"], "_x_ x1 ex"),
    ("abcd inside xabcdx", ["abcd"], f"{MASK} inside x{MASK}x"),
    ("pin 480913.", ["480913"], f"pin {MASK}."),
    ("a.c abc", ["a.c"], f"{MASK} abc"),
    ("nothing here", [], "nothing here"),
], ids=["one", "repeated", "longest-first", "short-alone", "short-inside-words",
        "short-quoted", "short-json", "short-digits", "short-touching-word-chars",
        "four-anywhere", "int", "regex-chars", "none"])
def test_redact(text: str, secrets: list[str], expected: str) -> None:
    assert redact(text, secrets) == expected

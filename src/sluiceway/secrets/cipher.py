"""Fernet encryption of the secret fields of connector configs, and log redaction."""

from __future__ import annotations

import copy
import json
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sluiceway.core.errors import Fatal, FieldError, InvalidInput
from sluiceway.core.settings import Settings
from sluiceway.protocol.spec import MASK, ConnectorSpec

SEALED = "$sealed"
_ENV = "SLUICEWAY_SECRET_KEY"
_MAKE_ONE = ("make one with: python -c \"from cryptography.fernet import Fernet; "
             "print(Fernet.generate_key().decode())\"")


def _fernets(key: bytes) -> list[Fernet]:
    """One Fernet per comma-separated key; the first encrypts, all decrypt (rotation)."""
    parts = [p.strip() for p in key.split(b",") if p.strip()]
    if not parts:
        raise ValueError("no Fernet key given")
    try:
        return [Fernet(p) for p in parts]
    except (ValueError, TypeError):
        raise ValueError("not a valid Fernet key") from None  # never chain: it may hold the key


def load_key(settings: Settings) -> bytes:
    """The secret key: ``SLUICEWAY_SECRET_KEY`` if set, else the key file (made on first use)."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value().strip().encode()
        try:
            _fernets(key)
        except ValueError:
            raise InvalidInput("invalid settings", [FieldError(
                _ENV, "is not a valid Fernet key (32 url-safe base64-encoded bytes); " + _MAKE_ONE,
            )]) from None
        return key
    path = settings.key_path
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    try:
        os.fchmod(fd, 0o600)  # exact mode whatever the umask
        os.write(fd, key + b"\n")
        os.fsync(fd)
    except OSError:
        os.close(fd)
        path.unlink(missing_ok=True)  # leave no empty key file behind
        raise
    os.close(fd)
    _fsync_dir(path.parent)
    return key


def _read_key_file(path: Path, wait_seconds: float = 2.0) -> bytes:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise Fatal(f"cannot read the key file {path}: {exc.strerror}") from None
        if key or time.monotonic() >= deadline:
            break
        time.sleep(0.05)  # another process made the file and has not written it yet
    try:
        _fernets(key)
    except ValueError:
        raise Fatal(
            f"the key file {path} does not hold a valid Fernet key; restore it from a backup "
            f"(stored secrets need the same key) or set {_ENV}"
        ) from None
    return key


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform; the file itself is synced
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Cipher:
    """Encrypts and decrypts strings with Fernet; ``key`` may list old keys after a comma."""

    def __init__(self, key: bytes) -> None:
        self._fernet = MultiFernet(_fernets(key))
        self._keys = [p.strip() for p in key.split(b",") if p.strip()]

    def derive(self, purpose: bytes) -> list[bytes]:
        """A 32-byte key for ``purpose`` per secret key (HKDF-SHA256), the current one first:
        every process with the same secret key derives the same keys."""
        return [HKDF(hashes.SHA256(), 32, salt=None, info=purpose).derive(k)
                for k in self._keys]

    @classmethod
    def from_settings(cls, settings: Settings) -> Cipher:
        return cls(load_key(settings))

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise Fatal(
                "a stored secret cannot be decrypted: was the secret key changed?") from None


def _parent(config: Any, path: tuple[str, ...]) -> dict[str, Any] | None:
    """The dict that holds the last part of ``path``, or ``None`` when it is not there."""
    node = config
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    return node if path and isinstance(node, dict) and path[-1] in node else None


def _is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(SEALED), str)


def seal(spec: ConnectorSpec, config: dict[str, Any], cipher: Cipher) -> dict[str, Any]:
    """A copy of ``config`` for storage: each secret value becomes ``{"$sealed": token}``."""
    out = copy.deepcopy(config)
    for path in spec.secret_paths():
        node = _parent(out, path)
        if node is None or node[path[-1]] is None or _is_sealed(node[path[-1]]):
            continue
        node[path[-1]] = {SEALED: cipher.encrypt(json.dumps(node[path[-1]]))}
    return out


def unseal(config: dict[str, Any], cipher: Cipher) -> dict[str, Any]:
    """A copy of ``config`` with every ``{"$sealed": token}``, at any depth, decrypted."""

    def walk(value: Any) -> Any:
        if _is_sealed(value):
            return json.loads(cipher.decrypt(value[SEALED]))
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return copy.deepcopy(value)

    out: dict[str, Any] = walk(config)
    return out


#: config keys (at any depth) that decide where a secret is sent or how it travels: a stored
#: secret is never sent somewhere new on the strength of the mask alone
TARGET_KEYS = frozenset({
    "host", "hostname", "hosts", "hostaddr", "server", "address", "port", "database", "db",
    "dbname", "schema_registry_url", "username", "user", "login", "account", "url", "uri",
    "urls", "base_url", "endpoint", "api_url", "domain", "subdomain", "region", "bucket",
    "path", "ssl", "ssl_mode", "sslmode", "tls", "tunnel_method", "tunnel_host",
    "tunnel_port", "tunnel_user", "proxy", "jdbc_url_params", "connection_string",
})


def _targets(config: Any, secrets: set[tuple[str, ...]],
             path: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every target-deciding value of ``config`` by dotted path (secrets left out)."""
    found: dict[str, Any] = {}
    if isinstance(config, dict):
        for key, value in config.items():
            sub = (*path, str(key))
            if sub in secrets:
                continue
            if isinstance(value, dict | list):
                found.update(_targets(value, secrets, sub))
            elif str(key).lower() in TARGET_KEYS:
                found[".".join(sub)] = value
    elif isinstance(config, list):
        for i, value in enumerate(config):
            found.update(_targets(value, secrets, (*path, str(i))))
    return found


def merge_masked(spec: ConnectorSpec, incoming: dict[str, Any],
                 stored_plain: dict[str, Any] | None) -> dict[str, Any]:
    """``incoming`` with each secret sent back as the mask replaced by the stored value.

    The mask keeps a stored secret only while the fields that decide where it goes (host,
    port, database, user, URL, TLS mode... see :data:`TARGET_KEYS`) stay as stored: an update
    that changes one of them must type the secret again, so that nobody can send a stored
    password to a host of their choosing."""
    out = copy.deepcopy(incoming)
    paths = spec.secret_paths()
    errors: list[FieldError] = []
    moved: list[str] | None = None
    for path in paths:
        node = _parent(out, path)
        if node is None or node[path[-1]] != MASK:
            continue
        stored = _parent(stored_plain, path) if stored_plain is not None else None
        if stored is None:
            errors.append(FieldError(
                ".".join(path), "is the mask but no secret is stored; send the real value"))
            continue
        if moved is None:
            before = _targets(stored_plain, set(paths))
            after = _targets(incoming, set(paths))
            moved = sorted(k for k in before.keys() | after.keys()
                           if before.get(k) != after.get(k))
        if moved:
            errors.append(FieldError(
                ".".join(path), f"is the mask, but {', '.join(moved)} changed: the stored "
                "secret is not sent to a new target; send the secret again"))
        else:
            node[path[-1]] = copy.deepcopy(stored[path[-1]])
    if errors:
        raise InvalidInput("invalid connector config", errors)
    return out


def secret_values(spec: ConnectorSpec, config: dict[str, Any]) -> list[str]:
    """The string forms of every secret value in ``config`` (raw, JSON- and URL-escaped)."""
    found: list[str] = []
    for path in spec.secret_paths():
        node = _parent(config, path)
        value = None if node is None else node[path[-1]]
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        for form in (text, json.dumps(text)[1:-1], quote(text, safe="")):
            if form and form not in found:
                found.append(form)
    return found


#: secrets shorter than this are masked only as a whole token (a password ``x`` must not turn
#: ``expected`` into ``e**********pected``); longer ones wherever they appear
SHORT_SECRET = 4


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by the mask.

    A secret of :data:`SHORT_SECRET` or more characters is replaced wherever it appears; a
    shorter one only where it stands alone: not touching a letter, digit or underscore on
    either side (``pw=x``, ``'x'`` and ``x.`` are masked, the ``x`` in ``expected`` is not).
    """
    wanted = {s for s in secrets if s}
    if not wanted:
        return text
    # one pass, longest first: a secret that contains another is replaced whole
    patterns = [re.escape(s) if len(s) >= SHORT_SECRET else rf"(?<!\w){re.escape(s)}(?!\w)"
                for s in sorted(wanted, key=len, reverse=True)]
    return re.sub("|".join(patterns), MASK, text)

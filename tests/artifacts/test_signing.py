"""Signed download links: valid until they expire, and bound to the id and the expiry."""

from __future__ import annotations

import re
import uuid

import pytest

from sluiceway.artifacts import check, derive_key, sign

MASTER = b"a master key of some length, from the settings"
KEY = derive_key(MASTER, "download-links")
ID = str(uuid.UUID(int=7))
EXPIRES = 1_900_000_000


def test_a_signature_is_url_safe_base64_without_padding() -> None:
    signature = sign(KEY, ID, EXPIRES)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", signature)
    assert signature == sign(KEY, ID, EXPIRES)


@pytest.mark.parametrize(("artifact_id", "expires", "signature", "now", "ok"), [
    (ID, EXPIRES, sign(KEY, ID, EXPIRES), EXPIRES - 60, True),            # valid
    (ID, EXPIRES, sign(KEY, ID, EXPIRES), EXPIRES - 0.001, True),          # last moment
    (ID, EXPIRES, sign(KEY, ID, EXPIRES), EXPIRES, False),                 # expired: at expiry
    (ID, EXPIRES, sign(KEY, ID, EXPIRES), EXPIRES + 3600, False),          # expired
    (str(uuid.UUID(int=8)), EXPIRES, sign(KEY, ID, EXPIRES), 0, False),    # tampered id
    (ID, EXPIRES + 86400, sign(KEY, ID, EXPIRES), 0, False),               # tampered expiry
    (ID, EXPIRES, sign(KEY, ID, EXPIRES)[:-1], 0, False),                  # truncated
    (ID, EXPIRES, sign(KEY, ID, EXPIRES) + "=", 0, False),
    (ID, EXPIRES, "", 0, False),
    (ID, EXPIRES, "é" * 43, 0, False),                                     # not ASCII
    (ID, EXPIRES, sign(derive_key(MASTER, "other"), ID, EXPIRES), 0, False),  # other key
], ids=["valid", "last-moment", "at-expiry", "expired", "tampered-id", "tampered-expiry",
        "truncated", "padded", "empty", "non-ascii", "other-purpose-key"])
def test_check_accepts_only_an_untampered_unexpired_signature(
        artifact_id: str, expires: int, signature: str, now: float, ok: bool) -> None:
    assert check(KEY, artifact_id, expires, signature, now) is ok


@pytest.mark.parametrize(("master", "purpose", "same_as_links"), [
    (MASTER, "download-links", True),
    (MASTER, "secrets", False),
    (MASTER + b"!", "download-links", False),
])
def test_derive_key_separates_purposes_and_masters(master: bytes, purpose: str,
                                                   same_as_links: bool) -> None:
    key = derive_key(master, purpose)
    assert len(key) == 32
    assert (key == KEY) is same_as_links
    assert key != master


@pytest.mark.parametrize(("master", "purpose"), [(b"", "links"), (MASTER, "")])
def test_derive_key_refuses_an_empty_master_or_purpose(master: bytes, purpose: str) -> None:
    with pytest.raises(ValueError, match="derive_key"):
        derive_key(master, purpose)


def test_sign_refuses_a_short_key() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        sign(b"short", ID, EXPIRES)

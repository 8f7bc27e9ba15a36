"""Signed download links: HMAC-SHA256 over the artifact id and an expiry time.

The key comes from :func:`derive_key` with its own purpose (``"artifact-links"``, say), so a
leaked link key says nothing about the key that seals secrets, and the reverse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_DOMAIN = b"sluiceway artifact link v1"
_MIN_KEY = 32


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 32-byte key for one ``purpose``, derived from ``master`` with HKDF-SHA256."""
    if not master:
        raise ValueError("derive_key needs a non-empty master key")
    if not purpose:
        raise ValueError("derive_key needs a purpose")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"sluiceway:" + purpose.encode("utf-8"))
    return hkdf.derive(master)


def sign(key: bytes, artifact_id: str, expires: int) -> str:
    """The signature of a link to ``artifact_id`` valid until ``expires`` (Unix seconds).

    URL-safe base64 without padding (43 characters).
    """
    mac = hmac.new(_check_key(key), _message(artifact_id, expires), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def check(key: bytes, artifact_id: str, expires: int, signature: str, now: float) -> bool:
    """True if ``signature`` was made by :func:`sign` for these values and ``now < expires``.

    The comparison takes the same time wherever the first difference lies.
    """
    if isinstance(expires, bool) or not isinstance(expires, int) or now >= expires:
        return False
    if not isinstance(signature, str):
        return False
    expected = sign(key, artifact_id, expires).encode("ascii")
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes) or len(key) < _MIN_KEY:
        raise ValueError(f"a signing key must be at least {_MIN_KEY} bytes: use derive_key()")
    return key


def _message(artifact_id: str, expires: int) -> bytes:
    if isinstance(expires, bool) or not isinstance(expires, int):
        raise TypeError("expires must be an int (Unix seconds)")
    # the expiry is digits only, so the last newline separates the two fields unambiguously
    ident = artifact_id.encode("utf-8", "surrogatepass")
    return b"\n".join([_DOMAIN, ident, str(expires).encode("ascii")])

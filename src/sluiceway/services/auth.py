"""Who is calling: users with passwords (HTTP Basic) and API tokens (Bearer), both hashed.

A :class:`Caller` carries the workspaces the user belongs to; every service checks the
objects it touches against them, and an object elsewhere is reported as not found.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as pysecrets
from dataclasses import dataclass

from sqlalchemy import select

from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import ApiToken, Membership, User, Workspace

_N, _R, _P = 2**14, 8, 1
TOKEN_PREFIX = "swt_"  # noqa: S105 - a visible prefix, not a secret


@dataclass(frozen=True)
class Caller:
    user_id: str
    username: str
    workspace_ids: frozenset[str]

    def can_see(self, workspace_id: str) -> bool:
        return workspace_id in self.workspace_ids


def hash_password(password: str) -> str:
    salt = pysecrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if algo != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                         p=int(p))
    return hmac.compare_digest(got, base64.b64decode(digest))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _caller(p: Platform, user: User) -> Caller:
    with p.db.session() as s:
        ids = s.scalars(select(Membership.workspace_id).where(Membership.user_id == user.id))
        return Caller(user.id, user.username, frozenset(ids))


#: recently verified (user, password) pairs, keyed by an HMAC under a per-process key, so
#: that HTTP Basic does not pay a scrypt per request; entries live for _CACHE_SECONDS
_CACHE_KEY = pysecrets.token_bytes(32)
_CACHE_SECONDS = 60.0
_verified: dict[bytes, tuple[str, float]] = {}


def authenticate_basic(p: Platform, username: str, password: str) -> Caller | None:
    with p.db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).first()
    if user is None:
        hash_password(password)  # spend the same time whether or not the user exists
        return None
    key = hmac.digest(_CACHE_KEY, f"{username}\0{password}\0{user.password_hash}".encode(),
                      "sha256")
    hit = _verified.get(key)
    if hit is not None and hit[0] == user.id and hit[1] > now():
        return _caller(p, user)
    if not verify_password(password, user.password_hash):
        return None
    if len(_verified) > 1000:
        _verified.clear()
    _verified[key] = (user.id, now() + _CACHE_SECONDS)
    return _caller(p, user)


def authenticate_token(p: Platform, token: str) -> Caller | None:
    with p.db.session() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))
                        ).first()
        if row is None or (row.expires_at is not None and row.expires_at < now()):
            return None
        row.last_used_at = now()
        user = s.get(User, row.user_id)
    return _caller(p, user) if user is not None else None


def create_user(p: Platform, username: str, password: str, workspace_slug: str) -> str:
    """Make a user who belongs to the workspace ``workspace_slug`` (made if missing)."""
    if not username or len(password) < 8:
        raise InvalidInput("invalid user", [
            FieldError("password" if username else "username",
                       "must be at least 8 characters" if username else "is required")])
    with p.db.session() as s:
        if s.scalars(select(User).where(User.username == username)).first() is not None:
            raise Conflict(f"user {username!r} already exists")
        ws = s.scalars(select(Workspace).where(Workspace.slug == workspace_slug)).first()
        if ws is None:
            ws = Workspace(name=workspace_slug, slug=workspace_slug)
            s.add(ws)
        user = User(username=username, password_hash=hash_password(password))
        s.add(user)
        s.flush()
        s.add(Membership(user_id=user.id, workspace_id=ws.id))
        return user.id


def create_token(p: Platform, username: str, name: str,
                 ttl_seconds: float | None = None) -> str:
    """A new bearer token for ``username``; the plain token is returned once, never stored."""
    token = TOKEN_PREFIX + pysecrets.token_urlsafe(32)
    with p.db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound(f"user {username!r} does not exist")
        s.add(ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token),
                       expires_at=now() + ttl_seconds if ttl_seconds else None))
    return token

"""API tokens as the platform API has them: JWTs signed with a key derived from the server's
secret key (so every worker of a scale-out verifies them), shown once, stored as their id and
SHA-256, revocable, with their last use and an optional expiry. A token acts as the user who
made it, with that user's roles of the moment, and dies with the user. The older ``swt_``
bearer tokens live in the same table and keep working until revoked.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import jwt
from sqlalchemy import select

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.services import audit, auth, policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import ApiToken, Membership, User
from sluiceway.store.models import new_id as _new_id

ALGORITHM = "HS256"
PURPOSE = b"sluiceway api tokens v1"
ISSUER = "sluiceway"
MAX_NAME = 45
#: how long an access token made from client credentials lives, in seconds
ACCESS_SECONDS = 180
#: the claim that marks such a token: it is not stored (it dies by its expiry alone)
ACCESS_TYPE = "access"


@dataclass(frozen=True)
class TokenView:
    id: str
    name: str
    description: str
    created_at: float
    created_by: str
    last_used_at: float | None
    expires_at: float | None
    revoked_at: float | None


def _view(t: ApiToken, username: str) -> TokenView:
    return TokenView(t.id, t.name, t.description or "", t.created_at, username,
                     t.last_used_at, t.expires_at, t.revoked_at)


def _checked(name: str, description: str) -> None:
    errors = []
    if not name.strip() or len(name) > MAX_NAME:
        errors.append(FieldError("name", f"must be 1 to {MAX_NAME} characters", name))
    if len(description) > 64000:
        errors.append(FieldError("description", "must be at most 64000 characters"))
    if errors:
        raise InvalidInput("invalid token", errors)


def create(p: Platform, caller: Caller, name: str, description: str = "",
           expires_at: float | None = None) -> tuple[str, str]:
    """A new JWT for the caller: (the token, shown this once; its identifier)."""
    _checked(name, description)
    if expires_at is not None and expires_at <= now():
        raise InvalidInput("invalid token", [FieldError("expiresAt", "lies in the past")])
    token_id = _new_id()
    claims: dict[str, object] = {"jti": token_id, "sub": caller.user_id, "iss": ISSUER,
                                 "iat": int(now())}
    if expires_at is not None:
        claims["exp"] = int(expires_at)
    token = jwt.encode(claims, p.cipher.derive(PURPOSE)[0], algorithm=ALGORITHM)
    with p.db.claim() as s:
        s.add(ApiToken(id=token_id, user_id=caller.user_id, name=name,
                       description=description, token_hash=auth.token_hash(token),
                       expires_at=expires_at))
        audit.record(s, caller, "token.create", "token", f"token {name!r} created",
                     request={"identifier": token_id, "name": name,
                              "description": description, "expiresAt": expires_at})
    return token, token_id


def authenticate(p: Platform, token: str) -> Caller | None:
    """The caller a bearer token stands for (a JWT or an ``swt_`` token); ``None`` if the
    token is unknown, badly signed, expired or revoked, or its user is gone."""
    if token.startswith(auth.TOKEN_PREFIX):
        return auth.authenticate_token(p, token)
    claims = None
    for key in p.cipher.derive(PURPOSE):
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["jti", "sub", "iat"]})
            break
        except jwt.PyJWTError:
            continue
    if claims is None:
        return None
    if claims.get("typ") == ACCESS_TYPE:
        if "exp" not in claims:
            return None
        with p.db.session() as s:
            user = s.get(User, str(claims["sub"]))
            return auth.load_caller(s, user) if user is not None else None
    with p.db.session() as s:
        row = s.get(ApiToken, str(claims["jti"]))
        t = now()
        if row is None or row.token_hash != auth.token_hash(token) or \
                row.user_id != claims["sub"] or row.revoked_at is not None or (
                row.expires_at is not None and row.expires_at <= t):
            return None
        token_id = row.id
        stale = row.last_used_at is None or t - row.last_used_at >= auth.LAST_USED_EVERY
        user = s.get(User, row.user_id)
        caller = auth.load_caller(s, user) if user is not None else None
    if caller is not None and stale:
        auth.touch_token(p, token_id, t)
    return caller


def _is_access_token(token: str) -> bool:
    """Whether a JWT says it is an access token (:func:`access_token`); its signature is
    checked where it is used, this only tells the kinds apart."""
    if token.startswith(auth.TOKEN_PREFIX):
        return False
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    return isinstance(claims, dict) and claims.get("typ") == ACCESS_TYPE


def looks_like_token(secret: str) -> bool:
    """Whether a client secret is an API token (``swt_`` or a JWT) rather than a password."""
    return secret.startswith(auth.TOKEN_PREFIX) or (
        secret.count(".") == 2 and secret.startswith("eyJ"))


async def exchange(p: Platform, client_id: str, client_secret: str,
                   address: str) -> tuple[str, int] | None:
    """An access token (and its lifetime in seconds) for client credentials: ``client_id``
    is a user's login, ``client_secret`` that user's password or one of their API tokens.
    ``None`` when they do not match; the login throttle counts and refuses as for HTTP Basic
    (TooManyAttempts). The token is :func:`access_token`; like a login with HTTP Basic, the
    exchange leaves no audit entry (what the token is used for does)."""
    caller: Caller | None
    if looks_like_token(client_secret):
        p.logins.admit(client_id, address)
        # an access token is no client secret: exchanged for another, and that for the
        # next, it would outlive the revocation of the API token it came from
        caller = (None if _is_access_token(client_secret)
                  else await asyncio.to_thread(authenticate, p, client_secret))
        if caller is not None and caller.username != client_id:
            caller = None
    else:
        caller = await auth.authenticate_basic(p, client_id, client_secret, address)
    if caller is None:
        return None
    return access_token(p, caller), ACCESS_SECONDS


def access_token(p: Platform, caller: Caller, seconds: int = ACCESS_SECONDS) -> str:
    """A bearer token of the caller's user that expires after ``seconds``: a signed JWT
    marked as an access token, not stored (so not listed among the user's tokens nor
    revocable; it lives a few minutes). It acts with the user's roles of the moment and
    dies with the user, as an API token does."""
    at = int(now())
    claims: dict[str, object] = {"jti": _new_id(), "sub": caller.user_id, "iss": ISSUER,
                                 "iat": at, "exp": at + seconds, "typ": ACCESS_TYPE}
    return jwt.encode(claims, p.cipher.derive(PURPOSE)[0], algorithm=ALGORITHM)


def list_own(p: Platform, caller: Caller) -> list[TokenView]:
    with p.db.session() as s:
        rows = s.scalars(select(ApiToken).where(ApiToken.user_id == caller.user_id)
                         .order_by(ApiToken.created_at, ApiToken.id))
        return [_view(t, caller.username) for t in rows]


def _token(p: Platform, caller: Caller, token_id: str, manage: bool) -> tuple[ApiToken, str]:
    """A token the caller may see: their own; with ``manage`` also one of a user of a space
    the caller administers (any, for a system administrator). Others are not found."""
    with p.db.session() as s:
        t = s.get(ApiToken, token_id)
        owner = s.get(User, t.user_id) if t is not None else None
        if t is None or owner is None:
            raise NotFound(f"token {token_id} not found", token_id)
        if t.user_id != caller.user_id:
            spaces = s.scalars(select(Membership.workspace_id)
                               .where(Membership.user_id == t.user_id))
            if not manage or not (caller.system_admin or any(
                    policy.allows(caller, policy.MANAGE, ws) for ws in spaces)):
                raise NotFound(f"token {token_id} not found", token_id)
        return t, owner.username


def get(p: Platform, caller: Caller, token_id: str) -> TokenView:
    t, owner = _token(p, caller, token_id, manage=True)
    return _view(t, owner)


def update(p: Platform, caller: Caller, token_id: str, name: str,
           description: str | None) -> TokenView:
    _token(p, caller, token_id, manage=False)
    with p.db.claim() as s:
        t = s.get_one(ApiToken, token_id)
        _checked(name, description if description is not None else t.description or "")
        t.name = name
        if description is not None:
            t.description = description
        audit.record(s, caller, "token.update", "token", f"token {name!r} updated",
                     request={"identifier": token_id, "name": name,
                              "description": description})
        return _view(t, caller.username)


def revoke(p: Platform, caller: Caller, token_id: str) -> TokenView:
    _, owner = _token(p, caller, token_id, manage=True)
    with p.db.claim() as s:
        t = s.get_one(ApiToken, token_id)
        if t.revoked_at is None:
            t.revoked_at = now()
        audit.record(s, caller, "token.revoke", "token", f"token {t.name!r} revoked",
                     request={"identifier": token_id})
        return _view(t, owner)

"""Who is calling: users with passwords (HTTP Basic) and API tokens (Bearer), both hashed.

A :class:`Caller` carries the workspaces the user belongs to with the user's role in each
(see :mod:`sluiceway.services.policy`), whether the user is a system administrator and the
client address the call came from (``cli`` for the command line); every service checks the
objects it touches against them, and an object elsewhere is reported as not found.

Password checks go through the platform's :class:`~sluiceway.services.logins.Logins`
(throttled, off the event loop). A token is stored as its SHA-256 only; one that expired or
was revoked authenticates no one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets as pysecrets
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sluiceway.artifacts import hash_password
from sluiceway.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from sluiceway.services import audit
from sluiceway.services.caller import Caller as Caller  # the services' import of it
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import ApiToken, Membership, User, Workspace

ADMIN = "admin"
TOKEN_PREFIX = "swt_"  # noqa: S105 - a visible prefix, not a secret
MIN_PASSWORD = 8
#: a token's last use is written at most this often (not on every request)
LAST_USED_EVERY = 60.0


def _caller(s: Session, user: User) -> Caller:
    rows = s.execute(select(Membership.workspace_id, Membership.role)
                     .where(Membership.user_id == user.id)).all()
    roles = {ws: role for ws, role in rows}
    return Caller(user.id, user.username, frozenset(roles), roles, bool(user.system_admin))


def load_caller(s: Session, user: User) -> Caller:
    """The caller ``user`` is, with the roles stored now."""
    return _caller(s, user)


def token_hash(token: str) -> str:
    return _token_hash(token)


def caller_for(p: Platform, username: str, address: str = "cli") -> Caller:
    """The caller ``username`` is, acting from ``address`` (the command line by default)."""
    with p.db.session() as s:
        return replace(_caller(s, _user(s, username)), address=address)


def _user(s: Session, username: str) -> User:
    user = s.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"user {username!r} does not exist", username)
    return user


# --- authentication -------------------------------------------------------------------------

def _load(p: Platform, username: str) -> tuple[Caller, str] | None:
    with p.db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).first()
        return None if user is None else (_caller(s, user), user.password_hash)


async def authenticate_basic(p: Platform, username: str, password: str,
                             address: str) -> Caller | None:
    """The caller whose password this is, else ``None``; raises TooManyAttempts when the
    name or ``address`` failed too often lately (an unknown name is treated the same)."""
    p.logins.admit(username, address)
    found = await asyncio.to_thread(_load, p, username)
    ok = await p.logins.check(username, password, address,
                              found[1] if found is not None else None)
    return found[0] if ok and found is not None else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate_token(p: Platform, token: str) -> Caller | None:
    """The caller a bearer token stands for; ``None`` if unknown, expired or revoked."""
    with p.db.session() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))
                        ).first()
        t = now()
        if row is None or row.revoked_at is not None or (
                row.expires_at is not None and row.expires_at <= t):
            return None
        token_id = row.id
        stale = row.last_used_at is None or t - row.last_used_at >= LAST_USED_EVERY
        user = s.get(User, row.user_id)
        caller = _caller(s, user) if user is not None else None
    if caller is not None and stale:
        touch_token(p, token_id, t)
    return caller


def touch_token(p: Platform, token_id: str, t: float) -> None:
    """Keep that a token was used at ``t`` (at most every :data:`LAST_USED_EVERY` seconds):
    a write of its own, so that authenticating (a read) never turns into a write."""
    with p.db.claim() as s:
        s.execute(update(ApiToken).where(
            ApiToken.id == token_id, or_(ApiToken.last_used_at.is_(None),
                                         ApiToken.last_used_at <= t - LAST_USED_EVERY),
        ).values(last_used_at=t))


# --- users ----------------------------------------------------------------------------------

def checked_password(password: str) -> str:
    """``password`` when the password policy takes it (its length), else 400 naming it."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("invalid password", [
            FieldError("password", f"must be at least {MIN_PASSWORD} characters")])
    return password


def _acting_for(by: Caller | None, username: str, what: str) -> None:
    """Pass when ``by`` may ``what`` for ``username``: themselves, or a system administrator
    for anyone (``None``: the server itself, as at the first start)."""
    if by is not None and not by.system_admin and by.username != username:
        raise Forbidden(f"only a system administrator may {what} of another user "
                        f"({username!r})")


def create_user(p: Platform, username: str, password: str, workspace_slug: str, *,
                by: Caller | None = None) -> str:
    """Make a user who administers the workspace ``workspace_slug`` (made if missing);
    ``by`` (who asks, for the audit trail) must be a system administrator when given."""
    if by is not None and not by.system_admin:
        raise Forbidden("only a system administrator (ROLE_SYSTEM_ADMINISTRATOR) may create "
                        "users here")
    if not username:
        raise InvalidInput("invalid user", [FieldError("username", "is required")])
    checked_password(password)
    password_hash = hash_password(password)  # slow on purpose: not while holding the lock
    with p.db.claim() as s:
        if s.scalars(select(User).where(User.username == username)).first() is not None:
            raise Conflict(f"user {username!r} already exists")
        ws = s.scalars(select(Workspace).where(Workspace.slug == workspace_slug)).first()
        if ws is None:
            ws = Workspace(name=workspace_slug, slug=workspace_slug)
            s.add(ws)
        user = User(username=username, password_hash=password_hash)
        s.add(user)
        s.flush()
        s.add(Membership(user_id=user.id, workspace_id=ws.id, role="ROLE_ADMINISTRATOR"))
        if by is not None:
            audit.record(s, by, "user.create", "user", f"user {username!r} created",
                         request={"username": username, "password": password,
                                  "workspace": workspace_slug}, workspace_id=ws.id)
        return user.id


def set_password(p: Platform, username: str, password: str, *,
                 by: Caller | None = None) -> None:
    """Give ``username`` a new password; the old one stops working at once (a remembered
    check names the old stored hash, so it no longer matches, in any process). ``by``:
    the user themselves or a system administrator."""
    _acting_for(by, username, "set the password")
    checked_password(password)
    new_hash = hash_password(password)
    with p.db.claim() as s:
        _user(s, username).password_hash = new_hash
        if by is not None:
            audit.record(s, by, "user.set_password", "user",
                         f"password of {username!r} changed",
                         request={"username": username, "password": password})
    p.logins.forget()


# --- API tokens -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenView:
    id: str
    username: str
    name: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None

    def status(self, at: float) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= at:
            return "expired"
        return "active"


_SPAN = re.compile(r"(\d+)\s*([smhdw])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_expiry(text: str, at: float | None = None) -> float:
    """When a token given ``--expires text`` at ``at`` expires: a span (``30d``, ``12h``,
    ``90m``, ``2w``, ``45s``) from ``at``, or an ISO date (midnight UTC) or date and time
    (UTC unless it names an offset). It must lie in the future."""
    at = now() if at is None else at
    raw = text.strip().lower()
    span = _SPAN.fullmatch(raw)
    if span is not None:
        seconds = int(span.group(1)) * _UNIT[span.group(2)]
        if seconds <= 0:
            raise InvalidInput("invalid expiry", [FieldError("expires", "must be > 0", text)])
        return at + seconds
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput("invalid expiry", [FieldError(
            "expires", "is neither a span like 30d, 12h, 90m, 2w nor an ISO date or date and "
            "time like 2030-01-31 or 2030-01-31T12:00:00+01:00", text)]) from None
    if moment.timestamp() <= at:
        raise InvalidInput("invalid expiry", [FieldError(
            "expires", "lies in the past", text)])
    return moment.timestamp()


def create_token(p: Platform, username: str, name: str,
                 expires_at: float | None = None, *, by: Caller | None = None) -> str:
    """A new bearer token for ``username``; the plain token is returned once, never stored.
    ``by``: the user themselves or a system administrator."""
    _acting_for(by, username, "create a token")
    token = TOKEN_PREFIX + pysecrets.token_urlsafe(32)
    with p.db.claim() as s:
        user = _user(s, username)
        row = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token),
                       expires_at=expires_at)
        s.add(row)
        s.flush()
        if by is not None:
            audit.record(s, by, "token.create", "token",
                         f"token {name!r} of {username!r} created",
                         request={"id": row.id, "username": username, "name": name,
                                  "expiresAt": expires_at})
    return token


def list_tokens(p: Platform, username: str | None = None, *,
                by: Caller | None = None) -> list[TokenView]:
    """Every token (of ``username`` when given), oldest first; never the tokens themselves.
    ``by`` other than a system administrator sees only their own."""
    if by is not None and not by.system_admin:
        _acting_for(by, username or by.username, "list the tokens")
        username = by.username
    with p.db.session() as s:
        q = select(ApiToken, User.username).join(User, ApiToken.user_id == User.id)
        if username is not None:
            q = q.where(User.id == _user(s, username).id)
        rows = s.execute(q.order_by(ApiToken.created_at, ApiToken.id)).all()
        return [TokenView(t.id, u, t.name, t.created_at, t.expires_at, t.last_used_at,
                          t.revoked_at) for t, u in rows]


def revoke_token(p: Platform, token_id: str, *, by: Caller | None = None) -> TokenView:
    """Revoke a token by its id (as :func:`list_tokens` shows it); revoking twice keeps the
    first time."""
    with p.db.claim() as s:
        t = s.get(ApiToken, token_id)
        if t is None:
            raise NotFound(f"token {token_id} does not exist", token_id)
        owner = s.get_one(User, t.user_id).username
        if by is not None and not by.system_admin and by.username != owner:
            raise NotFound(f"token {token_id} does not exist", token_id)  # not theirs to see
        if t.revoked_at is None:
            t.revoked_at = now()
            if by is not None:
                audit.record(s, by, "token.revoke", "token", f"token {t.name!r} revoked",
                             request={"id": t.id})
        user = s.get_one(User, t.user_id)
        return TokenView(t.id, user.username, t.name, t.created_at, t.expires_at,
                         t.last_used_at, t.revoked_at)

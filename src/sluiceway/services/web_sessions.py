"""Browser sessions of the web UI: sign in, resolve a cookie, switch space, sign out.

What enters: a login (``admin`` or an email) and password, or the cookie's token. What
leaves: a :class:`WebSession` (the caller with the roles stored now, the session's CSRF
token and the space the browser looks at), or ``None`` for a token that names no live
session.

Rules:

- Sign-in goes through the same throttled password check as HTTP Basic
  (:func:`~sluiceway.services.auth.authenticate_basic`): failures count per name and per
  address, and too many answer :class:`~sluiceway.core.errors.TooManyAttempts`.
- Only the SHA-256 of the cookie's token is stored. A session unused for
  :data:`IDLE_SECONDS` (12 h) is over: it is deleted the next time it is presented, or at
  the next sign-in of anyone.
  Its last use is written at most every :data:`TOUCH_EVERY` seconds.
- Signing out deletes the row: the cookie authenticates no one afterwards, wherever it was
  copied to. Changing one's password ends the user's other sessions.
- The space shown is one the caller may read (a membership, or any space for a system
  administrator); a space the caller left falls back to their first.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets as pysecrets
from dataclasses import dataclass, replace

from sqlalchemy import delete

from sluiceway.core.errors import FieldError, Forbidden, InvalidInput
from sluiceway.services import auth, policy, spaces
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import User, WebSession

IDLE_SECONDS = 12 * 3600.0
TOUCH_EVERY = 60.0


@dataclass(frozen=True)
class BrowserSession:
    """A live browser session."""

    token_hash: str
    caller: Caller
    csrf: str
    #: the space the browser looks at (one the caller may read), None when it has none
    workspace_id: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _space(p: Platform, caller: Caller, wanted: str | None) -> str | None:
    """``wanted`` when the caller may read it, else the caller's first space."""
    if wanted is not None and policy.allows(caller, policy.READ, wanted):
        return wanted
    listed = spaces.list_spaces(p, caller)
    return listed[0].id if listed else None


def _open(p: Platform, caller: Caller, address: str) -> tuple[str, BrowserSession]:
    token = pysecrets.token_urlsafe(32)
    csrf = pysecrets.token_urlsafe(32)
    workspace_id = _space(p, caller, None)
    prune(p)  # every sign-in sweeps the sessions that ran out (an indexed delete)
    with p.db.session() as s:
        s.add(WebSession(id=_hash(token), user_id=caller.user_id, csrf=csrf,
                         workspace_id=workspace_id, address=address[:100]))
    return token, BrowserSession(_hash(token), caller, csrf, workspace_id)


async def sign_in(p: Platform, login: str, password: str,
                  address: str) -> tuple[str, BrowserSession]:
    """A new session for the user whose password this is: the cookie's token (shown to this
    browser only) and the session. A wrong login or password raises ``Forbidden`` without
    saying which; too many raise ``TooManyAttempts``."""
    login = login.strip()
    if not login or not password:
        raise InvalidInput("sign-in needs a login and a password", [
            FieldError("login" if not login else "password", "is required")])
    caller = await auth.authenticate_basic(p, login, password, address)
    if caller is None:
        raise Forbidden("wrong login or password")
    return await asyncio.to_thread(_open, p, replace(caller, address=address), address)


def resolve(p: Platform, token: str, address: str) -> BrowserSession | None:
    """The live session of a cookie's token, else ``None`` (an idle one is ended here)."""
    if not token:
        return None
    key = _hash(token)
    t = now()
    with p.db.session() as s:
        row = s.get(WebSession, key)
        if row is None:
            return None
        if t - row.last_seen_at > IDLE_SECONDS:
            s.delete(row)
            return None
        user = s.get(User, row.user_id)
        if user is None:
            return None
        caller = replace(auth.load_caller(s, user), address=address)
        if t - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = t
        csrf, wanted = row.csrf, row.workspace_id
    workspace_id = _space(p, caller, wanted)
    if workspace_id != wanted:
        _store_space(p, key, workspace_id)
    return BrowserSession(key, caller, csrf, workspace_id)


def _store_space(p: Platform, key: str, workspace_id: str | None) -> None:
    with p.db.session() as s:
        row = s.get(WebSession, key)
        if row is not None:
            row.workspace_id = workspace_id


def switch_space(p: Platform, session: BrowserSession, workspace_id: str) -> BrowserSession:
    """Look at another space; one the caller may not read answers ``NotFound``."""
    policy.require(session.caller, policy.READ, workspace_id)
    _store_space(p, session.token_hash, workspace_id)
    return replace(session, workspace_id=workspace_id)


def sign_out(p: Platform, token: str) -> bool:
    """End the session on the server; whether there was one."""
    with p.db.session() as s:
        row = s.get(WebSession, _hash(token))
        if row is None:
            return False
        s.delete(row)
        return True


async def change_password(p: Platform, session: BrowserSession, current: str,
                          new: str, repeated: str) -> None:
    """Change the signed-in user's own password: ``current`` must be right (the login
    throttle counts a wrong one), ``new`` typed twice. The user's other sessions end."""
    errors = []
    if new != repeated:
        errors.append(FieldError("repeat", "does not match the new password"))
    if len(new) < auth.MIN_PASSWORD:
        errors.append(FieldError("new", f"must be at least {auth.MIN_PASSWORD} characters"))
    if errors:
        raise InvalidInput("invalid new password", errors)
    caller = session.caller
    ok = await auth.authenticate_basic(p, caller.username, current, caller.address)
    if ok is None:
        raise InvalidInput("invalid password", [FieldError("current", "is not your password")])
    await asyncio.to_thread(auth.set_password, p, caller.username, new, by=caller)
    await asyncio.to_thread(_end_others, p, caller.user_id, session.token_hash)


def _end_others(p: Platform, user_id: str, keep: str) -> None:
    with p.db.session() as s:
        s.execute(delete(WebSession).where(WebSession.user_id == user_id,
                                           WebSession.id != keep))


def prune(p: Platform) -> None:
    """Delete the sessions idle past the limit."""
    with p.db.session() as s:
        s.execute(delete(WebSession).where(WebSession.last_seen_at < now() - IDLE_SECONDS))

"""A space's users and their roles: members read the list, administrators change it.

Users are identified by email (the first administrator keeps the login ``admin``); a user
added here has no password until one is set (``sluiceway users set-password``), and can be
given a token meanwhile. Its password is set by the user (with the current one), by an
administrator of every space the user is in, or by a system administrator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sluiceway.artifacts import hash_password
from sluiceway.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from sluiceway.services import audit, auth, criteria, policy, spaces
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Membership, User, WebSession, Workspace


@dataclass(frozen=True)
class MemberView:
    email: str
    space: str
    role: policy.Role

    @property
    def roles(self) -> list[str]:
        return policy.roles_of(self.role)


COLUMNS: dict[str, criteria.Column] = {
    "email": criteria.Column(User.username, criteria.as_text),
    "roles": criteria.Column(Membership.role, criteria.as_text),
}


def _member(s: Session, ws: Workspace, email: str) -> tuple[User, Membership]:
    row = s.execute(select(User, Membership).join(Membership, Membership.user_id == User.id)
                    .where(Membership.workspace_id == ws.id, User.username == email)).first()
    if row is None:
        raise NotFound(f"user {email!r} is not in space {ws.slug!r}", email)
    return row[0], row[1]


def list_members(p: Platform, caller: Caller, space: str,
                 c: criteria.Criteria) -> tuple[list[MemberView], int]:
    with p.db.session() as s:
        ws = spaces.find(s, caller, space)
        base = (select(User.username, Membership.role)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.workspace_id == ws.id))
        q = base.where(criteria.where_clause(c, COLUMNS))
        total = int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)
        order = criteria.order_by(c, COLUMNS) or [User.username.asc()]
        rows = s.execute(q.order_by(*order).limit(c.limit).offset(c.skip)).all()
        return [MemberView(u, ws.slug, policy.Role(r)) for u, r in rows], total


def get_member(p: Platform, caller: Caller, space: str, email: str) -> MemberView:
    with p.db.session() as s:
        ws = spaces.find(s, caller, space)
        _, m = _member(s, ws, email)
        return MemberView(email, ws.slug, policy.Role(m.role))


def add_member(p: Platform, caller: Caller, space: str, email: str,
               roles: Sequence[str], password: str | None = None) -> MemberView:
    """Add a user to the space; with ``password``, give them that password in the same
    transaction when the caller may (see :func:`_password_allowed`), else nothing is done."""
    role = policy.strongest(roles)
    new_hash = None
    if password:
        auth.checked_password(password)
        new_hash = hash_password(password)  # slow on purpose: not while holding the lock
    with p.db.claim() as s:
        ws = spaces.find(s, caller, space, policy.MANAGE)
        spaces.check_email(email)
        user = s.scalars(select(User).where(User.username == email)).first()
        if user is not None and s.get(Membership, (user.id, ws.id)) is not None:
            raise Conflict(f"user {email!r} is in space {ws.slug!r} already")
        spaces.put_member(s, ws.id, email, role)
        audit.record(s, caller, "space_user.create", "user",
                     f"user {email!r} added to space {ws.slug!r} as {role.value}",
                     request={"email": email, "roles": list(roles)}, workspace_id=ws.id)
        if new_hash is not None:
            s.flush()
            user = s.scalars(select(User).where(User.username == email)).one()
            _password_allowed(s, caller, user)  # raises: the whole call is undone
            user.password_hash = new_hash
            s.execute(delete(WebSession).where(WebSession.user_id == user.id))
            audit.record(s, caller, "user.set_password", "user", f"password of {email!r} set",
                         request={"email": email, "password": password}, workspace_id=ws.id)
        return MemberView(email, ws.slug, role)


def assign(p: Platform, caller: Caller, space: str,
           users: Sequence[tuple[str, Sequence[str]]]) -> list[MemberView]:
    """Give each (email, roles) its role in the space, adding who is new."""
    wanted = [(spaces.check_email(e, f"users[{n}].email"),
               policy.strongest(r, f"users[{n}].roles")) for n, (e, r) in enumerate(users)]
    with p.db.claim() as s:
        ws = spaces.find(s, caller, space, policy.MANAGE)
        for email, role in wanted:
            spaces.put_member(s, ws.id, email, role)
        audit.record(s, caller, "space_user.assign", "user",
                     f"{len(wanted)} user(s) assigned to space {ws.slug!r}",
                     request={"users": [{"email": e, "roles": [r.value]} for e, r in wanted]},
                     workspace_id=ws.id)
        return [MemberView(e, ws.slug, r) for e, r in wanted]


def update_member(p: Platform, caller: Caller, space: str, email: str, new_email: str,
                  roles: Sequence[str]) -> MemberView:
    """Replace the roles (and the email: the user is renamed everywhere) of a member."""
    role = policy.strongest(roles)
    with p.db.claim() as s:
        ws = spaces.find(s, caller, space, policy.MANAGE)
        user, m = _member(s, ws, email)
        if new_email != email:
            # an email is the user's login in every space: renamed only by someone who
            # administers each of them (as for a password)
            _rename_allowed(s, caller, user)
            spaces.check_email(new_email)
            if s.scalars(select(User.id).where(User.username == new_email)).first():
                raise Conflict(f"a user {new_email!r} exists already")
            user.username = new_email
        m.role = role.value
        audit.record(s, caller, "space_user.update", "user",
                     f"user {email!r} of space {ws.slug!r} now {new_email!r} as {role.value}",
                     request={"email": new_email, "roles": list(roles)}, workspace_id=ws.id)
        return MemberView(new_email, ws.slug, role)


def remove_member(p: Platform, caller: Caller, space: str, email: str) -> None:
    with p.db.claim() as s:
        ws = spaces.find(s, caller, space, policy.MANAGE)
        _, m = _member(s, ws, email)
        s.delete(m)
        audit.record(s, caller, "space_user.delete", "user",
                     f"user {email!r} removed from space {ws.slug!r}",
                     request={"email": email}, workspace_id=ws.id)


def _password_allowed(s: Session, caller: Caller, user: User) -> list[str]:
    """Pass when ``caller`` may set ``user``'s password, else raise; the spaces of ``user``
    the caller administers (where the audit entry goes).

    A system administrator may set anyone's. A space administrator may set the password of
    a user of their space when they administer every space that user is in and the user is
    not a system administrator: a password opens every space its user is in, so it is not
    given by someone who does not manage all of them. A user who shares no space with the
    caller is not found; one the caller sees in a space without administering all of the
    user's spaces is refused."""
    theirs = list(s.scalars(select(Membership.workspace_id)
                            .where(Membership.user_id == user.id)
                            .order_by(Membership.workspace_id)))
    managed = [ws for ws in theirs if policy.allows(caller, policy.MANAGE, ws)]
    if caller.system_admin:
        return managed
    if not any(policy.role_in(caller, ws) is not None for ws in theirs):
        raise NotFound(f"user {user.username!r} does not exist", user.username)
    if not managed:
        raise Forbidden("you may not set this user's password: it needs ROLE_ADMINISTRATOR "
                        "in the user's space")
    if user.system_admin or len(managed) < len(theirs):
        raise Forbidden(f"the password of {user.username!r} opens spaces you do not "
                        "administer: only a system administrator may set it")
    return managed


def _rename_allowed(s: Session, caller: Caller, user: User) -> None:
    """Pass when ``caller`` may change ``user``'s email (their login everywhere): a system
    administrator, or an administrator of every space the user is in when the user is not a
    system administrator."""
    if caller.system_admin:
        return
    theirs = list(s.scalars(select(Membership.workspace_id)
                            .where(Membership.user_id == user.id)))
    if user.system_admin or not all(policy.allows(caller, policy.MANAGE, ws) for ws in theirs):
        raise Forbidden(f"the email of {user.username!r} is their login in spaces you do not "
                        "administer: only a system administrator may change it")


def set_password(p: Platform, caller: Caller, email: str, password: str) -> None:
    """Give a user a password (a member added here has none yet); the old one stops working
    and the user's browser sessions end. One's own (the command line, which holds the
    installation), or another's as :func:`_password_allowed` says. The policy is checked
    before the password, so a refused call says nothing about it."""
    with p.db.session() as s:
        user = s.scalars(select(User).where(User.username == email)).first()
        if user is None:
            raise NotFound(f"user {email!r} does not exist", email)
        if user.id != caller.user_id:
            _password_allowed(s, caller, user)
    auth.checked_password(password)
    new_hash = hash_password(password)  # slow on purpose: not while holding the lock
    with p.db.claim() as s:
        user = s.scalars(select(User).where(User.username == email)).first()
        if user is None:
            raise NotFound(f"user {email!r} does not exist", email)
        managed = [] if user.id == caller.user_id else _password_allowed(s, caller, user)
        user.password_hash = new_hash
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        audit.record(s, caller, "user.set_password", "user",
                     f"password of {email!r} set",
                     request={"email": email, "password": password},
                     workspace_id=managed[0] if managed else None)
    p.logins.forget()


async def set_own_password(p: Platform, caller: Caller, password: str,
                           current: str | None) -> None:
    """Change the caller's own password: ``current`` must be right (the login throttle
    counts a wrong one). Their browser sessions end."""
    errors = []
    if not current:
        errors.append(FieldError("currentPassword", "is required to change your own password"))
    if len(password) < auth.MIN_PASSWORD:
        errors.append(FieldError("password",
                                 f"must be at least {auth.MIN_PASSWORD} characters"))
    if errors:
        raise InvalidInput("invalid password", errors)
    ok = await auth.authenticate_basic(p, caller.username, current or "", caller.address)
    if ok is None:
        raise InvalidInput("invalid password", [FieldError("currentPassword",
                                                           "is not your password")])
    await asyncio.to_thread(set_password, p, caller, caller.username, password)

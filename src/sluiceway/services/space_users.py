"""A space's users and their roles: members read the list, administrators change it.

Users are identified by email (the first administrator keeps the login ``admin``); a user
added here has no password until one is set (``sluiceway users set-password``), and can be
given a token meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sluiceway.core.errors import Conflict, NotFound
from sluiceway.services import audit, auth, criteria, policy, spaces
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Membership, User, Workspace


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
               roles: Sequence[str]) -> MemberView:
    role = policy.strongest(roles)
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


def set_password(p: Platform, caller: Caller, email: str, password: str) -> None:
    """Give a user a password (a member added here has none yet): system administrators only,
    as a user may be in spaces the caller does not manage."""
    policy.require(caller, policy.SYSTEM)
    auth.set_password(p, email, password, by=caller)

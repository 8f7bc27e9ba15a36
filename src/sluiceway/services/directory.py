"""The installation's users: its system administrators (who manage spaces and system
administrators and act as administrators in every space), and every user with their spaces.
All of it is for system administrators only.

A system administrator is a user with the system role; making one of an email that is not a
user yet makes the user, without a password until one is set. Removing one takes the role
away (the user stays, with their spaces); the last system administrator cannot be removed,
so the installation always keeps someone who can manage it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.services import audit, criteria, policy, spaces
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Membership, User, Workspace

#: the login the first administrator keeps (it has no email)
ADMIN = "admin"


@dataclass(frozen=True)
class AdminView:
    email: str

    @property
    def roles(self) -> list[str]:
        return [policy.SYSTEM_ADMINISTRATOR]


@dataclass(frozen=True)
class UserEntry:
    email: str
    system_admin: bool
    has_password: bool
    #: (space identifier, role) of each space the user is in
    spaces: tuple[tuple[str, str], ...]
    created_at: float


COLUMNS: dict[str, criteria.Column] = {
    "email": criteria.Column(User.username, criteria.as_text),
}


def check_roles(roles: Sequence[str], field: str = "roles") -> None:
    """The system role array: non-empty, unique, only ``ROLE_SYSTEM_ADMINISTRATOR``."""
    given = list(roles)
    errors = []
    if not given:
        errors.append(FieldError(field, "must name at least one role"))
    if len(set(given)) != len(given):
        errors.append(FieldError(field, "must not repeat a role"))
    errors += [FieldError(f"{field}[{n}]", f"unknown role {r!r}; the one system role is "
                                           f"{policy.SYSTEM_ADMINISTRATOR}", r)
               for n, r in enumerate(given) if r != policy.SYSTEM_ADMINISTRATOR]
    if errors:
        raise InvalidInput("invalid roles", errors)


def _admin(s: Session, email: str) -> User:
    user = s.scalars(select(User).where(User.username == email,
                                        User.system_admin.is_(True))).first()
    if user is None:
        raise NotFound(f"system administrator {email!r} not found", email)
    return user


def list_admins(p: Platform, caller: Caller,
                c: criteria.Criteria) -> tuple[list[AdminView], int]:
    policy.require(caller, policy.SYSTEM)
    with p.db.session() as s:
        base = select(User).where(User.system_admin.is_(True))
        order = c if c.order else criteria.Criteria(c.where, (("email", False),), c.limit,
                                                    c.skip)
        rows, total = criteria.apply(s, base, COLUMNS, order, User.id)
        return [AdminView(u.username) for u in rows], total


def get_admin(p: Platform, caller: Caller, email: str) -> AdminView:
    policy.require(caller, policy.SYSTEM)
    with p.db.session() as s:
        return AdminView(_admin(s, email).username)


def add_admin(p: Platform, caller: Caller, email: str,
              roles: Sequence[str] = (policy.SYSTEM_ADMINISTRATOR,)) -> AdminView:
    """Make ``email`` a system administrator (the user is made when new); 409 if it is one
    already."""
    policy.require(caller, policy.SYSTEM)
    check_roles(roles)
    with p.db.session() as s:
        user = s.scalars(select(User).where(User.username == email)).first()
        if user is None:
            spaces.check_email(email)
            user = User(username=email, password_hash="", system_admin=True)
            s.add(user)
        elif user.system_admin:
            raise Conflict(f"{email!r} is a system administrator already")
        else:
            user.system_admin = True
        audit.record(s, caller, "system_administrator.create", "user",
                     f"{email!r} made a system administrator",
                     request={"email": email, "roles": list(roles)})
        return AdminView(email)


def update_admin(p: Platform, caller: Caller, email: str, new_email: str,
                 roles: Sequence[str]) -> AdminView:
    """Replace a system administrator's email (the user is renamed everywhere) and roles
    (only the system role exists)."""
    policy.require(caller, policy.SYSTEM)
    check_roles(roles)
    with p.db.session() as s:
        user = _admin(s, email)
        if new_email != email:
            if email == ADMIN:
                raise Conflict(f"the first administrator keeps the login {ADMIN!r}")
            spaces.check_email(new_email)
            if s.scalars(select(User.id).where(User.username == new_email)).first():
                raise Conflict(f"a user {new_email!r} exists already")
            user.username = new_email
        audit.record(s, caller, "system_administrator.update", "user",
                     f"system administrator {email!r} now {new_email!r}",
                     request={"email": new_email, "roles": list(roles)})
        return AdminView(new_email)


def remove_admin(p: Platform, caller: Caller, email: str) -> None:
    """Take the system role from ``email``; 409 for the last system administrator."""
    policy.require(caller, policy.SYSTEM)
    with p.db.claim() as s:
        # lock every system administrator's row: two removals at once cannot both pass
        admins = list(s.scalars(select(User).where(User.system_admin.is_(True))
                                .order_by(User.id).with_for_update()))
        user = next((u for u in admins if u.username == email), None)
        if user is None:
            raise NotFound(f"system administrator {email!r} not found", email)
        if len(admins) == 1:
            raise Conflict(f"{email!r} is the last system administrator; make another one "
                           "before removing this one")
        user.system_admin = False
        audit.record(s, caller, "system_administrator.delete", "user",
                     f"{email!r} is no longer a system administrator",
                     request={"email": email})


def list_users(p: Platform, caller: Caller, limit: int = criteria.MAX_LIMIT,
               skip: int = 0) -> tuple[list[UserEntry], int]:
    """Every user of the installation, by email, with their spaces and roles."""
    policy.require(caller, policy.SYSTEM)
    with p.db.session() as s:
        total = int(s.scalar(select(func.count()).select_from(User)) or 0)
        users = list(s.scalars(select(User).order_by(User.username).limit(limit)
                               .offset(skip)))
        held: dict[str, list[tuple[str, str]]] = {u.id: [] for u in users}
        rows = s.execute(select(Membership.user_id, Workspace.slug, Membership.role)
                         .join(Workspace, Workspace.id == Membership.workspace_id)
                         .where(Membership.user_id.in_(list(held)))
                         .order_by(Workspace.slug))
        for user_id, slug, role in rows:
            held[user_id].append((slug, role))
        return [UserEntry(u.username, bool(u.system_admin), bool(u.password_hash),
                          tuple(held[u.id]), u.created_at) for u in users], total

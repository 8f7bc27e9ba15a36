"""The server's shared handles: settings, metadata DB and cipher, opened once per process.

:func:`open_platform` migrates the metadata DB to the newest version and makes what must
exist from the first start: the ``default`` workspace, a definition per built-in connector
and the ``admin`` user (its password from ``SLUICEWAY_ADMIN_PASSWORD``, else generated and
shown once; once the admin exists the setting is ignored, with a warning).
"""

from __future__ import annotations

import logging
import secrets as pysecrets
from dataclasses import dataclass, field

from sqlalchemy import select

from sluiceway import __version__
from sluiceway.artifacts import hash_password
from sluiceway.connectors import network, registry
from sluiceway.core.settings import Settings
from sluiceway.secrets import Cipher
from sluiceway.services.gate import WorkspaceGate
from sluiceway.services.logins import Logins
from sluiceway.store import migrate
from sluiceway.store.db import Database
from sluiceway.store.models import ConnectorDefinition, Membership, User, Workspace

DOCS = "https://sluiceway.dev/connectors/"
log = logging.getLogger("sluiceway")


@dataclass
class Platform:
    settings: Settings
    db: Database
    cipher: Cipher
    #: the admin password when this start generated it (to be shown once), else None
    generated_admin_password: str | None = field(default=None, repr=False)
    #: the password checks of this process (throttling, hashing pool, remembered successes)
    logins: Logins = field(default_factory=Logins, repr=False)
    #: check and discover calls running per workspace
    calls: WorkspaceGate = field(default_factory=WorkspaceGate, repr=False)

    def close(self) -> None:
        self.logins.close()
        self.db.dispose()


def open_platform(settings: Settings) -> Platform:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    network.configure(network.NetworkPolicy.from_settings(settings))
    db = Database(settings.metadata_url)
    migrate.upgrade(db)
    platform = Platform(settings, db, Cipher.from_settings(settings))
    with db.claim() as s:
        workspace = s.scalars(select(Workspace).where(Workspace.slug == "default")).first()
        if workspace is None:
            workspace = Workspace(name="Default Workspace", slug="default",
                                  initial_setup_complete=False)
            s.add(workspace)
            s.flush()
        _sync_builtin_definitions(s)
        given = settings.admin_password
        if s.scalars(select(User).where(User.username == "admin")).first() is not None:
            if given is not None:
                log.warning("SLUICEWAY_ADMIN_PASSWORD is ignored: the admin user exists "
                            "already; change its password with `sluiceway users "
                            "set-password admin`")
        else:
            password = given.get_secret_value() if given else pysecrets.token_urlsafe(18)
            admin = User(username="admin", password_hash=hash_password(password),
                         system_admin=True)
            s.add(admin)
            s.flush()
            s.add(Membership(user_id=admin.id, workspace_id=workspace.id,
                             role="ROLE_ADMINISTRATOR"))
            if given is None:
                platform.generated_admin_password = password
    return platform


def _sync_builtin_definitions(s: object) -> None:
    """One definition per built-in connector; its image tag follows Sluiceway's version."""
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    have = {(d.kind, d.docker_repository): d for d in s.scalars(
        select(ConnectorDefinition).where(ConnectorDefinition.builtin.is_(True)))}
    for e in registry.entries():
        if e.name == "memory":
            continue  # an in-process test double: nothing a server user could point at
        d = have.get((e.kind, e.name))
        if d is None:
            s.add(ConnectorDefinition(kind=e.kind, name=e.title, docker_repository=e.name,
                                      docker_image_tag=__version__, builtin=True,
                                      documentation_url=f"{DOCS}{e.name}"))
        elif d.docker_image_tag != __version__:
            d.docker_image_tag = __version__

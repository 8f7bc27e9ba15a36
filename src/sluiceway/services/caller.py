"""Who is calling: the user, their role per workspace, and where the call came from.

A leaf of the application layer (it imports nothing of it), so that the policy, the audit
writer and the identity services can all speak of a caller without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Caller:
    user_id: str
    username: str
    workspace_ids: frozenset[str]
    #: the role (``ROLE_USER``, ``ROLE_EDITOR``, ``ROLE_ADMINISTRATOR``) per workspace id
    roles: Mapping[str, str] = field(default_factory=dict)
    system_admin: bool = False
    #: where the call came from: the client's IP address, or ``cli``
    address: str = "unknown"

    @property
    def is_admin(self) -> bool:
        return self.system_admin

    def can_see(self, workspace_id: str) -> bool:
        """Whether the caller may read the space's objects: a member, or a system
        administrator, who acts as an administrator in every space on every face (and
        whose listings across spaces show every space)."""
        return self.system_admin or workspace_id in self.workspace_ids

"""Syncing a space to an external system (the hosted platform's provisioning): a self-hosted
Sluiceway has none, so a retry has nothing to do and says so. For system administrators, as
every cross-space operation."""

from __future__ import annotations

from sluiceway.services import policy, spaces
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform


def retry_sync(p: Platform, caller: Caller, identifier: str) -> str:
    """The honest answer for the space ``identifier`` (404 when there is no such space)."""
    policy.require(caller, policy.SYSTEM)
    with p.db.session() as s:
        ws = spaces.find(s, caller, identifier, policy.SYSTEM)
        return (f"space {ws.slug!r} has no external system to sync: this installation is "
                "self-hosted and keeps its spaces in its own metadata database, so there is "
                "nothing to retry")

"""Workers per space (#15-18): how many of the job pool's workers a space may use at once,
and which of the pool's slots (numbered 1 to ``workers``) are pinned to it.

A new space may use the whole pool (no cap). The job ledger's claim obeys the count: a space
allocated ``n`` never runs more than ``n`` jobs at once (0 pauses it). Pinned slots set the
count; which local worker process runs a job is not bound to its slot number. Checks and
discovers never count against an allocation. For system administrators; every change is
audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.services import audit, policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Workspace


@dataclass(frozen=True)
class SpaceWorkers:
    identifier: str
    workers: int
    slots: list[int]
    capped: bool
    #: whether the slots are pinned to the space (else they are only its count)
    pinned: bool = False


@dataclass(frozen=True)
class Allocation:
    pool: int
    per_space: int
    spaces: list[SpaceWorkers]


def _of(ws: Workspace, pool: int) -> SpaceWorkers:
    slots = sorted(int(n) for n in ws.worker_slots) if ws.worker_slots else None
    count = len(slots) if slots is not None else (pool if ws.workers is None else ws.workers)
    return SpaceWorkers(ws.slug, count, slots if slots is not None else list(range(1, count + 1)),
                        ws.workers is not None or slots is not None, slots is not None)


def allocation(p: Platform, caller: Caller) -> Allocation:
    policy.require(caller, policy.SYSTEM)
    pool = p.settings.workers
    with p.db.session() as s:
        rows = s.scalars(select(Workspace).order_by(Workspace.created_at, Workspace.id))
        return Allocation(pool, pool, [_of(ws, pool) for ws in rows])


def _spaces(s: Session, identifiers: Sequence[str]) -> dict[str, Workspace]:
    found = {ws.slug: ws for ws in s.scalars(select(Workspace).where(
        Workspace.slug.in_(sorted(set(identifiers)))))}
    for ident in identifiers:
        if ident not in found:
            raise NotFound(f"space {ident!r} not found", ident)
    return found


def _unique(identifiers: Sequence[str], field: str = "spaceWorkers") -> None:
    seen: set[str] = set()
    for i, ident in enumerate(identifiers):
        if ident in seen:
            raise InvalidInput("invalid allocation", [FieldError(
                f"{field}.{i}.spaceIdentifier", "names a space twice", ident)])
        seen.add(ident)


def check_counts(p: Platform, counts: Sequence[tuple[str, int | None]],
                 field: str = "spaceWorkers") -> None:
    """Refuse a count past the pool, or a space named twice, before anything changes."""
    pool = p.settings.workers
    _unique([ident for ident, _ in counts], field)
    errors = [FieldError(f"{field}.{i}.workers", f"must be 0 to {pool} (the pool)", n)
              for i, (_, n) in enumerate(counts) if n is not None and not 0 <= n <= pool]
    if errors:
        raise InvalidInput("invalid allocation", errors)


def allocate(p: Platform, caller: Caller, counts: Sequence[tuple[str, int | None]],
             ) -> Allocation:
    """#16: the number of workers each named space may use at once (``None``: the whole
    pool, no cap); pinned slots of those spaces are released."""
    policy.require(caller, policy.SYSTEM)
    check_counts(p, counts)
    with p.db.claim() as s:
        found = _spaces(s, [ident for ident, _ in counts])
        for ident, n in counts:
            ws = found[ident]
            ws.workers, ws.worker_slots = n, None
            audit.record(s, caller, "space.workers", "space",
                         f"space {ident!r} may use {'the whole pool' if n is None else n} "
                         "workers", request={"spaceIdentifier": ident, "workers": n},
                         workspace_id=ws.id)
    return allocation(p, caller)


def pin(p: Platform, caller: Caller, slots: Sequence[tuple[str, Sequence[int]]]) -> Allocation:
    """#18: pin pool slots (1 to ``workers``) to spaces; a space's allocation becomes the
    number of its slots. An empty list releases the pins (and the cap)."""
    policy.require(caller, policy.SYSTEM)
    pool = p.settings.workers
    _unique([ident for ident, _ in slots])
    errors = []
    for i, (_, ids) in enumerate(slots):
        bad = [n for n in ids if not 1 <= n <= pool]
        if bad:
            errors.append(FieldError(f"spaceWorkers.{i}.workerIdentifiers",
                                     f"worker identifiers are 1 to {pool} (the pool's slots)",
                                     bad[0]))
        elif len(set(ids)) != len(ids):
            errors.append(FieldError(f"spaceWorkers.{i}.workerIdentifiers",
                                     "must not repeat a worker"))
    if errors:
        raise InvalidInput("invalid worker assignment", errors)
    with p.db.claim() as s:
        found = _spaces(s, [ident for ident, _ in slots])
        for ident, ids in slots:
            ws = found[ident]
            ws.worker_slots = sorted(ids) or None
            ws.workers = len(ids) if ids else None
            audit.record(s, caller, "space.workers", "space",
                         f"space {ident!r} pinned to workers {sorted(ids)}",
                         request={"spaceIdentifier": ident, "workerIdentifiers": list(ids)},
                         workspace_id=ws.id)
    return allocation(p, caller)

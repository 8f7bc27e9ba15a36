"""Schema changes between syncs: which are followed and which fail the sync."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from sluiceway.core.errors import SchemaChangeError
from sluiceway.protocol.arrow_types import type_name, widen


@dataclass(frozen=True)
class Evolution:
    """What a destination table must do to accept records of a new source schema."""

    add: list[pa.Field] = field(default_factory=list)
    widen: list[tuple[pa.Field, pa.DataType]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.add and not self.widen


def plan_evolution(stream: str, existing: pa.Schema, incoming: pa.Schema) -> Evolution:
    """Compare a destination table's schema with the incoming one.

    New columns are added and compatible types widened; any other change raises
    :class:`SchemaChangeError` naming the stream, column and both types. Columns that the
    source no longer has stay in the destination and receive NULLs.
    """
    have = {f.name: f for f in existing}
    evo = Evolution()
    for f in incoming:
        old = have.get(f.name)
        if old is None:
            evo.add.append(f.with_nullable(True))
            continue
        wider = widen(old, f)
        if wider is None:
            raise SchemaChangeError(stream, f.name, type_name(old), type_name(f))
        if wider != old.type:
            evo.widen.append((old, wider))
    return evo

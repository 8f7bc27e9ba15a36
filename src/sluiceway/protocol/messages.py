"""Messages that flow from a source, through the engine, into a destination.

Records travel as Arrow record batches, never one Python object per row.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class RecordBatch:
    stream: str
    batch: pa.RecordBatch

    @property
    def num_rows(self) -> int:
        return int(self.batch.num_rows)

    @property
    def nbytes(self) -> int:
        return int(self.batch.nbytes)


@dataclass(frozen=True)
class RawRows:
    """Rows in a wire format both ends of a sync speak, passed through undecoded: the
    engine asks a source for them only when its destination takes the same ``format``
    (``Capabilities.raw_formats``) and nothing transforms the rows in between.

    ``postgres-binary``: PostgreSQL's binary ``COPY`` tuples, whole rows only (no header,
    no trailer); ``columns`` name the fields of each tuple in order and ``types`` give each
    field's type as the destination declares it (``format_type``), which decides its
    binary form."""

    stream: str
    format: str
    data: bytes
    rows: int
    columns: tuple[str, ...]
    types: tuple[str, ...]

    @property
    def num_rows(self) -> int:
        return self.rows

    @property
    def nbytes(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class State:
    """A position in a stream. A source emits it after the records it covers; a destination
    echoes it only once every record before it is durably committed."""

    stream: str
    data: dict[str, Any]


def state_value(v: Any) -> Any:
    """A value read from Arrow (a cursor or key position) in a form a State can hold as JSON;
    sources compare it back by casting the text to the column's type."""
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal | uuid.UUID):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    return v


@dataclass(frozen=True)
class Log:
    level: str
    message: str


@dataclass(frozen=True)
class Estimate:
    """How many rows a stream's read will yield, roughly (the protocol's TRACE estimate):
    what progress is measured against. The engine keeps it; destinations never see it."""

    stream: str
    rows: int


@dataclass(frozen=True)
class Rejected:
    """A row the source skipped because it is bad (when the source was told to skip bad rows
    rather than fail): where it is and why. The engine reports it; destinations never see it."""

    stream: str
    location: str
    reason: str


Message = RecordBatch | RawRows | State | Log | Estimate | Rejected

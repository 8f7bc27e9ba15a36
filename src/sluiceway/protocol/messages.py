"""Messages that flow from a source, through the engine, into a destination.

Records travel as Arrow record batches, never one Python object per row.
"""

from __future__ import annotations

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
class State:
    """A position in a stream. A source emits it after the records it covers; a destination
    echoes it only once every record before it is durably committed."""

    stream: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Log:
    level: str
    message: str


Message = RecordBatch | State | Log

"""The engine's per-stream state of a connection, kept in the StreamState table."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select

from sluiceway.store.db import Database
from sluiceway.store.models import StreamState


class DbStateStore:
    """A :class:`~sluiceway.engine.checkpoint.StateStore` over one connection's rows.

    Every ``save`` commits on its own, so a checkpoint is durable before the engine reads on.
    """

    def __init__(self, db: Database, connection_id: str) -> None:
        self.db = db
        self.connection_id = connection_id

    def load(self) -> dict[str, dict[str, Any]]:
        with self.db.session() as s:
            rows = s.scalars(select(StreamState)
                             .where(StreamState.connection_id == self.connection_id)).all()
            return {r.stream: json.loads(json.dumps(r.record)) for r in rows}

    def save(self, stream: str, record: dict[str, Any] | None) -> None:
        with self.db.claim() as s:
            if record is None:
                s.execute(delete(StreamState).where(
                    StreamState.connection_id == self.connection_id,
                    StreamState.stream == stream))
                return
            plain = json.loads(json.dumps(record, default=str))
            row = s.get(StreamState, (self.connection_id, stream))
            if row is None:
                s.add(StreamState(connection_id=self.connection_id, stream=stream,
                                  record=plain))
            else:
                row.record = plain

    def clear(self) -> None:
        """Forget every stream's state of the connection."""
        with self.db.claim() as s:
            s.execute(delete(StreamState)
                      .where(StreamState.connection_id == self.connection_id))

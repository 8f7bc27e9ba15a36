"""The write loop every SQL destination shares; a destination fills in the hooks.

Per stream of the catalog:

* ``overwrite``: rows go to a staging table named after the sync; at the end the staging table
  replaces the target in one transaction, so readers never see a half-loaded table and a
  failed sync leaves the previous data intact. Where ``keys_after_load`` is set, the staging
  table gets its primary key in that same transaction, after the load.
* ``append``: rows go straight into the target; each checkpoint commits.
* ``append_dedup``: rows go to staging; at the end they are merged into the target on the
  primary key (the row loaded last wins) in one transaction.

A State is echoed right after the transaction holding the rows before it commits. A resumed
sync (``ConfiguredStream.resume``) keeps the staging table its earlier attempt filled.
"""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

from sluiceway.connectors.base import Destination
from sluiceway.core.errors import DataLossError, Fatal
from sluiceway.protocol.catalog import (
    ConfiguredCatalog,
    ConfiguredStream,
    DestinationSyncMode,
    SyncMode,
)
from sluiceway.protocol.evolve import plan_evolution
from sluiceway.protocol.messages import Message, RawRows, RecordBatch, State

#: a column destinations add to staging tables to know load order (for dedup)
SEQ_COLUMN = "_sluiceway_seq"


def staging_name(target: str, sync_id: str) -> str:
    """A short, identifier-safe staging table name unique to (target, sync)."""
    return f"{staging_prefix(target)}{sync_id[:12]}"


def staging_prefix(target: str) -> str:
    digest = hashlib.sha1(target.encode(), usedforsecurity=False).hexdigest()[:10]
    return f"_sw_stage_{digest}_"


def state_key(cs: ConfiguredStream) -> str:
    """Where a destination records the States of one sync of one stream."""
    return f"{cs.target}\n{cs.sync_id}"


@dataclass
class StreamTarget:
    """Where one stream is being written in this sync."""

    stream: ConfiguredStream
    table: str  # the table rows are loaded into now (target or staging)
    staged: bool
    schema: pa.Schema  # columns of the loading table (incoming order)
    loaded: int = 0  # rows loaded by this attempt
    last_state: dict[str, Any] | None = None  # the newest State committed with the rows


class SqlDestination(Destination):
    """Template for SQL destinations: subclasses implement the hooks below."""

    #: build an overwrite staging table's primary key after the load (one sorted index
    #: build instead of an index insert per row); such destinations implement
    #: :meth:`add_primary_key`
    keys_after_load: ClassVar[bool] = False

    # ---- hooks -------------------------------------------------------------------------
    @abc.abstractmethod
    def connect(self, config: dict[str, Any]) -> Any:
        """Open a session (transactions are explicit: autocommit off)."""

    @abc.abstractmethod
    def close(self, session: Any) -> None: ...

    @abc.abstractmethod
    def table_schema(self, session: Any, table: str) -> pa.Schema | None:
        """The Arrow schema of an existing table (via the type table), or None if absent."""

    @abc.abstractmethod
    def list_tables(self, session: Any, prefix: str) -> list[str]: ...

    @abc.abstractmethod
    def create_table(self, session: Any, table: str, schema: pa.Schema,
                     primary_key: list[str], *, with_seq: bool) -> None:
        """Create a table (with its primary key, if any); ``with_seq`` adds a
        ``SEQ_COLUMN`` that numbers rows in load order (dedup staging only, no key)."""

    @abc.abstractmethod
    def drop_table(self, session: Any, table: str) -> None: ...

    @abc.abstractmethod
    def add_column(self, session: Any, table: str, field: pa.Field) -> None: ...

    @abc.abstractmethod
    def widen_column(self, session: Any, table: str, field: pa.Field,
                     new_type: pa.DataType) -> None: ...

    @abc.abstractmethod
    def load(self, session: Any, target: StreamTarget, batch: pa.RecordBatch) -> None:
        """Bulk-load one batch into ``target.table`` inside the open transaction."""

    def load_raw(self, session: Any, target: StreamTarget, rows: RawRows) -> None:
        """Bulk-load raw rows (a format of ``capabilities.raw_formats``) into
        ``target.table`` inside the open transaction."""
        raise Fatal(f"the {self.name} destination takes no {rows.format} rows")

    @abc.abstractmethod
    def flush(self, session: Any, target: StreamTarget) -> None:
        """Finish any bulk operation still open for ``target`` (before a commit)."""

    @abc.abstractmethod
    def commit(self, session: Any) -> None: ...

    @abc.abstractmethod
    def swap(self, session: Any, staging: str, target: str, primary_key: list[str]) -> None:
        """Replace ``target`` by ``staging`` (no commit: the caller commits)."""

    def save_state(self, session: Any, key: str, state: str) -> None:  # noqa: B027
        """Record a stream's State (JSON) inside the open transaction (optional hook)."""

    def load_state(self, session: Any, key: str) -> str | None:
        """The State recorded under ``key`` (None: none, or not supported)."""
        return None

    def clear_states(self, session: Any, prefix: str) -> None:  # noqa: B027
        """Forget every key starting with ``prefix`` (records of earlier, finished syncs)."""

    def count_rows(self, session: Any, table: str) -> int | None:
        """Rows in ``table``, to verify a load before it is swapped in (None: not checked)."""
        return None

    def add_primary_key(self, session: Any, table: str, primary_key: list[str]) -> None:
        """Give a loaded table its primary key (only with ``keys_after_load``)."""
        raise NotImplementedError

    @abc.abstractmethod
    def merge(self, session: Any, staging: str, target: str, columns: list[str],
              primary_key: list[str]) -> None:
        """Upsert staging rows into target by primary key, the highest SEQ winning."""

    # ---- the loop ----------------------------------------------------------------------
    def write(
        self,
        config: dict[str, Any],
        catalog: ConfiguredCatalog,
        messages: Iterable[Message],
    ) -> Iterator[State]:
        session = self.connect(config)
        try:
            targets = {cs.name: self._prepare(session, cs) for cs in catalog.streams}
            self.commit(session)
            for msg in messages:
                if isinstance(msg, RecordBatch):
                    tgt = targets.get(msg.stream)
                    if tgt is not None and msg.batch.num_rows:
                        self.load(session, tgt, _align(msg.batch, tgt.schema))
                        tgt.loaded += msg.batch.num_rows
                elif isinstance(msg, RawRows):
                    tgt = targets.get(msg.stream)
                    if tgt is not None and msg.rows:
                        self.load_raw(session, tgt, msg)
                        tgt.loaded += msg.rows
                elif isinstance(msg, State):
                    for tgt in targets.values():
                        self.flush(session, tgt)
                    tgt = targets.get(msg.stream)
                    if tgt is not None:
                        tgt.last_state = msg.data
                        self._record(session, tgt, final=False)
                    self.commit(session)
                    yield msg
            for tgt in targets.values():
                self.flush(session, tgt)
            self.commit(session)
            for tgt in targets.values():
                self._finalize(session, tgt)
                self._record(session, tgt, final=True)
                self.commit(session)
        finally:
            self.close(session)

    def _record(self, session: Any, tgt: StreamTarget, *, final: bool) -> None:
        record = {"state": tgt.last_state, "final": final}
        self.save_state(session, state_key(tgt.stream), json.dumps(record, default=str))

    def committed_state(self, config: dict[str, Any],
                        stream: ConfiguredStream) -> dict[str, Any] | None:
        """``{"state": ..., "final": bool}`` as recorded with the data, or None.

        ``final`` also holds when the record says otherwise but the sync's staging table is
        gone: only the swap or merge removes it, and where DDL commits on its own (MySQL)
        a stop can fall between that and the final record.
        """
        session = self.connect(config)
        try:
            raw = self.load_state(session, state_key(stream))
            if not raw:
                return None
            record: dict[str, Any] = json.loads(raw)
            staged = stream.destination_sync_mode is not DestinationSyncMode.append
            if staged and not record.get("final"):
                name = staging_name(stream.target, stream.sync_id)
                if name not in self.list_tables(session, staging_prefix(stream.target)):
                    record["final"] = True
            return record
        finally:
            self.close(session)

    def _prepare(self, session: Any, cs: ConfiguredStream) -> StreamTarget:
        incoming = cs.stream.schema
        pk = cs.pk_columns
        mode = cs.destination_sync_mode
        if not cs.resume:  # the records of earlier syncs of this stream are spent
            self.clear_states(session, state_key(cs.with_(sync_id="")))
        existing = self.table_schema(session, cs.target)
        if mode is not DestinationSyncMode.overwrite and existing is not None:
            evo = plan_evolution(cs.name, existing, incoming)
            for f in evo.add:
                self.add_column(session, cs.target, f)
            for old, new_type in evo.widen:
                self.widen_column(session, cs.target, old, new_type)
        if mode is DestinationSyncMode.append:
            # append keeps every copy it is sent (a resumed read repeats rows that share
            # the checkpoint's cursor value), so the table gets no unique key
            if existing is None:
                self.create_table(session, cs.target, incoming, [], with_seq=False)
            return StreamTarget(cs, cs.target, False, incoming)
        if mode is DestinationSyncMode.append_dedup and existing is None:
            self.create_table(session, cs.target, incoming, pk, with_seq=False)
        name = staging_name(cs.target, cs.sync_id)
        leftovers = self.list_tables(session, staging_prefix(cs.target))
        for old_name in leftovers:
            if old_name != name or not cs.resume:
                self.drop_table(session, old_name)
        if not (cs.resume and name in leftovers):
            dedup = mode is DestinationSyncMode.append_dedup
            # an incremental overwrite may repeat cursor ties on resume: key it only when the
            # read never repeats a row (full refresh)
            keyed = (not dedup and cs.sync_mode is SyncMode.full_refresh
                     and not self.keys_after_load)
            self.create_table(session, name, incoming, pk if keyed else [], with_seq=dedup)
        return StreamTarget(cs, name, True, incoming)

    def _finalize(self, session: Any, tgt: StreamTarget) -> None:
        cs = tgt.stream
        if not tgt.staged:
            return
        if cs.destination_sync_mode is DestinationSyncMode.overwrite:
            if not cs.resume:
                # a fresh staging table holds exactly what this attempt loaded: a bulk path
                # that dropped rows silently is caught here, before the swap
                count = self.count_rows(session, tgt.table)
                if count is not None and count != tgt.loaded:
                    raise DataLossError(
                        f"stream {cs.name!r}: {tgt.loaded} rows were loaded but the staging "
                        f"table holds {count}; the previous data is left in place")
            keyed = cs.pk_columns and cs.sync_mode is SyncMode.full_refresh
            if keyed and self.keys_after_load:
                self.add_primary_key(session, tgt.table, cs.pk_columns)
            self.swap(session, tgt.table, cs.target, cs.pk_columns)
        else:
            self.merge(session, tgt.table, cs.target, tgt.schema.names, cs.pk_columns)
            self.drop_table(session, tgt.table)


def _align(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Order a batch's columns like ``schema`` (missing ones as NULL)."""
    if batch.schema.names == schema.names:
        return batch
    cols = []
    for f in schema:
        idx = batch.schema.get_field_index(f.name)
        cols.append(batch.column(idx) if idx >= 0 else pa.nulls(batch.num_rows, f.type))
    return pa.RecordBatch.from_arrays(cols, schema=schema)

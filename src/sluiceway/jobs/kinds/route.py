"""``route``: entities from a route's incoming, through its transformers, upserted into its
outgoing; every entity is recorded as a task.

Input: ``workspace_id``, ``route`` (its identifier) and ``mode``: ``run`` reads the incoming's
stream, ``retry`` runs again the entities of the route's tasks in status ``retry`` (as they
were read, an item of a split on from its split; the transformers and the outgoing as they
are now), ``entities`` runs the
``entities`` of the input (those a webhook call posted) instead of reading the stream.

Entities go in chunks. A chunk read from the incoming is transformed over its Arrow batch
where the transformers allow it, else entity by entity (:mod:`~sluiceway.transforms.vectorised`):
a transformer that fails fails that entity's task, a filter that drops it skips it. An
incoming of JSON entities (:class:`~sluiceway.connectors.base.EntitySource`, the HTTP API) is
read page by page as they are. With change detection (``changeDetection: {storage}``) an
entity whose hash (of what would be sent) is the one the storage keeps for its identifier is
left out: counted as ``unchanged``, not recorded.

An outgoing that keeps one connection for the run (:meth:`Destination.upserts`, PostgreSQL)
is given each chunk as one upsert on its key, left uncommitted while the chunk's tasks are
recorded once, with their outcomes (COPY on PostgreSQL metadata, see :mod:`.route_ledger`),
with the change hashes of the entities written; the outgoing commits, then the metadata
(:func:`_settle`). No task is seen in ``processing`` then: a chunk's tasks appear when it is
done. A worker that dies between the two commits leaves rows without tasks: the job's next
attempt runs those entities again, and the upsert keeps one row of each.

Any other outgoing: the rest is recorded as tasks in ``processing``, then written in one
upsert on the outgoing's key. When that write fails, each half of the chunk is written on its
own, down to the single entities the destination refuses: only those fail. A destination
that answers for each entity (:class:`~sluiceway.connectors.base.EntityDestination`, the HTTP
outgoing) is sent the chunk once and says which entities it refused: nothing it accepted is
sent again. Then every task gets its outcome (in bulk), and the hashes of the entities
written are kept, in one transaction: a task is ``finished``, and its hash kept, only after
its entity's write committed.

A later attempt of the same job (its worker died) leaves alone the entities the dead attempt
finished with, and runs again those it left in ``processing`` (the upsert keeps one row of
each). With a cursor field, a run reads from where the route's last finished run stopped
(an HTTP API is sent the highest value of the field that run saw).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import CursorResult, delete, select, update

from sluiceway.artifacts.formats import json_safe
from sluiceway.connectors.base import (
    Destination,
    EntityDestination,
    EntitySource,
    Upserts,
    highest,
)
from sluiceway.core.errors import Cancelled, Retryable, SluicewayError, UnknownStream
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.jobs import ledger
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds import route_ledger
from sluiceway.jobs.kinds.route_parts import RouteParts, load_route
from sluiceway.protocol.catalog import (
    ConfiguredCatalog,
    ConfiguredStream,
    DestinationSyncMode,
    Stream,
    SyncMode,
)
from sluiceway.protocol.messages import Message, RecordBatch, State
from sluiceway.secrets import Cipher
from sluiceway.store.db import now
from sluiceway.store.models import Job, Task, new_id
from sluiceway.transforms import entities, vectorised

#: entities written (and tasks recorded) together
CHUNK = 5000
#: the task statuses a run leaves (``waiting``: a route with ``waitingStatus``)
OUTCOMES = ("finished", "waiting", "failed", "skipped")


@dataclass
class Outcome:
    status: str
    error: str | None = None


_FINISHED = Outcome("finished")
_WAITING = Outcome("waiting")


@dataclass
class Counts:
    read: int = 0
    finished: int = 0
    waiting: int = 0
    failed: int = 0
    skipped: int = 0
    #: entities change detection left out (unchanged since they were last sent)
    unchanged: int = 0

    def add(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, "finished": self.finished, "waiting": self.waiting,
                "failed": self.failed, "skipped": self.skipped, "unchanged": self.unchanged}


def _check_cancel(ctx: AttemptContext) -> None:
    """Between two chunks: a cancel ends the run, and so does a stop (the chunk before has
    committed)."""
    if ctx.cancel.is_set():
        raise Cancelled("route run cancelled")
    if ctx.stop.is_set():
        raise Cancelled("route run stopped: its last chunk committed")


def _identifier(parts: RouteParts, entity: Any) -> str | None:
    keys = parts.incoming.keys or parts.outgoing.keys
    if len(keys) == 1 and "." not in keys[0] and isinstance(entity, dict):  # the usual case
        value = entity.get(keys[0])
        return None if value is None else str(value)[:1000]
    values = [entities.get(entity, k, None) for k in keys]
    if not values or all(v is None for v in values):
        return None
    return "|".join("" if v is None else str(v) for v in values)[:1000]


def _write(dest: Destination, parts: RouteParts, rows: list[dict[str, Any]]) -> None:
    """One upsert of ``rows`` into the outgoing's table, committed when this returns."""
    table = _upsert_table(rows)
    out = parts.outgoing
    stream = ConfiguredStream(
        stream=Stream(out.stream, table.schema),
        destination_sync_mode=DestinationSyncMode.append_dedup,
        primary_key=tuple((k,) for k in out.keys), sync_id=new_id().replace("-", ""))
    messages: list[Message] = [RecordBatch(out.stream, b) for b in table.to_batches()]
    messages.append(State(out.stream, {}))
    for _ in dest.write(out.config, ConfiguredCatalog((stream,)), messages):
        pass


#: what a failed write of an entity can raise (a destination's refusal, or Arrow's when the
#: chunk's values do not share a type)
_WRITE_ERRORS = (SluicewayError, pa.ArrowException, ValueError, TypeError)


def _process(dest: Destination, parts: RouteParts, batch: list[Any]) -> list[Outcome]:
    """Transform and write one chunk; the outcome of each entity, in order."""
    outcomes, pending = _judged(parts, batch)
    if not pending:
        return outcomes
    if isinstance(dest, EntityDestination):  # it answers for each entity: sent once
        refused = dest.send(parts.outgoing.config, parts.outgoing.stream,
                            [row for _, row in pending])
        for (i, _), error in zip(pending, refused, strict=True):
            if error is not None:
                outcomes[i] = Outcome("failed", f"outgoing: {error}")
        return outcomes
    _write_parts(lambda rows: _write(dest, parts, rows), pending, outcomes)
    return outcomes


def _judged(parts: RouteParts, batch: list[Any],
            ) -> tuple[list[Outcome], list[tuple[int, dict[str, Any]]]]:
    """Each entity of a chunk through the transformers: its outcome if it is written, and
    the entities to write (with their positions)."""
    outcomes: list[Outcome] = []
    pending: list[tuple[int, dict[str, Any]]] = []
    written = _WAITING if parts.waiting else _FINISHED  # shared: an outcome is not changed
    keys = parts.outgoing.keys
    transform = parts.transform
    for i, entity in enumerate(batch):
        try:
            got = transform(entity)
        except SluicewayError as exc:
            outcomes.append(Outcome("failed", f"transformer: {exc}"))
            continue
        if not isinstance(got, dict):
            if isinstance(got, entities.Failed):
                outcomes.append(Outcome("failed", f"transformer: {got.reason}"))
            elif isinstance(got, entities.Skipped):
                outcomes.append(Outcome("skipped", got.reason))
            else:
                outcomes.append(Outcome("failed", "the transformers gave no object to write"))
            continue
        missing = None
        for k in keys:
            if got.get(k) is None:
                missing = k
                break
        if missing is not None:
            outcomes.append(Outcome("failed", f"the outgoing's key {missing!r} is missing "
                                              "from the entity"))
            continue
        outcomes.append(written)
        pending.append((i, got))
    return outcomes, pending


def _write_parts(write: Callable[[list[dict[str, Any]]], None],
                 pending: list[tuple[int, dict[str, Any]]], outcomes: list[Outcome]) -> None:
    """Write ``pending`` in one upsert (committed by ``write``); when the destination
    refuses it, each half on its own, down to the single entities it refuses (their
    outcomes become ``failed``)."""
    try:
        write([row for _, row in pending])
    except Retryable:
        raise
    except _WRITE_ERRORS as exc:
        if len(pending) == 1:
            outcomes[pending[0][0]] = Outcome("failed", f"outgoing: {exc}")
            return
        half = len(pending) // 2
        _write_parts(write, pending[:half], outcomes)
        _write_parts(write, pending[half:], outcomes)


def _upsert_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as one Arrow table to upsert through a destination's write. A column that is
    null in every row has no type to give the table: it is left out (a new row gets NULL
    there; a row that is replaced keeps its value). Kept connections (:class:`Upserts`)
    take :func:`_rows_table` and give such a column the table's type."""
    table = _rows_table(rows)
    return table.select([i for i, f in enumerate(table.schema)
                         if not pa.types.is_null(f.type)])


def _rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows)


def _committed(ups: Upserts, rows: list[dict[str, Any]]) -> None:
    try:
        ups.write(_rows_table(rows))
        ups.commit()
    except BaseException:
        ups.rollback()
        raise


def _settle(ctx: AttemptContext, ups: Upserts, parts: RouteParts, workspace_id: str,
            chunk: Chunk, changes: route_ledger.Changes | None) -> list[Outcome]:
    """Write one chunk through a kept connection and record its tasks once, with their
    outcomes. The chunk's upsert is left open while its tasks (and change hashes) are copied
    into the metadata database; the outgoing commits, then the metadata: a worker that dies
    in between leaves rows without tasks, which its job's next attempt runs again (the upsert
    keeps one row of each), never a finished task whose row is missing. When the chunk's
    upsert fails, its halves are written (and committed) on their own, down to the single
    entities the destination refuses, and the tasks are recorded after."""
    outcomes, pending = _judged(parts, chunk.results)
    staged = False
    if pending:
        try:
            ups.write(_rows_table([row for _, row in pending]))
            staged = True
        except Retryable:
            ups.rollback()
            raise
        except _WRITE_ERRORS:
            ups.rollback()
            _write_parts(lambda rows: _committed(ups, rows), pending, outcomes)
    t = now()
    shared = {"workspace_id": workspace_id, "route": parts.identifier,
              "entity_type": parts.incoming.stream, "attempts": 1, "job_id": ctx.job_id,
              "created_at": t, "updated_at": t}
    varying = [(ident, o.status, e, o.error, _log(o, t) if o.error is not None else _NO_LOG)
               for e, ident, o in zip(chunk.entities, chunk.idents, outcomes, strict=True)]
    try:
        with ctx.db.claim() as s:
            route_ledger.record_tasks(s, shared, varying)
            if changes is not None and chunk.hashes is not None:
                sent = dict(h for h, o in zip(chunk.hashes, outcomes, strict=True)
                            if h is not None and o.status in ("finished", "waiting"))
                changes.store(s, sent, t, chunk.absent)
            if staged:
                ups.commit()
                staged = False
    finally:
        if staged:  # the metadata's transaction failed: nothing of the chunk stays
            ups.rollback()
    return outcomes


_NO_LOG: list[dict[str, Any]] = []  # shared by the tasks without messages; never changed


def _log(outcome: Outcome, t: float) -> list[dict[str, Any]]:
    if outcome.error is None:
        return []
    level = "error" if outcome.status == "failed" else "info"
    return [{"level": level, "message": outcome.error, "at": t}]


def _open(ctx: AttemptContext, parts: RouteParts, workspace_id: str,
          batch: list[Any], idents: list[str | None]) -> list[int]:
    """Record a chunk's entities (with their identifiers) as tasks in ``processing`` (in
    bulk); their ids."""
    t = now()
    rows = [{"workspace_id": workspace_id, "route": parts.identifier,
             "entity_type": parts.incoming.stream, "entity_identifier": ident,
             "status": "processing", "entity": e, "error": None, "log": [], "attempts": 1,
             "job_id": ctx.job_id, "created_at": t, "updated_at": t}
            for e, ident in zip(batch, idents, strict=True)]
    # claim(): on SQLite the space's look-up then the insert; the write lock taken first, a
    # heartbeat written in between cannot fail the insert as busy (a read transaction that
    # turns into a write after another connection wrote fails at once, whatever the timeout)
    with ctx.db.claim() as s:
        return route_ledger.open_tasks(s, rows)


def _close(ctx: AttemptContext, ids: list[int], outcomes: list[Outcome], *, retried: bool,
           changes: route_ledger.Changes | None = None,
           hashes: list[tuple[str, str] | None] | None = None) -> None:
    """Give each task its outcome (in bulk; a retried one counts an attempt) and keep the
    change hashes of the entities written, in one transaction."""
    t = now()
    # claim(): a read then a write; on SQLite the write lock is taken first, so a heartbeat
    # that writes meanwhile cannot make the write fail as busy
    with ctx.db.claim() as s:
        fresh = not retried and s.get_bind().dialect.name == "postgresql"
        # tasks this run just opened have an empty log and one attempt (one deleted
        # meanwhile is left alone by the update)
        known = {i: ([], 1) for i in ids} if fresh else {row[0]: (row[1], row[2]) for row in (
            s.execute(select(Task.id, Task.log, Task.attempts).where(Task.id.in_(ids))))}
        values = []
        for task_id, o in zip(ids, outcomes, strict=True):
            if task_id not in known:  # deleted meanwhile
                continue
            log, attempts = known[task_id]
            note = [{"level": "info", "message": "retried", "at": t}] if retried else []
            values.append({"id": task_id, "status": o.status, "error": o.error,
                           "job_id": ctx.job_id, "updated_at": t,
                           "attempts": (attempts or 0) + (1 if retried else 0),
                           "log": [*(log or []), *note, *_log(o, t)]})
        route_ledger.close_tasks(s, values)
        if changes is not None and hashes is not None:
            sent = dict(h for h, o in zip(hashes, outcomes, strict=True)
                        if h is not None and o.status in ("finished", "waiting"))
            changes.store(s, sent, t)


def _apply(transform: entities.Transformer, entity: Any) -> Any:
    """``entity`` through the route's transformers, or the error they raised for it."""
    return vectorised.run_entity([transform], entity)


def _given(result: Any) -> Any:
    """A result of :func:`_transformed` as the route's transformer gives it."""
    if isinstance(result, SluicewayError):
        raise result
    return result


def _same(row: Any) -> Any:
    return row


def _transformed(parts: RouteParts, batch: list[Any], table: pa.Table | None) -> list[Any]:
    """Each entity of a chunk through the route's transformers: over its Arrow batch when
    one was read and a leading transformer has a vectorised form, else entity by entity."""
    if table is not None and parts.plan is not None and parts.plan.vectorised:
        plain = _plain(table.schema) and _finite(table)
        return parts.plan.run(table, _same if plain else json_safe)
    return [_apply(parts.transform, e) for e in batch]


def _change_key(parts: RouteParts, key: str | None, result: Any) -> str | None:
    """The identifier change detection keeps an entity's hash by: the task's (``key``),
    else the outgoing's key in what would be sent."""
    if key is None and isinstance(result, dict):
        values = [result.get(k) for k in parts.outgoing.keys]
        if values and all(v is not None for v in values):
            key = "|".join(str(v) for v in values)[:1000]
    return key


@dataclass
class Chunk:
    """Entities of a run as they go: read, their identifiers, transformed, hashed."""

    entities: list[Any]
    idents: list[str | None]
    results: list[Any]
    #: (identifier, hash) of each entity change detection looks at
    hashes: list[tuple[str, str] | None] | None = None
    #: identifiers the change storage holds nothing for (none known: None)
    absent: set[str] | None = None

    def only(self, keep: list[int]) -> Chunk:
        return Chunk([self.entities[i] for i in keep], [self.idents[i] for i in keep],
                     [self.results[i] for i in keep],
                     None if self.hashes is None else [self.hashes[i] for i in keep],
                     self.absent)


def _hash(parts: RouteParts, chunk: Chunk) -> None:
    """Give the chunk the hashes of its entities (as they would be sent)."""
    hashes: list[tuple[str, str] | None] = []
    for ident, result in zip(chunk.idents, chunk.results, strict=True):
        key = _change_key(parts, ident, result) if isinstance(result, dict) else None
        hashes.append(None if key is None else (key, route_ledger.entity_hash(result)))
    chunk.hashes = hashes


def _unchanged(ctx: AttemptContext, changes: route_ledger.Changes, chunk: Chunk,
               ) -> tuple[Chunk, int]:
    """The (hashed) chunk less the entities that did not change, and how many did not."""
    hashes = chunk.hashes or []
    chunk.absent = set()
    with ctx.db.session() as s:
        known = changes.known(s, (h[0] for h in hashes if h is not None), now(),
                              chunk.absent)
    keep = [i for i, h in enumerate(hashes) if h is None or known.get(h[0]) != h[1]]
    if len(keep) == len(hashes):
        return chunk, 0
    return chunk.only(keep), len(hashes) - len(keep)


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_END = object()


def _ahead(items: Iterator[Chunk]) -> Generator[Chunk, None, None]:
    """``items`` made one ahead in a thread of their own: the next chunk is read and
    transformed while the one handed on is written (the database's waits let it run). An
    error of the thread is raised here; leaving the loop ends the thread (and closes
    ``items``)."""
    handed: queue.Queue[Any] = queue.Queue(maxsize=1)
    done = threading.Event()

    def put(item: Any) -> bool:
        while not done.is_set():
            try:
                handed.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def fill() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the loop, raised there
            put(_Raised(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=fill, name="route-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = handed.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        done.set()
        thread.join(timeout=10)


def _last_state(ctx: AttemptContext) -> dict[str, Any] | None:
    """Where the route's last finished run stopped reading (its cursor), if it kept one."""
    with ctx.db.session() as s:
        for output in s.scalars(select(Job.output).where(
                Job.config_type == "route", Job.scope == ctx.scope, Job.status == "succeeded")
                .order_by(Job.id.desc()).limit(50)):
            if output and output.get("state") is not None:
                return dict(output["state"])
    return None


def _last_cursor(ctx: AttemptContext, field: str | None) -> Any:
    """The highest value of ``field`` the route's last finished run of an entity source
    (an HTTP API) saw, if it kept one for that field."""
    last = _last_state(ctx) if field else None
    return last.get("cursor") if last and last.get("cursorField") == field else None


def _read(ctx: AttemptContext, parts: RouteParts, position: dict[str, Any],
          ) -> Iterator[tuple[list[Any], pa.Table | None]]:
    """The incoming's entities in chunks of at most :data:`CHUNK`, each with its Arrow
    batch (entities as JSON values: see :func:`_plain`). With a cursor field the
    read starts where the last finished run stopped; ``position["state"]`` is the source's
    last State, set once the chunks before it were handed on (and so recorded)."""
    incoming = parts.incoming
    source = incoming.source(ctx.settings.allowed_roots)
    if isinstance(source, EntitySource):  # JSON entities as they are, page by page
        since = _last_cursor(ctx, incoming.cursor)
        for page in source.entities(incoming.config, incoming.stream, since=since):
            for start in range(0, len(page), CHUNK):
                yield page[start:start + CHUNK], None
            if incoming.cursor:  # the highest value seen, once its page was handed on
                since = highest(page, incoming.cursor, since)
                position["state"] = {"cursorField": incoming.cursor, "cursor": since}
        return
    catalog = source.discover(incoming.config)
    if catalog.get(incoming.stream) is None:
        raise UnknownStream(incoming.stream, [s.name for s in catalog.streams])
    choice = StreamChoice(incoming.stream)
    state = None
    if incoming.cursor:
        choice = StreamChoice(incoming.stream, sync_mode=SyncMode.incremental,
                              cursor_field=(incoming.cursor,))
        last = _last_state(ctx)
        state = {incoming.stream: last} if last is not None else None
    configured = configure(catalog, [choice])
    for msg in source.read(incoming.config, configured, state):
        if isinstance(msg, State) and incoming.cursor:
            position["state"] = msg.data
        if not isinstance(msg, RecordBatch):
            continue
        plain = _plain(msg.batch.schema)
        for start in range(0, msg.batch.num_rows, CHUNK):
            part = pa.Table.from_batches([msg.batch.slice(start, CHUNK)])
            rows = part.to_pylist()
            yield (rows if plain and _finite(part) else [json_safe(r) for r in rows]), part


def _plain(schema: pa.Schema) -> bool:
    """Whether every column's values are JSON values as Arrow gives them (``json_safe``
    leaves them as they are, but for floats that are not finite)."""
    return all(pa.types.is_integer(f.type) or pa.types.is_string(f.type)
               or pa.types.is_large_string(f.type) or pa.types.is_boolean(f.type)
               or pa.types.is_floating(f.type) or pa.types.is_null(f.type) for f in schema)


def _finite(table: pa.Table) -> bool:
    return all(not pa.types.is_floating(c.type) or pc.all(pc.is_finite(c)).as_py() is not False
               for c in table.columns)



def _posted(entities: Any) -> Iterator[tuple[list[Any], pa.Table | None]]:
    """The entities a webhook call posted (mode ``entities``), in chunks."""
    given = list(entities or [])
    for start in range(0, len(given), CHUNK):
        yield given[start:start + CHUNK], None


def _recorded(ctx: AttemptContext, workspace_id: str, route: str) -> set[str | None]:
    """The entities an earlier attempt of this job finished with (its worker died later):
    this attempt leaves them alone, so each keeps one task. The tasks that attempt left in
    ``processing`` are dropped: their entities are read and run again. Entities without an
    identifier cannot be told apart and run again."""
    with ctx.db.session() as s:
        s.execute(delete(Task).where(Task.workspace_id == workspace_id, Task.route == route,
                                     Task.job_id == ctx.job_id, Task.status == "processing"))
        found = set(s.scalars(select(Task.entity_identifier).where(
            Task.workspace_id == workspace_id, Task.route == route,
            Task.job_id == ctx.job_id, Task.entity_identifier.is_not(None))))
    return found


def _retry_chunks(ctx: AttemptContext, workspace_id: str, route: str,
                  ) -> Iterator[tuple[list[int], list[Any]]]:
    """The tasks to retry in chunks, each claimed (``processing``) by this job as it is
    handed on; those an earlier attempt of the job claimed and left are taken again."""
    with ctx.db.session() as s:
        s.execute(update(Task).where(Task.workspace_id == workspace_id, Task.route == route,
                                     Task.job_id == ctx.job_id, Task.status == "processing")
                  .values(status="retry").execution_options(synchronize_session=False))
    after = 0
    while True:
        with ctx.db.session() as s:
            rows = s.execute(select(Task.id, Task.entity).where(
                Task.workspace_id == workspace_id, Task.route == route,
                Task.status == "retry", Task.id > after).order_by(Task.id).limit(CHUNK)).all()
        if not rows:
            return
        after = rows[-1][0]
        with ctx.db.session() as s:  # claimed by this run
            s.execute(update(Task).where(Task.id.in_([r[0] for r in rows]),
                                         Task.status == "retry")
                      .values(status="processing", job_id=ctx.job_id, updated_at=now()))
        yield [int(r[0]) for r in rows], [r[1] for r in rows]


def _transform_one(parts: RouteParts, entity: Any) -> Any:
    try:
        return parts.transform(entity)
    except SluicewayError as exc:
        return entities.Failed(str(exc))


def _task_identifiers(ctx: AttemptContext, ids: list[int]) -> list[str | None]:
    """The entity identifiers the tasks ``ids`` were recorded with (a split item's has its
    ``#<item>``), in order."""
    with ctx.db.session() as s:
        named = {int(i): ident for i, ident in s.execute(
            select(Task.id, Task.entity_identifier).where(Task.id.in_(ids)))}
    return [named.get(i) for i in ids]


#: marks an item of a split entity in its task's entity identifier (``<read one>#<item>``)
ITEM = "#"


def split_item(item: Any, parent: str | None, index: str, at: entities.At) -> dict[str, Any]:
    """What the task of a split item keeps: the item as the split gave it (before the steps
    after the split) and a reference to its parent: the parent's identifier, the item's
    index, and where the split sits among the route's transformers (``at``)."""
    return {"item": item, "split": {"parent": parent, "index": index, "at": list(at)}}


def _split_reference(stored: Any) -> tuple[Any, entities.At] | None:
    """The item and its split's place, from what a split item's task keeps; ``None`` for
    an entity as read (a task recorded before items were kept on their own)."""
    if not isinstance(stored, dict) or set(stored) != {"item", "split"}:
        return None
    ref = stored["split"]
    if not isinstance(ref, dict) or not isinstance(ref.get("at"), list) or not ref["at"] \
            or not all(isinstance(n, int) for n in ref["at"]):
        return None
    return stored["item"], tuple(ref["at"])


def _fan_out(parts: RouteParts, batch: list[Any], done: set[str | None],
             ) -> tuple[list[Any], list[str | None], list[Any]]:
    """A route that splits: one task per item an entity becomes. The task keeps the item as
    the split gave it with a small reference to its parent (:func:`split_item`; a retry runs
    the item on from its split, alone), and the read identifier with ``#<item key>`` (the
    item's position: the same on every run); ``given`` is what the transformers made of the
    item. An entity that did not split keeps itself. Items an earlier attempt of the job
    finished with are left out (``done``)."""
    kept: list[Any] = []
    identifiers: list[str | None] = []
    given: list[Any] = []
    for entity in batch:
        identifier = _identifier(parts, entity)
        got = _transform_one(parts, entity)
        if not isinstance(got, entities.Split):
            if not (done and identifier in done):
                kept.append(entity)
                identifiers.append(identifier)
                given.append(got)
            continue
        origins = got.origins if len(got.origins) == len(got.items) else None
        for n, (key, item) in enumerate(got.items):
            ident = f"{identifier or ''}{ITEM}{key}"[-1000:]
            if done and ident in done:
                continue
            kept.append(entity if origins is None else split_item(
                origins[n][0], identifier, key, origins[n][1]))
            identifiers.append(ident)
            given.append(item)
    return kept, identifiers, given


def _picked(parts: RouteParts, idents: list[str | None], batch: list[Any]) -> list[Any]:
    """A retry of a route that splits: each task's item run on from its split, alone (an
    older task that kept its entity as read: split again, its item picked by ``idents``,
    the tasks' identifiers, :func:`_task_identifiers`). An item is sent once: when the
    steps after its split now split it again, it fails."""
    given: list[Any] = []
    for ident, stored in zip(idents, batch, strict=True):
        ref = _split_reference(stored) if ITEM in (ident or "") else None
        if ref is not None:
            try:
                got = entities.resume(parts.transform, ref[1], ref[0])
            except SluicewayError as exc:
                got = entities.Failed(str(exc))
            if isinstance(got, entities.Split):
                got = entities.Failed("the transformers after its split now split the item "
                                      "again: it cannot be sent as one task")
            given.append(got)
            continue
        got = _transform_one(parts, stored)
        if isinstance(got, entities.Split):
            key = (ident or "").rpartition(ITEM)[2] if ITEM in (ident or "") else ""
            got = dict(got.items).get(key) or entities.Skipped(
                f"the split no longer gives item {key!r} of this entity")
        given.append(got)
    return given


def run(ctx: AttemptContext) -> dict[str, Any]:
    inp = ctx.input
    workspace_id, route = str(inp["workspace_id"]), str(inp["route"])
    mode = str(inp.get("mode") or "run")
    parts = load_route(ctx, workspace_id, route)
    dest = parts.outgoing.destination(ctx.settings.allowed_roots)
    ctx.log("INFO", f"route {route!r}: {parts.incoming.connector} stream "
                    f"{parts.incoming.stream!r} -> {parts.outgoing.connector} table "
                    f"{parts.outgoing.stream!r}" + (" (retry of its tasks)"
                                                     if mode == "retry" else ""))
    counts = Counts()
    position: dict[str, Any] = {}
    changes = None
    if parts.change_storage is not None:
        with ctx.db.session() as s:
            changes = route_ledger.changes(s, workspace_id, parts.change_storage,
                                           Cipher.from_settings(ctx.settings))
            changes.analyse(s)
    analysed_at = CHUNK * 10  # hashes stored by this run when statistics are next refreshed
    given = replace(parts, transform=_given)  # the outgoing's end of the route
    if mode == "retry":
        for ids, batch in _retry_chunks(ctx, workspace_id, route):
            if parts.splits:
                idents = _task_identifiers(ctx, ids)
                results = _picked(parts, idents, batch)
            else:
                results = [_apply(parts.transform, e) for e in batch]
                idents = [_identifier(parts, e) for e in batch]
            chunk = Chunk(batch, idents, results)
            if changes is not None:
                _hash(parts, chunk)
            outcomes = _process(dest, given, chunk.results)
            _close(ctx, ids, outcomes, retried=True, changes=changes, hashes=chunk.hashes)
            _count(ctx, counts, outcomes)
            _check_cancel(ctx)
    else:
        done = _recorded(ctx, workspace_id, route)
        chunks = (_posted(inp.get("entities")) if mode == "entities"
                  else _read(ctx, parts, position))
        # a destination that keeps its connection for the run: each task written once
        ups = (None if isinstance(dest, EntityDestination)
               else dest.upserts(parts.outgoing.config, parts.outgoing.stream,
                                 parts.outgoing.keys))
        def prepared() -> Generator[Chunk, None, None]:
            """Each chunk read, with its identifiers, transformed and hashed."""
            for batch, table in chunks:
                if parts.splits:  # one task per item: identifiers and results come with them
                    batch, idents, results = _fan_out(parts, batch, done)
                else:
                    idents = [_identifier(parts, e) for e in batch]
                    if done:
                        mask = [i not in done for i in idents]
                        batch = [e for e, keep in zip(batch, mask, strict=True) if keep]
                        idents = [i for i, keep in zip(idents, mask, strict=True) if keep]
                        table = table.filter(pa.array(mask)) if table is not None else None
                    results = _transformed(parts, batch, table) if batch else []
                if batch:
                    chunk = Chunk(batch, idents, results)
                    if changes is not None:
                        _hash(parts, chunk)
                    yield chunk

        # with a kept connection, the next chunk is read and transformed while one is written
        ready = _ahead(prepared()) if ups is not None else prepared()
        try:
            for chunk in ready:
                if changes is not None:
                    chunk, unchanged = _unchanged(ctx, changes, chunk)
                    counts.unchanged += unchanged
                    counts.read += unchanged
                    if not chunk.entities:
                        ctx.progress(counts.read, 0)
                        _check_cancel(ctx)
                        continue
                if ups is not None:
                    outcomes = _settle(ctx, ups, given, workspace_id, chunk, changes)
                else:
                    ids = _open(ctx, parts, workspace_id, chunk.entities, chunk.idents)
                    outcomes = _process(dest, given, chunk.results)
                    _close(ctx, ids, outcomes, retried=False, changes=changes,
                           hashes=chunk.hashes)
                _count(ctx, counts, outcomes)
                if changes is not None and counts.finished + counts.waiting >= analysed_at:
                    analysed_at *= 2  # the storage grew: its statistics follow, now and then
                    with ctx.db.session() as s:
                        changes.analyse(s)
                _check_cancel(ctx)
        finally:
            ready.close()
            if ups is not None:
                ups.close()
    ctx.log("INFO", f"route {route!r}: {counts.read} entities, {counts.finished} finished, "
                    f"{counts.failed} failed, {counts.skipped} skipped"
                    + (f", {counts.unchanged} unchanged" if changes is not None else ""))
    if counts.failed and parts.max_attempts:
        _schedule_retry(ctx, parts, workspace_id)
    ctx.stats = counts.as_dict()
    return {"route": route, "mode": mode, **counts.as_dict(),
            **({"state": position["state"]} if "state" in position else {})}


def _schedule_retry(ctx: AttemptContext, parts: RouteParts, workspace_id: str) -> None:
    """The route's retry policy: the tasks this run failed that have attempts left go to
    ``retry``, and one run of them is queued after the policy's interval."""
    t = now()
    with ctx.db.claim() as s:
        moved = cast(CursorResult[Any], s.execute(
            update(Task).where(Task.workspace_id == workspace_id,
                               Task.route == parts.identifier, Task.job_id == ctx.job_id,
                               Task.status == "failed", Task.attempts < parts.max_attempts)
            .values(status="retry", updated_at=t)
            .execution_options(synchronize_session=False))).rowcount
        if moved:
            ledger.enqueue(s, workspace_id=workspace_id, config_type="route", scope=ctx.scope,
                           input={"workspace_id": workspace_id, "route": parts.identifier,
                                  "mode": "retry"},
                           max_attempts=ctx.settings.job_attempts,
                           unicity=f"route-retry:{ctx.job_id}",
                           scheduled_at=t + parts.interval_seconds)
    if moved:
        ctx.log("INFO", f"{moved} failed task(s) retried in {parts.interval_seconds} s "
                        "(the route's retry policy)")


def _count(ctx: AttemptContext, counts: Counts, outcomes: list[Outcome]) -> None:
    counts.read += len(outcomes)
    for o in outcomes:
        counts.add(o.status)
    ctx.progress(counts.read, 0)

"""A route run's writes to the metadata database in bulk: the task ledger (tasks recorded once
with their outcomes, or in ``processing`` and then given their outcomes, see
:mod:`.route`) and the change hashes of a route with change detection
(``changeDetection: {storage}``).

On PostgreSQL metadata both go through ``COPY``: tasks are copied into ``tasks`` with ids
taken from its sequence beforehand; outcomes and hashes are copied into a temporary table,
then applied by one ``UPDATE ... FROM`` (or ``INSERT ... ON CONFLICT``). On SQLite they are
one ``executemany`` each. Never one statement per task.

Change detection keeps, per entity identifier, a hash of the entity as it would be sent
(after the transformers) in a storage of the space (a configuration of type ``storage``: its
time to live and encryption hold). An entity whose hash is the one kept is not sent and not
recorded as a task. A hash is stored in the transaction that gives the entity's task its
outcome, after the entity's write committed: a crash never marks an unsent entity as sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from sluiceway.core.errors import Fatal
from sluiceway.secrets import Cipher
from sluiceway.store.models import Configuration, StorageEntity, Task, Workspace

#: the columns a task is recorded with
TASK_COLUMNS = ("workspace_id", "route", "entity_type", "entity_identifier", "status",
                "entity", "error", "log", "attempts", "job_id", "created_at", "updated_at")
#: hash keys looked up per statement
LOOKUP = 5000

def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _encoder(*, sort_keys: bool, allow_nan: bool, default: Callable[[Any], Any],
             ) -> Callable[[Any], str]:
    """A compact JSON encoder (non-ASCII kept) made once and used for every value: what
    ``json.JSONEncoder(...).encode`` gives, without making its C encoder again for each.
    Entities are trees (read from JSON or Arrow), so no check for cycles."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                                sort_keys=sort_keys, allow_nan=allow_nan,
                                default=default).encode
    run = make(None, default, json.encoder.encode_basestring, None, ":", ",", sort_keys,
               False, allow_nan)
    join = "".join

    def encode(value: Any) -> str:
        return join(run(value, 0))
    return encode


_encode = _encoder(sort_keys=False, allow_nan=False, default=_refuse)
_canonical = _encoder(sort_keys=True, allow_nan=True, default=str)


def _dumps(value: Any) -> str:
    if not value and isinstance(value, list):
        return "[]"  # most logs
    return _encode(value)


def entity_hash(entity: Any) -> str:
    """The hash of an entity as it would be sent (key order does not count)."""
    return hashlib.blake2b(_canonical(entity).encode("utf-8"), digest_size=16).hexdigest()


def _json_text(text: str | None) -> Any:
    """A JSON value read as text (a hash, a JSON string of hexadecimal digits, as it is)."""
    if text is None:
        return None
    if len(text) > 1 and text[0] == '"' and text[-1] == '"' and "\\" not in text:
        return text[1:-1]
    return json.loads(text)


def _array(texts: Sequence[str]) -> str:
    """Texts as one PostgreSQL array literal (each quoted): one parameter to send instead
    of a list psycopg dumps item by item."""
    return "{" + ",".join(
        '"' + (t.replace("\\", "\\\\").replace('"', '\\"')
               if "\\" in t or '"' in t else t) + '"' for t in texts) + "}"


def _postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def _driver(s: Session) -> Any:
    """The psycopg connection under the session's transaction."""
    return s.connection().connection.driver_connection


def _space_kept(s: Session, workspace_id: str) -> None:
    """SQLite (its writes one at a time): :class:`Fatal` when the space is gone."""
    if s.get(Workspace, workspace_id) is None:
        raise Fatal(f"the space {workspace_id} no longer exists")


def _hold_space(cur: Any, workspace_id: str) -> None:
    """PostgreSQL: hold the space's row until the transaction ends (as a foreign key's
    check would, once instead of once per row: tasks and storage entities have none), so
    that the space cannot be deleted under rows recorded for it; :class:`Fatal` when it is
    gone."""
    if cur.execute("SELECT 1 FROM workspaces WHERE id = %s FOR KEY SHARE",
                   (workspace_id,)).fetchone() is None:
        raise Fatal(f"the space {workspace_id} no longer exists")


# --- the task ledger ---------------------------------------------------------------------------

def open_tasks(s: Session, rows: Sequence[dict[str, Any]], *, ids: bool = True) -> list[int]:
    """Record ``rows`` (values of :data:`TASK_COLUMNS`) as tasks; their ids, in order
    (none unless ``ids``)."""
    if not rows:
        return []
    if not _postgres(s):
        for workspace_id in {r["workspace_id"] for r in rows}:
            _space_kept(s, workspace_id)
        if not ids:
            s.execute(insert(Task), list(rows))
            return []
        return list(s.scalars(insert(Task).returning(Task.id, sort_by_parameter_order=True),
                              list(rows)))
    conn = _driver(s)
    with conn.cursor() as cur:
        for workspace_id in {r["workspace_id"] for r in rows}:
            _hold_space(cur, workspace_id)
        taken: list[int] = []
        if ids:
            cur.execute("SELECT nextval(pg_get_serial_sequence('tasks', 'id')) "
                        "FROM generate_series(1, %s)", (len(rows),))
            taken = [int(r[0]) for r in cur.fetchall()]
        columns = ", ".join((*(("id",) if ids else ()), *TASK_COLUMNS))
        with cur.copy(f"COPY tasks ({columns}) FROM STDIN") as copy:
            copy.write("".join(_task_lines(rows, taken if ids else None)))
    return taken


def record_tasks(s: Session, shared: dict[str, Any],
                 varying: Sequence[tuple[str | None, str, Any, str | None, Any]]) -> None:
    """Record a chunk's tasks: ``shared`` holds the values of the columns of :data:`_HEAD`
    and :data:`_TAIL` (the same for each), ``varying`` each task's entity identifier,
    status, entity, error and log."""
    if not varying:
        return
    if not _postgres(s):
        open_tasks(s, [{**shared, "entity_identifier": ident, "status": status,
                        "entity": entity, "error": error, "log": log}
                       for ident, status, entity, error, log in varying], ids=False)
        return
    head = "\t".join(_text(shared[k]) for k in _HEAD)
    tail = "\t".join(_text(shared[k]) for k in _TAIL)
    lines = [f"{head}\t{_text(ident)}\t{status}\t{_json(entity)}\t"
             f"{_NULL if error is None else _text(error)}\t"
             f"{_EMPTY if not log and isinstance(log, list) else _json(log)}\t{tail}\n"
             for ident, status, entity, error, log in varying]
    with _driver(s).cursor() as cur:
        _hold_space(cur, shared["workspace_id"])
        with cur.copy(f"COPY tasks ({', '.join(TASK_COLUMNS)}) FROM STDIN") as copy:
            copy.write("".join(lines))


#: the columns a chunk's tasks mostly share, before and after those that differ
_HEAD = ("workspace_id", "route", "entity_type")
_TAIL = ("attempts", "job_id", "created_at", "updated_at")


def _task_lines(rows: Sequence[dict[str, Any]], ids: list[int] | None) -> list[str]:
    """``rows`` in COPY's text format, one line each. The columns every row of a chunk
    shares (its space, route, times...) are written once and repeated."""
    first = rows[0]
    shared = all(r[k] == first[k] for k in (*_HEAD, *_TAIL) for r in rows)
    lines = []
    if shared:
        head = "\t".join(_text(first[k]) for k in _HEAD)
        tail = "\t".join(_text(first[k]) for k in _TAIL)
        for r in rows:
            error, log = r["error"], r["log"]
            lines.append(f"{head}\t{_text(r['entity_identifier'])}\t{_text(r['status'])}\t"
                         f"{_json(r['entity'])}\t{_NULL if error is None else _text(error)}\t"
                         f"{_EMPTY if not log and isinstance(log, list) else _json(log)}\t"
                         f"{tail}\n")
    else:
        for r in rows:
            lines.append("\t".join((
                _text(r["workspace_id"]), _text(r["route"]), _text(r["entity_type"]),
                _text(r["entity_identifier"]), _text(r["status"]), _json(r["entity"]),
                _text(r["error"]), _json(r["log"]), _text(r["attempts"]),
                _text(r["job_id"]), _text(r["created_at"]), _text(r["updated_at"]))) + "\n")
    if ids is not None:
        return [f"{i}\t{line}" for i, line in zip(ids, lines, strict=True)]
    return lines


_NULL = "\\N"
_EMPTY = "[]"


#: what COPY's text format escapes
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: Any) -> str:
    """A value (text, number or None) in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_ESCAPES)
        return value
    if isinstance(value, float):
        return repr(value)
    return str(int(value))


def _json(value: Any) -> str:
    """A JSON value's text in COPY's text format (JSON text escapes its control characters:
    only its backslashes need doubling)."""
    text = _dumps(value)
    return text.replace("\\", "\\\\") if "\\" in text else text


def close_tasks(s: Session, values: Sequence[dict[str, Any]]) -> None:
    """Give tasks their outcomes: each of ``values`` has ``id``, ``status``, ``error``,
    ``job_id``, ``updated_at``, ``attempts`` and the whole ``log``."""
    if not values:
        return
    if not _postgres(s):
        s.execute(update(Task), list(values))
        return
    conn = _driver(s)
    with conn.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE IF NOT EXISTS task_outcomes (id bigint, "
                    "status varchar(16), error text, log json, attempts integer, "
                    "job_id bigint, updated_at double precision) ON COMMIT DELETE ROWS")
        with cur.copy("COPY task_outcomes FROM STDIN") as copy:
            for v in values:
                copy.write_row((v["id"], v["status"], v["error"], _dumps(v["log"]),
                                v["attempts"], v["job_id"], v["updated_at"]))
        cur.execute("UPDATE tasks SET status = o.status, error = o.error, log = o.log, "
                    "attempts = o.attempts, job_id = o.job_id, updated_at = o.updated_at "
                    "FROM task_outcomes o WHERE tasks.id = o.id")
        cur.execute("DELETE FROM task_outcomes")


# --- change detection --------------------------------------------------------------------------

@dataclass(frozen=True)
class Changes:
    """The storage a route keeps its change hashes in."""

    workspace_id: str
    storage: str
    ttl: int | None
    cipher: Cipher | None  # set when the storage is encrypted

    def known(self, s: Session, keys: Iterable[str], at: float,
              absent: set[str] | None = None) -> dict[str, str]:
        """The hash kept for each of ``keys`` that has a live one. ``absent`` (on
        PostgreSQL): filled with the keys the storage holds nothing for, expired or not."""
        wanted = sorted(set(keys))
        found: dict[str, str] = {}
        live = or_(StorageEntity.expires_at.is_(None), StorageEntity.expires_at > at)
        for start in range(0, len(wanted), LOOKUP):
            part = wanted[start:start + LOOKUP]
            if _postgres(s):  # one array parameter: the unique index's plan, whatever the size
                with _driver(s).cursor() as cur:
                    held = cur.execute(
                        "SELECT key, value::text, sealed, expires_at FROM storage_entities "
                        "WHERE workspace_id = %s AND storage = %s "
                        "AND key = ANY(%s::varchar[])",
                        (self.workspace_id, self.storage, _array(part))).fetchall()
                if absent is not None:
                    absent.update(set(part).difference(r[0] for r in held))
                rows: Iterable[Any] = [(r[0], _json_text(r[1]), r[2]) for r in held
                                       if r[3] is None or r[3] > at]
            else:
                rows = s.execute(select(
                    StorageEntity.key, StorageEntity.value, StorageEntity.sealed).where(
                        StorageEntity.workspace_id == self.workspace_id,
                        StorageEntity.storage == self.storage, StorageEntity.key.in_(part),
                        live)).all()
            for key, value, sealed in rows:
                if sealed is not None and self.cipher is not None:
                    value = json.loads(self.cipher.decrypt(sealed))
                if isinstance(value, str):
                    found[key] = value
        return found

    def analyse(self, s: Session) -> None:
        """Refresh PostgreSQL's statistics of the storages' table. Without them (a table
        that grew since, or never analysed) the planner may look keys up through the
        ``updated_at`` index, and each lookup then reads the whole storage."""
        if _postgres(s):
            s.execute(text("ANALYZE storage_entities"))

    def store(self, s: Session, hashes: dict[str, str], at: float,
              absent: set[str] | None = None) -> None:
        """Keep ``hashes`` (entity identifier -> hash), replacing the ones kept. ``absent``:
        keys :meth:`known` found nothing for (on PostgreSQL they are copied in as they are,
        the others upserted)."""
        if not hashes:
            return
        expires = at + self.ttl if self.ttl is not None else None
        if _postgres(s):
            self._store_copy(s, hashes, at, expires, absent or set())
            return
        rows = []
        for key, digest in hashes.items():
            text = f'"{digest}"'  # a hash is hexadecimal: its JSON text as it is
            sealed = self.cipher.encrypt(text) if self.cipher is not None else None
            rows.append({"workspace_id": self.workspace_id, "storage": self.storage,
                         "key": key, "value": None if sealed else digest, "sealed": sealed,
                         "size": len(key.encode("utf-8")) + len((sealed or text).encode()),
                         "created_at": at, "updated_at": at, "expires_at": expires})
        _space_kept(s, self.workspace_id)
        stmt = sqlite.insert(StorageEntity)
        s.execute(stmt.on_conflict_do_update(
            index_elements=["workspace_id", "storage", "key"],
            set_={c: stmt.excluded[c] for c in ("value", "sealed", "size", "updated_at",
                                                "expires_at")}), rows)

    def _lines(self, hashes: dict[str, str], at: float, expires: float | None,
               ) -> dict[str, str]:
        """Each hash's row of ``storage_entities`` in COPY's text format, by key."""
        head = f"{_text(self.workspace_id)}\t{_text(self.storage)}\t"
        tail = f"{_text(at)}\t{_text(at)}\t{_text(expires)}\n"
        lines = {}
        for key, digest in hashes.items():
            text = f'"{digest}"'  # a hash is hexadecimal: its JSON text as it is
            size = len(key.encode("utf-8")) if not key.isascii() else len(key)
            if self.cipher is not None:
                sealed = self.cipher.encrypt(text)
                stored = f"\\N\t{sealed}\t{size + len(sealed)}"
            else:
                stored = f"{text}\t\\N\t{size + len(text)}"
            lines[key] = f"{head}{_text(key)}\t{stored}\t{tail}"
        return lines

    def _store_copy(self, s: Session, hashes: dict[str, str], at: float,
                    expires: float | None, absent: set[str]) -> None:
        """PostgreSQL: the keys :meth:`known` found nothing for copied in as they are (when
        another run kept one of them meanwhile, all are upserted), the others upserted
        through a temporary table."""
        with _driver(s).cursor() as cur:
            _hold_space(cur, self.workspace_id)
        lines = self._lines(hashes, at, expires)
        rest = lines
        fresh = [line for key, line in lines.items() if key in absent]
        if fresh:
            try:
                with s.begin_nested(), _driver(s).cursor() as cur, cur.copy(
                        "COPY storage_entities (workspace_id, storage, key, value, sealed, "
                        "size, created_at, updated_at, expires_at) FROM STDIN") as copy:
                    copy.write("".join(fresh))
                rest = {k: v for k, v in lines.items() if k not in absent}
            except Exception as exc:  # a key another run kept meanwhile: all upserted
                if getattr(exc, "sqlstate", None) != "23505":  # unique_violation
                    raise
        if not rest:
            return
        with _driver(s).cursor() as cur:
            cur.execute("CREATE TEMPORARY TABLE IF NOT EXISTS change_hashes (workspace_id "
                        "varchar(36), storage varchar(255), key varchar(1000), value json, "
                        "sealed text, size bigint, created_at double precision, "
                        "updated_at double precision, expires_at double precision) "
                        "ON COMMIT DELETE ROWS")
            with cur.copy("COPY change_hashes FROM STDIN") as copy:
                copy.write("".join(rest.values()))
            cur.execute(
                "INSERT INTO storage_entities (workspace_id, storage, key, value, sealed, "
                "size, created_at, updated_at, expires_at) SELECT * FROM change_hashes "
                "ON CONFLICT (workspace_id, storage, key) DO UPDATE SET "
                "value = EXCLUDED.value, sealed = EXCLUDED.sealed, size = EXCLUDED.size, "
                "updated_at = EXCLUDED.updated_at, expires_at = EXCLUDED.expires_at")
            cur.execute("DELETE FROM change_hashes")


def changes(s: Session, workspace_id: str, storage: str, cipher: Cipher) -> Changes:
    """The change detection of a route naming ``storage``; :class:`Fatal` when the space has
    no such storage."""
    c = s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.type == "storage",
        Configuration.identifier == storage)).first()
    if c is None:
        raise Fatal(f"the storage {storage!r} of the route's change detection does not exist")
    params = dict(dict(c.object).get("parameters") or {})
    ttl = params.get("ttlSeconds")
    return Changes(workspace_id, storage, ttl if isinstance(ttl, int) and ttl > 0 else None,
                   cipher if params.get("encrypted") is True else None)


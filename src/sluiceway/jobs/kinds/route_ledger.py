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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from sluiceway.core.errors import Fatal
from sluiceway.secrets import Cipher
from sluiceway.store.models import Configuration, StorageEntity, Task

#: the columns a task is recorded with
TASK_COLUMNS = ("workspace_id", "route", "entity_type", "entity_identifier", "status",
                "entity", "error", "log", "attempts", "job_id", "created_at", "updated_at")
#: hash keys looked up per statement
LOOKUP = 5000

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                              default=str).encode


def _dumps(value: Any) -> str:
    if not value and isinstance(value, list):
        return "[]"  # most logs
    return _encode(value)


def entity_hash(entity: Any) -> str:
    """The hash of an entity as it would be sent (key order does not count)."""
    return hashlib.blake2b(_canonical(entity).encode("utf-8"), digest_size=16).hexdigest()


def _postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def _driver(s: Session) -> Any:
    """The psycopg connection under the session's transaction."""
    return s.connection().connection.driver_connection


# --- the task ledger ---------------------------------------------------------------------------

def open_tasks(s: Session, rows: Sequence[dict[str, Any]], *, ids: bool = True) -> list[int]:
    """Record ``rows`` (values of :data:`TASK_COLUMNS`) as tasks; their ids, in order
    (none unless ``ids``)."""
    if not rows:
        return []
    if not _postgres(s):
        if not ids:
            s.execute(insert(Task), list(rows))
            return []
        return list(s.scalars(insert(Task).returning(Task.id, sort_by_parameter_order=True),
                              list(rows)))
    conn = _driver(s)
    with conn.cursor() as cur:
        taken: list[int] = []
        if ids:
            cur.execute("SELECT nextval(pg_get_serial_sequence('tasks', 'id')) "
                        "FROM generate_series(1, %s)", (len(rows),))
            taken = [int(r[0]) for r in cur.fetchall()]
        columns = ", ".join((*(("id",) if ids else ()), *TASK_COLUMNS))
        lines = []
        for i, r in enumerate(rows):  # COPY's text format, a chunk's rows as one write
            line = "\t".join((
                _text(r["workspace_id"]), _text(r["route"]), _text(r["entity_type"]),
                _text(r["entity_identifier"]), _text(r["status"]), _json(r["entity"]),
                _text(r["error"]), _json(r["log"]), _text(r["attempts"]),
                _text(r["job_id"]), _text(r["created_at"]), _text(r["updated_at"])))
            lines.append(f"{taken[i]}\t{line}\n" if ids else f"{line}\n")
        with cur.copy(f"COPY tasks ({columns}) FROM STDIN") as copy:
            copy.write("".join(lines))
    return taken


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
                        "SELECT key, value, sealed, expires_at FROM storage_entities WHERE "
                        "workspace_id = %s AND storage = %s AND key = ANY(%s::varchar[])",
                        (self.workspace_id, self.storage, part)).fetchall()
                if absent is not None:
                    absent.update(set(part).difference(r[0] for r in held))
                rows: Iterable[Any] = [r[:3] for r in held if r[3] is None or r[3] > at]
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
        rows = []
        for key, digest in hashes.items():
            text = f'"{digest}"'  # a hash is hexadecimal: its JSON text as it is
            sealed = self.cipher.encrypt(text) if self.cipher is not None else None
            rows.append({"workspace_id": self.workspace_id, "storage": self.storage,
                         "key": key, "value": None if sealed else digest, "sealed": sealed,
                         "size": len(key.encode("utf-8")) + len((sealed or text).encode()),
                         "created_at": at, "updated_at": at, "expires_at": expires})
        if _postgres(s):
            absent = absent or set()
            fresh = [r for r in rows if r["key"] in absent]
            if fresh:
                try:
                    with s.begin_nested():
                        self._copy_in(s, fresh)
                    rows = [r for r in rows if r["key"] not in absent]
                except Exception as exc:  # a key another run kept meanwhile: all upserted
                    if getattr(exc, "sqlstate", None) != "23505":  # unique_violation
                        raise
            if rows:
                self._copy(s, rows)
            return
        stmt = sqlite.insert(StorageEntity)
        s.execute(stmt.on_conflict_do_update(
            index_elements=["workspace_id", "storage", "key"],
            set_={c: stmt.excluded[c] for c in ("value", "sealed", "size", "updated_at",
                                                "expires_at")}), rows)

    @staticmethod
    def _copy_in(s: Session, rows: list[dict[str, Any]]) -> None:
        with _driver(s).cursor() as cur, cur.copy(
                "COPY storage_entities (workspace_id, storage, key, value, sealed, size, "
                "created_at, updated_at, expires_at) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r["workspace_id"], r["storage"], r["key"],
                                None if r["value"] is None else f'"{r["value"]}"',
                                r["sealed"], r["size"], r["created_at"], r["updated_at"],
                                r["expires_at"]))

    @staticmethod
    def _copy(s: Session, rows: list[dict[str, Any]]) -> None:
        conn = _driver(s)
        with conn.cursor() as cur:
            cur.execute("CREATE TEMPORARY TABLE IF NOT EXISTS change_hashes (workspace_id "
                        "varchar(36), storage varchar(255), key varchar(1000), value json, "
                        "sealed text, size bigint, created_at double precision, "
                        "updated_at double precision, expires_at double precision) "
                        "ON COMMIT DELETE ROWS")
            with cur.copy("COPY change_hashes FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((r["workspace_id"], r["storage"], r["key"],
                                    None if r["value"] is None else f'"{r["value"]}"',
                                    r["sealed"], r["size"], r["created_at"], r["updated_at"],
                                    r["expires_at"]))
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


"""Storages (the Alumio face's ``/storages``): a configuration of type ``storage`` keeps JSON
values by key (an entity identifier) in the metadata database, each for the storage's time to
live (``ttlSeconds``; none: for ever), encrypted at rest when the storage says ``encrypted``.

An entity past its time to live is gone for every reader at once and its row is removed by a
prune (:func:`prune`, or the ``prune_storages`` job the server queues). Filters name the
entity's ``identifier`` and times, and the keys of its value (``value.<key>``). Listings
page by the filter grammar of :mod:`criteria` and hand back a cursor (``next``) for the page
after; exports stream every matching entity in key order, one
batch per session, so memory stays flat whatever the storage's size. The size of a storage is
the bytes its rows keep (keys and stored values, expired ones until pruned).

Who may do what: viewers read entities and sizes; editors write, delete, clear, copy, prune
and export. Every change leaves one audit entry (keys, never values).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.orm import Session

from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.services import audit, criteria, policy
from sluiceway.services.caller import Caller
from sluiceway.services.configurations import find as find_configuration
from sluiceway.services.configurations import flush_new
from sluiceway.services.listing import BadQuery
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Configuration, StorageEntity

TYPE = "storage"
#: an entity key is 1 to this many bytes of UTF-8 (it is part of a unique index)
MAX_KEY_BYTES = 1000
#: entities read per session by an export or a copy
BATCH = 500

#: ``value.<key>`` (a dotted path) filters on the stored value's keys
VALUE_PREFIX = "value."


def _as_json_scalar(value: Any) -> Any:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise TypeError("must be text, a number, a boolean or null")
    return value


def _value_column(path: str) -> criteria.Column:
    keys = tuple(int(k) if k.isdigit() else k for k in path.split("."))
    element = StorageEntity.value[keys if len(keys) > 1 else keys[0]]

    def typed(sample: Any) -> Any:
        if isinstance(sample, bool):
            return element.as_boolean()
        if isinstance(sample, int | float):
            return element.as_float()
        return element.as_string()
    return criteria.Column(element.as_string(), _as_json_scalar, typed)


class _EntityColumns(dict[str, criteria.Column]):
    """The fields of a storage's entities: ``identifier``, ``createdAt``, ``updatedAt``
    and ``value.<key>`` (a key of the stored value, a dotted path; an encrypted storage's
    values are sealed and match no such filter)."""

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (
            isinstance(name, str) and name.startswith(VALUE_PREFIX)
            and _value_path_ok(name[len(VALUE_PREFIX):]))

    def __missing__(self, name: str) -> criteria.Column:
        if name.startswith(VALUE_PREFIX) and _value_path_ok(name[len(VALUE_PREFIX):]):
            return _value_column(name[len(VALUE_PREFIX):])
        raise KeyError(name)


def _value_path_ok(path: str) -> bool:
    parts = path.split(".")
    return 0 < len(path) <= 255 and len(parts) <= 10 and all(
        p and p.replace("_", "").replace("-", "").isalnum() for p in parts)


ENTITY_COLUMNS: dict[str, criteria.Column] = _EntityColumns({
    "identifier": criteria.Column(StorageEntity.key, criteria.as_text),
    "createdAt": criteria.Column(StorageEntity.created_at, criteria.as_time),
    "updatedAt": criteria.Column(StorageEntity.updated_at, criteria.as_time),
})


def _as_size(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("must be a whole number of bytes")
    return value


#: the fields of the storage list (filtered in memory: a space has few storages)
STORAGE_COLUMNS: dict[str, criteria.Column] = {
    "identifier": criteria.Column(None, criteria.as_text),
    "name": criteria.Column(None, criteria.as_text),
    "sizeInBytes": criteria.Column(None, _as_size),
}


@dataclass(frozen=True)
class EntityView:
    identifier: str
    value: Any
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class EntityPage:
    entities: list[EntityView]
    #: how many entities match the filter (all pages)
    total: int
    #: the cursor of the next page; None on the last one
    next: str | None


@dataclass(frozen=True)
class StorageView:
    identifier: str
    name: str
    size_in_bytes: int
    entities: int


@dataclass(frozen=True)
class _Storage:
    identifier: str
    ttl: int | None
    encrypted: bool


# --- helpers -----------------------------------------------------------------------------------

def _storage(s: Session, workspace_id: str, identifier: str) -> _Storage:
    try:
        c = find_configuration(s, workspace_id, TYPE, identifier)
    except NotFound:
        raise NotFound(f"storage {identifier} not found (a configuration of type storage)",
                       identifier) from None
    params = dict(c.object.get("parameters") or {})
    ttl = params.get("ttlSeconds")
    return _Storage(identifier, ttl if isinstance(ttl, int) and ttl > 0 else None,
                    params.get("encrypted") is True)


def check_key(key: str, field: str = "entity") -> str:
    if not key or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidInput("invalid entity identifier", [FieldError(
            field, f"must be 1 to {MAX_KEY_BYTES} bytes of text", key[:100])])
    if "\x00" in key:
        raise InvalidInput("invalid entity identifier", [FieldError(
            field, "must not contain NUL characters")])
    return key


def _live(at: float) -> ColumnElement[bool]:
    return or_(StorageEntity.expires_at.is_(None), StorageEntity.expires_at > at)


def _rows(workspace_id: str, storage: str) -> Select[Any]:
    return select(StorageEntity).where(StorageEntity.workspace_id == workspace_id,
                                       StorageEntity.storage == storage, _live(now()))


def _value(p: Platform, row: StorageEntity) -> Any:
    if row.sealed is not None:
        return json.loads(p.cipher.decrypt(row.sealed))
    return row.value


def _view(p: Platform, row: StorageEntity) -> EntityView:
    return EntityView(row.key, _value(p, row), row.created_at, row.updated_at)


def _store(p: Platform, st: _Storage, row: StorageEntity, value: Any, at: float) -> None:
    """Put ``value`` in ``row`` as ``st`` keeps values, with its size and expiry."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if st.encrypted:
        row.value, row.sealed = None, p.cipher.encrypt(text)
        stored = row.sealed
    else:
        row.value, row.sealed = value, None
        stored = text
    row.size = len(row.key.encode("utf-8")) + len(stored.encode("utf-8"))
    row.updated_at = at
    row.expires_at = at + st.ttl if st.ttl is not None else None


def _find(s: Session, workspace_id: str, storage: str, key: str) -> StorageEntity | None:
    return s.scalars(select(StorageEntity).where(
        StorageEntity.workspace_id == workspace_id, StorageEntity.storage == storage,
        StorageEntity.key == key)).first()


def _audit(s: Session, caller: Caller, workspace_id: str, action: str, message: str,
           **request: Any) -> None:
    audit.record(s, caller, f"storage.{action}", "storage", message, request=request,
                 workspace_id=workspace_id)


# --- one entity --------------------------------------------------------------------------------

def get_entity(p: Platform, caller: Caller, workspace_id: str, storage: str,
               key: str) -> EntityView:
    policy.require(caller, policy.READ, workspace_id)
    check_key(key)
    with p.db.session() as s:
        _storage(s, workspace_id, storage)
        row = _find(s, workspace_id, storage, key)
        if row is None or (row.expires_at is not None and row.expires_at <= now()):
            raise NotFound(f"entity {key!r} not found in storage {storage}", key)
        return _view(p, row)


def put_entity(p: Platform, caller: Caller, workspace_id: str, storage: str, key: str,
               value: Any, *, create: bool = False) -> EntityView:
    """Set the entity's value (``create``: only when the storage has no such entity; 409
    otherwise)."""
    policy.require(caller, policy.CHANGE, workspace_id)
    check_key(key)
    with p.db.claim() as s:
        st = _storage(s, workspace_id, storage)
        at = now()
        row = _find(s, workspace_id, storage, key)
        expired = row is not None and row.expires_at is not None and row.expires_at <= at
        if row is not None and create and not expired:
            raise Conflict(f"entity {key!r} exists already in storage {storage}")
        made = row is None or expired
        if row is None:
            row = StorageEntity(workspace_id=workspace_id, storage=storage, key=key)
            s.add(row)
        if made:
            row.created_at = at
        _store(p, st, row, value, at)
        flush_new(s, f"entity {key!r} of storage {storage}")
        verb = "created" if made else "updated"
        _audit(s, caller, workspace_id, f"entity.{'create' if made else 'update'}",
               f"entity {key} of storage {storage} {verb}", storage=storage, entity=key)
        return EntityView(key, value, row.created_at, row.updated_at)


def delete_entity(p: Platform, caller: Caller, workspace_id: str, storage: str,
                  key: str) -> None:
    policy.require(caller, policy.CHANGE, workspace_id)
    check_key(key)
    with p.db.claim() as s:
        _storage(s, workspace_id, storage)
        row = _find(s, workspace_id, storage, key)
        if row is None or (row.expires_at is not None and row.expires_at <= now()):
            raise NotFound(f"entity {key!r} not found in storage {storage}", key)
        s.delete(row)
        _audit(s, caller, workspace_id, "entity.delete",
               f"entity {key} of storage {storage} deleted", storage=storage, entity=key)


# --- many entities -----------------------------------------------------------------------------

def _cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _read_cursor(text: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        data = None
    if not isinstance(data, dict) or not (
            isinstance(data.get("after"), str) or (isinstance(data.get("skip"), int)
                                                   and data["skip"] >= 0)):
        raise BadQuery("invalid cursor", [FieldError(
            "next", "must be a cursor this server gave in a listing's next")])
    return data


def _by_key(c: criteria.Criteria) -> bool:
    return not c.order or c.order == (("identifier", False),)


def list_entities(p: Platform, caller: Caller, workspace_id: str, storage: str,
                  c: criteria.Criteria, cursor: str | None = None) -> EntityPage:
    """A page of the storage's live entities. In key order (the default) the cursor names
    the last key given, so a page never repeats or skips an entity written meanwhile; in
    another order it counts the entities given."""
    policy.require(caller, policy.READ, workspace_id)
    after = _read_cursor(cursor) if cursor else {}
    with p.db.session() as s:
        _storage(s, workspace_id, storage)
        q = _rows(workspace_id, storage).where(criteria.where_clause(c, ENTITY_COLUMNS))
        total = int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)
        if _by_key(c):
            if "after" in after:
                q = q.where(StorageEntity.key > after["after"])
            elif c.skip:
                q = q.offset(c.skip)
            q = q.order_by(StorageEntity.key)
        else:
            skip = int(after.get("skip", c.skip))
            q = q.order_by(*criteria.order_by(c, ENTITY_COLUMNS), StorageEntity.key
                           ).offset(skip)
        rows = list(s.scalars(q.limit(c.limit + 1)))
        more, rows = len(rows) > c.limit, rows[:c.limit]
        nxt = None
        if more:
            nxt = _cursor({"after": rows[-1].key} if _by_key(c) else
                          {"skip": int(after.get("skip", c.skip)) + len(rows)})
        return EntityPage([_view(p, r) for r in rows], total, nxt)


def delete_matching(p: Platform, caller: Caller, workspace_id: str, storage: str,
                    c: criteria.Criteria) -> int:
    """Delete every entity the filter's ``where`` matches (``limit`` and ``skip`` are not
    applied: all pages)."""
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.claim() as s:
        _storage(s, workspace_id, storage)
        done = s.execute(delete(StorageEntity).where(
            StorageEntity.workspace_id == workspace_id, StorageEntity.storage == storage,
            criteria.where_clause(c, ENTITY_COLUMNS)).execution_options(
                synchronize_session=False))
        count = int(getattr(done, "rowcount", 0) or 0)
        _audit(s, caller, workspace_id, "entity.delete",
               f"{count} entities of storage {storage} deleted by filter", storage=storage,
               deleted=count)
        return count


def clear(p: Platform, caller: Caller, workspace_id: str, storage: str) -> int:
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.claim() as s:
        _storage(s, workspace_id, storage)
        count = _drop(s, workspace_id, storage)
        _audit(s, caller, workspace_id, "clear", f"storage {storage} cleared ({count} "
               "entities removed)", storage=storage, deleted=count)
        return count


def _drop(s: Session, workspace_id: str, storage: str) -> int:
    done = s.execute(delete(StorageEntity).where(
        StorageEntity.workspace_id == workspace_id, StorageEntity.storage == storage
    ).execution_options(synchronize_session=False))
    return int(getattr(done, "rowcount", 0) or 0)


def _batches(p: Platform, workspace_id: str, storage: str,
             where: ColumnElement[bool]) -> Iterator[list[EntityView]]:
    """The live entities ``where`` selects, in key order, a session per batch."""
    after: str | None = None
    while True:
        with p.db.session() as s:
            q = _rows(workspace_id, storage).where(where)
            if after is not None:
                q = q.where(StorageEntity.key > after)
            rows = list(s.scalars(q.order_by(StorageEntity.key).limit(BATCH)))
            views = [_view(p, r) for r in rows]
        if not views:
            return
        yield views
        after = views[-1].identifier


def export(p: Platform, caller: Caller, workspace_id: str, storage: str,
           c: criteria.Criteria) -> Iterator[EntityView]:
    """Every live entity the filter's ``where`` matches, in key order (checked now, read as
    the caller consumes it)."""
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.session() as s:
        _storage(s, workspace_id, storage)
        _audit(s, caller, workspace_id, "export", f"storage {storage} exported",
               storage=storage)
    where = criteria.where_clause(c, ENTITY_COLUMNS)
    return (v for batch in _batches(p, workspace_id, storage, where) for v in batch)


def copy(p: Platform, caller: Caller, workspace_id: str, source: str, target: str) -> int:
    """Write every live entity of ``source`` into ``target`` (same keys are replaced), as
    ``target`` keeps values (its encryption and time to live); the number copied."""
    policy.require(caller, policy.CHANGE, workspace_id)
    if source == target:
        raise InvalidInput("invalid copy", [FieldError(
            "target", "must be another storage than the source", target)])
    with p.db.claim() as s:
        _storage(s, workspace_id, source)
        st = _storage(s, workspace_id, target)
        at, count, after = now(), 0, ""
        while True:
            rows = list(s.scalars(_rows(workspace_id, source).where(StorageEntity.key > after)
                                  .order_by(StorageEntity.key).limit(BATCH)))
            if not rows:
                break
            existing = {r.key: r for r in s.scalars(select(StorageEntity).where(
                StorageEntity.workspace_id == workspace_id, StorageEntity.storage == target,
                StorageEntity.key.in_([r.key for r in rows])))}
            for r in rows:
                out = existing.get(r.key)
                if out is None:
                    out = StorageEntity(workspace_id=workspace_id, storage=target, key=r.key,
                                        created_at=at)
                    s.add(out)
                _store(p, st, out, _value(p, r), at)
            s.flush()
            count += len(rows)
            after = rows[-1].key
            s.expunge_all()  # written: keep the session's memory to one batch
        _audit(s, caller, workspace_id, "copy", f"{count} entities of storage {source} "
               f"copied into {target}", source=source, target=target, copied=count)
        return count


def prune(p: Platform, caller: Caller, workspace_id: str, storage: str | None = None) -> int:
    """Remove the expired entities of the space's storages (or of one); how many."""
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.claim() as s:
        q = delete(StorageEntity).where(StorageEntity.workspace_id == workspace_id,
                                        StorageEntity.expires_at <= now())
        if storage is not None:
            _storage(s, workspace_id, storage)
            q = q.where(StorageEntity.storage == storage)
        done = s.execute(q.execution_options(synchronize_session=False))
        count = int(getattr(done, "rowcount", 0) or 0)
        _audit(s, caller, workspace_id, "prune",
               f"{count} expired entities removed from "
               f"{'storage ' + storage if storage else 'the storages of the space'}",
               storage=storage, deleted=count)
        return count


def list_storages(p: Platform, caller: Caller, workspace_id: str,
                  c: criteria.Criteria) -> tuple[list[StorageView], int]:
    """The space's storages with the bytes and entities each keeps, filtered and paged."""
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        made = s.execute(select(Configuration.identifier, Configuration.name).where(
            Configuration.workspace_id == workspace_id, Configuration.type == TYPE)
            .order_by(Configuration.identifier)).all()
        sizes = {name: (int(size or 0), int(n)) for name, size, n in s.execute(
            select(StorageEntity.storage, func.sum(StorageEntity.size), func.count())
            .where(StorageEntity.workspace_id == workspace_id)
            .group_by(StorageEntity.storage))}
    views = [StorageView(i, n, *sizes.get(i, (0, 0))) for i, n in made]
    return criteria.select_from(views, lambda v: {
        "identifier": v.identifier, "name": v.name, "sizeInBytes": v.size_in_bytes}, c)

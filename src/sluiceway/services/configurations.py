"""A space's configurations (the Alumio face's ``/di/configurations``): typed objects, each
``{prototype, parameters}`` checked against its prototype's JSON Schema
(:mod:`sluiceway.services.prototypes`), with labels, favourites per user and a history.

Every save writes a revision keyed by a ULID (ascending within a configuration); a restore
writes a new revision from an old one and never rewrites history. Secret fields of a
prototype are sealed at rest and shown as the mask; a save that sends the mask back keeps
the stored secret (while the fields that say where it goes stay as stored). A ``${NAME}``
value is kept as written (and shown): it is resolved only when the configuration runs.

Who may do what: viewers read and keep their own favourites; editors create, change,
restore, delete and export. Every change leaves one audit entry. A configuration that
others name (a route its incoming, a chain its transformers) cannot be deleted: 409 names
its dependants.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, exists, func, literal, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from ulid import ULID

from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.jobs import schedule_entries
from sluiceway.protocol.spec import MASK
from sluiceway.secrets import merge_masked, seal, unseal
from sluiceway.services import audit, criteria, policy, prototypes
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import (
    Configuration,
    ConfigurationFavourite,
    ConfigurationRevision,
    StorageEntity,
    Workspace,
)

IDENTIFIER = re.compile(r"^[a-z0-9-]+$")
_ALONE = re.compile(r"^\$\{[A-Za-z0-9_-]+\}$")
MAX_LABELS = 100


@dataclass(frozen=True)
class ConfigurationInput:
    """What a caller sends; ``None`` leaves a field as it is (PATCH) or at its default."""

    type: str
    identifier: str | None = None
    name: str | None = None
    object: Any = None
    description: str | None = None
    context: dict[str, Any] | None = None
    owner: str | None = None
    removable: bool | None = None
    resettable: bool | None = None
    disabled: bool | None = None
    labels: Sequence[str] | None = None


@dataclass(frozen=True)
class ConfigurationView:
    type: str
    identifier: str
    name: str
    description: str
    #: ``{prototype, parameters}`` with secrets masked
    object: dict[str, Any]
    context: dict[str, Any] | None
    owner: str | None
    removable: bool
    resettable: bool
    disabled: bool
    labels: tuple[str, ...]
    #: the caller's tags (``favourite`` when the caller made it a favourite)
    tags: tuple[str, ...]
    editor: str | None
    revision: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class FavouriteView:
    id: str
    type: str
    identifier: str
    space: str
    user: str
    tags: tuple[str, ...]
    created_at: float
    updated_at: float
    #: whether it is a favourite after the toggle
    favourite: bool


@dataclass(frozen=True)
class Dependant:
    type: str
    identifier: str
    name: str
    path: str


def as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("must be true or false")
    return value


COLUMNS: dict[str, criteria.Column] = {
    "type": criteria.Column(Configuration.type, criteria.as_text),
    "identifier": criteria.Column(Configuration.identifier, criteria.as_text),
    "name": criteria.Column(Configuration.name, criteria.as_text),
    "description": criteria.Column(Configuration.description, criteria.as_text),
    "prototype": criteria.Column(Configuration.prototype, criteria.as_text),
    "owner": criteria.Column(Configuration.owner, criteria.as_text),
    "disabled": criteria.Column(Configuration.disabled, as_bool),
    "editor": criteria.Column(Configuration.editor, criteria.as_text),
    "createdAt": criteria.Column(Configuration.created_at, criteria.as_time),
    "updatedAt": criteria.Column(Configuration.updated_at, criteria.as_time),
}



# --- secrets ---------------------------------------------------------------------------------

def _is_reference(value: Any) -> bool:
    """A bare ``${NAME}``: not a secret itself, so kept as written and shown."""
    return isinstance(value, str) and bool(_ALONE.match(value))


def _node(tree: Any, path: tuple[str, ...]) -> dict[str, Any] | None:
    """The dict that holds ``path``'s last part, when it holds it."""
    for part in path[:-1]:
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree if path and isinstance(tree, dict) and path[-1] in tree else None


def sealed(prototype: prototypes.Prototype, parameters: dict[str, Any],
           p: Platform) -> dict[str, Any]:
    """``parameters`` to store: each secret sealed, except a bare ``${NAME}`` reference."""
    out = copy.deepcopy(parameters)
    kept = {}
    for path in prototype.spec.secret_paths():
        node = _node(out, path)
        if node is not None and _is_reference(node[path[-1]]):
            kept[path] = node.pop(path[-1])
    out = seal(prototype.spec, out, p.cipher)
    for path, value in kept.items():
        parent: Any = out
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent[path[-1]] = value
    return out


def masked(prototype: prototypes.Prototype, parameters: dict[str, Any]) -> dict[str, Any]:
    """Stored ``parameters`` as shown: each sealed secret is the mask."""
    out = copy.deepcopy(parameters)
    for path in prototype.spec.secret_paths():
        node = _node(out, path)
        if node is not None and node[path[-1]] is not None and not _is_reference(
                node[path[-1]]):
            node[path[-1]] = MASK
    return out


def _merge(prototype: prototypes.Prototype, given: dict[str, Any],
           stored: dict[str, Any] | None, p: Platform) -> dict[str, Any]:
    """``given`` with each mask replaced by the stored secret (or a violation)."""
    plain = unseal(stored, p.cipher) if stored is not None else None
    try:
        return merge_masked(prototype.spec, given, plain)
    except InvalidInput as exc:
        raise InvalidInput("invalid configuration", [
            FieldError(f"object.parameters.{e.path}", e.reason) for e in exc.errors]) from None


def _prototype_of(row: Configuration | ConfigurationRevision) -> prototypes.Prototype:
    return prototypes.get_prototype(row.type, str(row.object.get("prototype")))


def shown_object(row: Configuration | ConfigurationRevision) -> dict[str, Any]:
    try:
        proto = _prototype_of(row)
    except NotFound:
        return {"prototype": row.object.get("prototype"), "parameters": {}}
    return {"prototype": proto.identifier,
            "parameters": masked(proto, dict(row.object.get("parameters") or {}))}


# --- views -------------------------------------------------------------------------------------

def _view(c: Configuration, tags: Iterable[str] = ()) -> ConfigurationView:
    return ConfigurationView(c.type, c.identifier, c.name, c.description or "",
                             shown_object(c), dict(c.context) if c.context else None,
                             c.owner, bool(c.removable), bool(c.resettable), bool(c.disabled),
                             tuple(c.labels or ()), tuple(tags), c.editor, c.revision,
                             c.created_at, c.updated_at)


def _tags(s: Session, caller: Caller, workspace_id: str,
          rows: Sequence[Configuration]) -> dict[tuple[str, str], tuple[str, ...]]:
    if not rows:
        return {}
    favs = s.scalars(select(ConfigurationFavourite).where(
        ConfigurationFavourite.workspace_id == workspace_id,
        ConfigurationFavourite.user_id == caller.user_id,
        ConfigurationFavourite.identifier.in_({r.identifier for r in rows})))
    return {(f.type, f.identifier): ("favourite", *(t for t in f.tags or () if
                                                    t != "favourite")) for f in favs}


def views_of(s: Session, caller: Caller, workspace_id: str,
           rows: Sequence[Configuration]) -> list[ConfigurationView]:
    tags = _tags(s, caller, workspace_id, rows)
    return [_view(r, tags.get((r.type, r.identifier), ())) for r in rows]


def flush_new(s: Session, what: str) -> None:
    """Flush; a row another request made at the same moment is a :class:`Conflict`."""
    try:
        s.flush()
    except IntegrityError:
        raise Conflict(f"{what} was made by another request at the same time; try "
                       "again") from None


def find(s: Session, workspace_id: str, type_: str, identifier: str) -> Configuration:
    c = s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.type == type_,
        Configuration.identifier == identifier)).first()
    if c is None:
        raise NotFound(f"configuration {type_}/{identifier} not found", identifier)
    return c


# --- checks ------------------------------------------------------------------------------------

def _check(given: ConfigurationInput, *, full: bool) -> list[FieldError]:
    errors = []
    if given.identifier is not None and (not IDENTIFIER.match(given.identifier)
                                         or len(given.identifier) > 255):
        errors.append(FieldError("identifier", "must be 1 to 255 characters of a-z, 0-9 and -",
                                 given.identifier))
    if full and given.name is None:
        errors.append(FieldError("name", "is required"))
    if given.name is not None and not 1 <= len(given.name) <= 255:
        errors.append(FieldError("name", "must be 1 to 255 characters"))
    if given.description is not None and len(given.description) > 64000:
        errors.append(FieldError("description", "must be at most 64000 characters"))
    if full and given.object is None:
        errors.append(FieldError("object", "is required"))
    if given.owner is not None and (not IDENTIFIER.match(given.owner) or len(given.owner) > 255):
        errors.append(FieldError("owner", "must be the identifier of a configuration",
                                 given.owner))
    if given.labels is not None:
        errors.extend(_label_errors(given.labels, "labels"))
    return errors


def _label_errors(labels: Sequence[Any], field: str) -> list[FieldError]:
    if len(labels) > MAX_LABELS:
        return [FieldError(field, f"must be at most {MAX_LABELS} labels")]
    return [FieldError(f"{field}.{i}", "must be text of 1 to 255 characters", label)
            for i, label in enumerate(labels)
            if not isinstance(label, str) or not 1 <= len(label) <= 255]


def _refuse(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput("invalid configuration", errors)


def _slug(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:240]
    return base or "configuration"


def _free_identifier(s: Session, workspace_id: str, type_: str, name: str) -> str:
    base = _slug(name)
    taken = set(s.scalars(select(Configuration.identifier).where(
        Configuration.workspace_id == workspace_id, Configuration.type == type_,
        Configuration.identifier.like(f"{base}%"))))
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


# --- history -----------------------------------------------------------------------------------

def _next_ulid(s: Session, c: Configuration) -> str:
    """A new ULID, after every earlier one of the same configuration."""
    last = s.scalar(select(func.max(ConfigurationRevision.ulid)).where(
        ConfigurationRevision.workspace_id == c.workspace_id,
        ConfigurationRevision.type == c.type, ConfigurationRevision.identifier == c.identifier))
    made = ULID()
    if last is not None and str(made) <= last:
        made = ULID.from_int(int(ULID.from_str(last)) + 1)
    return str(made)


def save_revision(s: Session, c: Configuration, caller: Caller) -> None:
    """Record ``c``'s state as its newest revision."""
    c.editor = caller.username
    c.updated_at = now()
    c.revision = _next_ulid(s, c)
    s.add(ConfigurationRevision(
        ulid=c.revision, workspace_id=c.workspace_id, type=c.type, identifier=c.identifier,
        name=c.name, description=c.description or "", object=copy.deepcopy(c.object),
        disabled=bool(c.disabled), labels=list(c.labels or []), editor=c.editor,
        created_at=c.updated_at))


def audit_change(s: Session, caller: Caller, c: Configuration, action: str, verb: str,
           **extra: Any) -> None:
    request = {"type": c.type, "identifier": c.identifier, "name": c.name,
               "object": shown_object(c), **extra}
    audit.record(s, caller, f"configuration.{action}", "configuration",
                 f"configuration {c.type}/{c.identifier} {verb}", request=request,
                 workspace_id=c.workspace_id)


# --- reading -----------------------------------------------------------------------------------

def base_query(workspace_id: str, type_: str | None) -> Select[Any]:
    q = select(Configuration).where(Configuration.workspace_id == workspace_id)
    return q if type_ is None else q.where(Configuration.type == type_)


def has_label(s: Session, label: str) -> ColumnElement[bool]:
    """Whether a configuration's labels (a JSON list) hold ``label``, in the query."""
    if s.get_bind().dialect.name == "postgresql":
        return cast(Configuration.labels, JSONB).contains([label])
    each = func.json_each(Configuration.labels).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == label))


def is_favourite(caller: Caller, workspace_id: str) -> ColumnElement[bool]:
    """Whether the caller made a configuration a favourite, in the query."""
    return exists(select(ConfigurationFavourite.id).where(
        ConfigurationFavourite.workspace_id == workspace_id,
        ConfigurationFavourite.user_id == caller.user_id,
        ConfigurationFavourite.type == Configuration.type,
        ConfigurationFavourite.identifier == Configuration.identifier))


def list_configurations(p: Platform, caller: Caller, workspace_id: str, c: criteria.Criteria,
                        type_: str | None = None, *, label: str | None = None,
                        favourites: bool = False) -> tuple[list[ConfigurationView], int]:
    """A page of the space's configurations (of ``type_``) and how many match; ``label``
    keeps those that carry it, ``favourites`` the caller's favourites (both in the query,
    so the page and the count are right however many there are)."""
    policy.require(caller, policy.READ, workspace_id)
    if type_ is not None:
        prototypes.get_type(type_)
    if not c.order:
        c = criteria.Criteria(c.where, (("type", False), ("identifier", False)), c.limit,
                              c.skip)
    with p.db.session() as s:
        q = base_query(workspace_id, type_)
        if label:
            q = q.where(has_label(s, label))
        if favourites:
            q = q.where(is_favourite(caller, workspace_id))
        rows, total = criteria.apply(s, q, COLUMNS, c, Configuration.id)
        return views_of(s, caller, workspace_id, rows), total


def get(p: Platform, caller: Caller, workspace_id: str, type_: str,
        identifier: str) -> ConfigurationView:
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        c = find(s, workspace_id, type_, identifier)
        return views_of(s, caller, workspace_id, [c])[0]


# --- changes -----------------------------------------------------------------------------------

def checked_object(type_: str, obj: Any, stored: dict[str, Any] | None,
                  p: Platform) -> tuple[prototypes.Prototype, dict[str, Any]]:
    """The object to store: checked, masks merged with the stored secrets, sealed."""
    t = prototypes.check_type(type_)
    if isinstance(obj, dict) and "prototype" not in obj and t.default_prototype:
        obj = {**obj, "prototype": t.default_prototype}
    proto_name = obj.get("prototype") if isinstance(obj, dict) else None
    if isinstance(proto_name, str) and isinstance(obj, dict) and isinstance(
            obj.get("parameters"), dict):
        proto = t.prototype(proto_name)
        same = stored is not None and stored.get("prototype") == proto_name
        obj = {**obj, "parameters": _merge(proto, obj["parameters"],
                                           dict(stored.get("parameters") or {})
                                           if same and stored else None, p)}
    proto, checked = prototypes.validate(type_, obj)
    return proto, {"prototype": proto.identifier,
                   "parameters": sealed(proto, checked["parameters"], p)}


def space_errors(s: Session, workspace_id: str, type_: str,
                 obj: dict[str, Any]) -> list[FieldError]:
    """What a checked object may not be in its space: a scheduler entry's expression or
    time zone taken from an encrypted variable."""
    if type_ != schedule_entries.TYPE:
        return []
    return schedule_entries.encrypted_references(s, workspace_id,
                                                 dict(obj.get("parameters") or {}))


def create(p: Platform, caller: Caller, workspace_id: str,
           given: ConfigurationInput) -> ConfigurationView:
    policy.require(caller, policy.CHANGE, workspace_id)
    _refuse(_check(given, full=True))
    proto, obj = checked_object(given.type, given.object, None, p)
    with p.db.claim() as s:
        _refuse(space_errors(s, workspace_id, given.type, obj))
        identifier = given.identifier or _free_identifier(s, workspace_id, given.type,
                                                          given.name or "")
        if s.scalars(select(Configuration.id).where(
                Configuration.workspace_id == workspace_id, Configuration.type == given.type,
                Configuration.identifier == identifier)).first():
            raise Conflict(f"configuration {given.type}/{identifier} exists already")
        c = Configuration(
            workspace_id=workspace_id, type=given.type, identifier=identifier,
            name=given.name or identifier, description=given.description or "",
            prototype=proto.identifier, object=obj, context=given.context,
            owner=given.owner, removable=bool(given.removable),
            resettable=bool(given.resettable), disabled=bool(given.disabled),
            labels=list(given.labels or []), created_at=now())
        save_revision(s, c, caller)
        s.add(c)
        flush_new(s, f"configuration {given.type}/{identifier}")
        audit_change(s, caller, c, "create", "created")
        return views_of(s, caller, workspace_id, [c])[0]


def _apply(c: Configuration, given: ConfigurationInput, obj: dict[str, Any] | None,
           proto: prototypes.Prototype | None, *, full: bool) -> None:
    if obj is not None and proto is not None:
        c.object, c.prototype = obj, proto.identifier
    if given.name is not None:
        c.name = given.name
    if full or given.description is not None:
        c.description = given.description or ""
    if full or given.context is not None:
        c.context = given.context
    if full or given.owner is not None:
        c.owner = given.owner
    for attr in ("removable", "resettable", "disabled"):
        value = getattr(given, attr)
        if full or value is not None:
            setattr(c, attr, bool(value))
    if given.labels is not None:
        c.labels = list(given.labels)


def update(p: Platform, caller: Caller, workspace_id: str, given: ConfigurationInput, *,
           full: bool) -> ConfigurationView:
    """PUT (``full``: every field as given, defaults for those left out) or PATCH (only the
    fields given); ``type`` and ``identifier`` name the configuration."""
    policy.require(caller, policy.CHANGE, workspace_id)
    errors = _check(given, full=full)
    if given.identifier is None:
        errors.insert(0, FieldError("identifier", "is required"))
    _refuse(errors)
    prototypes.check_type(given.type)
    with p.db.claim() as s:
        c = find(s, workspace_id, given.type, str(given.identifier))
        proto, obj = (None, None)
        if given.object is not None:
            proto, obj = checked_object(given.type, given.object, dict(c.object), p)
            _refuse(space_errors(s, workspace_id, given.type, obj))
        _apply(c, given, obj, proto, full=full)
        save_revision(s, c, caller)
        s.flush()
        audit_change(s, caller, c, "update", "replaced" if full else "updated")
        return views_of(s, caller, workspace_id, [c])[0]


def set_status(p: Platform, caller: Caller, workspace_id: str, type_: str, identifier: str,
               disabled: bool) -> ConfigurationView:
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.claim() as s:
        c = find(s, workspace_id, type_, identifier)
        c.disabled = disabled
        save_revision(s, c, caller)
        s.flush()
        audit_change(s, caller, c, "disable" if disabled else "enable",
               "disabled" if disabled else "enabled")
        return views_of(s, caller, workspace_id, [c])[0]


def set_labels(p: Platform, caller: Caller, workspace_id: str, type_: str, identifier: str,
               labels: Sequence[str]) -> list[str]:
    policy.require(caller, policy.CHANGE, workspace_id)
    _refuse(_label_errors(labels, "labels"))
    with p.db.claim() as s:
        c = find(s, workspace_id, type_, identifier)
        c.labels = list(dict.fromkeys(labels))
        save_revision(s, c, caller)
        s.flush()
        audit_change(s, caller, c, "labels", "labelled", labels=c.labels)
        return list(c.labels)


def dependants(s: Session, workspace_id: str, targets: Iterable[tuple[str, str]],
               ) -> list[Dependant]:
    """The configurations of the space that name any of ``targets`` (type, identifier)."""
    wanted = set(targets)
    out = []
    for c in s.scalars(select(Configuration).where(Configuration.workspace_id == workspace_id)
                       .order_by(Configuration.type, Configuration.identifier)):
        try:
            proto = _prototype_of(c)
        except NotFound:
            continue
        for ref in prototypes.references(proto, c.object.get("parameters")):
            if (ref.type, ref.identifier) in wanted and (c.type, c.identifier) not in wanted:
                out.append(Dependant(c.type, c.identifier, c.name, ref.path))
    return out


def _refuse_used(s: Session, workspace_id: str, targets: Sequence[tuple[str, str]]) -> None:
    used = dependants(s, workspace_id, targets)
    if used:
        names = ", ".join(sorted({f"{d.type}/{d.identifier} ({d.path})" for d in used}))
        raise Conflict(f"configuration {'s' if len(targets) > 1 else ''}"
                       f"{', '.join(f'{t}/{i}' for t, i in targets[:5])} "
                       f"{'are' if len(targets) > 1 else 'is'} used by {names}; change or "
                       "delete those first")


def _owned(s: Session, workspace_id: str, owners: Iterable[str]) -> list[Configuration]:
    """The relations (such as tests) the configurations ``owners`` own: deleted with them."""
    return list(s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.owner.in_(set(owners)))))


def _drop_entities(s: Session, workspace_id: str, rows: Iterable[Configuration]) -> None:
    """The entities of the storages among ``rows`` go with them."""
    storages = [r.identifier for r in rows if r.type == "storage"]
    if storages:
        s.execute(sql_delete(StorageEntity).where(
            StorageEntity.workspace_id == workspace_id, StorageEntity.storage.in_(storages)
        ).execution_options(synchronize_session=False))


def delete(p: Platform, caller: Caller, workspace_id: str, type_: str, identifier: str) -> None:
    """Delete a configuration with the relations it owns; 409 while another names it."""
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.claim() as s:
        c = find(s, workspace_id, type_, identifier)
        _refuse_used(s, workspace_id, [(type_, identifier)])
        owned = [r for r in _owned(s, workspace_id, [identifier]) if r is not c]
        audit_change(s, caller, c, "delete", "deleted",
               owned=[f"{r.type}/{r.identifier}" for r in owned])
        _drop_entities(s, workspace_id, (*owned, c))
        for r in (*owned, c):
            s.delete(r)


def delete_matching(p: Platform, caller: Caller, workspace_id: str, type_: str,
                    c: criteria.Criteria) -> int:
    """Delete every configuration of ``type_`` the filter matches (all its pages: ``limit``
    and ``skip`` are not applied); none when any of them is in use by another."""
    policy.require(caller, policy.CHANGE, workspace_id)
    prototypes.get_type(type_)
    with p.db.claim() as s:
        q = base_query(workspace_id, type_).where(criteria.where_clause(c, COLUMNS))
        rows = list(s.scalars(q.order_by(Configuration.identifier)))
        if not rows:
            return 0
        _refuse_used(s, workspace_id, [(r.type, r.identifier) for r in rows])
        audit.record(s, caller, "configuration.delete", "configuration",
                     f"{len(rows)} configurations of type {type_} deleted by filter",
                     request={"type": type_, "identifiers": [r.identifier for r in rows]},
                     workspace_id=workspace_id)
        owned = [r for r in _owned(s, workspace_id, [r.identifier for r in rows])
                 if r not in rows]
        _drop_entities(s, workspace_id, (*owned, *rows))
        for r in (*owned, *rows):
            s.delete(r)
        return len(rows)


def toggle_favourite(p: Platform, caller: Caller, workspace_id: str, type_: str,
                     identifier: str) -> FavouriteView:
    """Make the configuration a favourite of the caller, or no longer one."""
    policy.require(caller, policy.READ, workspace_id)
    with p.db.claim() as s:
        find(s, workspace_id, type_, identifier)
        ws = s.get(Workspace, workspace_id)
        space = ws.slug if ws is not None else workspace_id
        f = s.scalars(select(ConfigurationFavourite).where(
            ConfigurationFavourite.workspace_id == workspace_id,
            ConfigurationFavourite.user_id == caller.user_id,
            ConfigurationFavourite.type == type_,
            ConfigurationFavourite.identifier == identifier)).first()
        if f is None:
            f = ConfigurationFavourite(workspace_id=workspace_id, user_id=caller.user_id,
                                       type=type_, identifier=identifier, tags=["favourite"],
                                       created_at=now(), updated_at=now())
            s.add(f)
            flush_new(s, f"the favourite {type_}/{identifier}")
            on = True
        else:
            s.delete(f)
            on = False
        audit.record(s, caller, "configuration.favourite", "configuration",
                     f"configuration {type_}/{identifier} "
                     f"{'made a favourite' if on else 'no longer a favourite'}",
                     request={"type": type_, "identifier": identifier},
                     workspace_id=workspace_id)
        return FavouriteView(f.id, type_, identifier, space, caller.username,
                             tuple(f.tags or ()) if on else (), f.created_at, now(), on)

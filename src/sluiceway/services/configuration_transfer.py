"""Export and import of a space's configurations as ``register.configuration`` items (one JSON
object per NDJSON line).

An import checks every item first (its shape, its prototype's schema, with
``validate_variables`` every ``${NAME}`` against the space's variables) and decides per item:
``create``, ``update``, ``unchanged`` or ``invalid``. It is all or nothing: one invalid item
and nothing is written (:class:`ImportRefused` carries the report); a dry run writes nothing
either and reports what it would do. Written items become revisions like any save, and the
import leaves one audit entry. Exports show secrets as the mask (as every view does): an
import of the mask keeps the secret stored under that type and identifier, and is refused
where none is stored; a ``${NAME}`` reference travels as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.secrets import unseal
from sluiceway.secrets import variables as refs
from sluiceway.services import audit, configurations, policy, prototypes
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Configuration, EnvironmentVariable

SCHEMA_URL = "https://di.schema.alumio.com/register.configuration.json"
IMPORT_IDENTIFIER = re.compile(r"^[a-z0-9]+[a-z0-9\-]*[a-z0-9]+$")
_KNOWN = {"$schema", "type", "identifier", "name", "description", "object", "owner",
          "disabled", "label", "context"}
MAX_ITEMS = 10_000


@dataclass(frozen=True)
class Violation:
    path: str
    title: str
    template: str
    parameters: dict[str, Any] = field(default_factory=dict)
    type: str = "invalid"
    help: str = ""


@dataclass(frozen=True)
class Relationship:
    relation: str
    type: str
    identifier: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class ItemResult:
    type: str
    identifier: str
    decision: str  # create | update | unchanged | invalid
    action: str  # created | updated | skipped | none
    relationships: tuple[Relationship, ...]
    violations: tuple[Violation, ...]


@dataclass(frozen=True)
class ImportResult:
    valid: bool
    title: str
    detail: str
    results: tuple[ItemResult, ...]


class ImportRefused(InvalidInput):
    """An import with an invalid item: nothing was written; ``result`` says why."""

    def __init__(self, result: ImportResult) -> None:
        errors = [FieldError(f"results.{i}.{v.path}" if v.path else f"results.{i}", v.title)
                  for i, r in enumerate(result.results) for v in r.violations]
        super().__init__(result.detail, errors[:100])
        self.result = result


@dataclass(frozen=True)
class NotJson:
    """A line of an NDJSON body that is not JSON."""

    line: int
    reason: str


def parse_ndjson(data: bytes) -> list[Any]:
    """The items of an NDJSON body (blank lines skipped); a line that is no JSON becomes a
    :class:`NotJson` item, reported invalid by the import."""
    items: list[Any] = []
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except ValueError as exc:
            items.append(NotJson(n, str(exc)))
    return items


def _v(path: str, title: str, help: str = "") -> Violation:  # noqa: A002
    return Violation(path, title, title, {}, "invalid", help)


def _shape(raw: Any) -> list[Violation]:
    if isinstance(raw, NotJson):
        return [_v("", f"line {raw.line} is not JSON: {raw.reason}",
                   "each line of an NDJSON import is one JSON object")]
    if not isinstance(raw, dict):
        return [_v("", "must be a JSON object (a register.configuration)")]
    out = [_v(k, "is not a field of a register.configuration") for k in sorted(set(raw) - _KNOWN)]
    for key in ("type", "identifier", "name", "object"):
        if key not in raw:
            out.append(_v(key, "is required"))
    identifier = raw.get("identifier")
    if identifier is not None and (not isinstance(identifier, str)
                                   or not IMPORT_IDENTIFIER.match(identifier)
                                   or len(identifier) > 255):
        out.append(_v("identifier", "must be 2 to 255 characters of a-z, 0-9 and -, starting "
                                    "and ending with a letter or digit"))
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 255):
        out.append(_v("name", "must be text of 1 to 255 characters"))
    description = raw.get("description")
    if description is not None and (not isinstance(description, str)
                                    or len(description) > 64000):
        out.append(_v("description", "must be text of at most 64000 characters"))
    if "disabled" in raw and not isinstance(raw["disabled"], bool):
        out.append(_v("disabled", "must be true or false"))
    owner = raw.get("owner")
    if owner is not None and (not isinstance(owner, str)
                              or not configurations.IDENTIFIER.match(owner)):
        out.append(_v("owner", "must be null or the identifier of a configuration"))
    if "label" in raw and (not isinstance(raw["label"], list) or any(
            not isinstance(x, str) or not 1 <= len(x) <= 255 for x in raw["label"])):
        out.append(_v("label", "must be a list of labels (text of 1 to 255 characters)"))
    if not isinstance(raw.get("type", ""), str):
        out.append(_v("type", "must be a type identifier"))
    return out


def _variables(s: Session, workspace_id: str) -> set[str]:
    return set(s.scalars(select(EnvironmentVariable.name).where(
        EnvironmentVariable.workspace_id == workspace_id)))


def _same(row: Configuration, raw: dict[str, Any], obj: dict[str, Any], p: Platform) -> bool:
    return (row.name == raw["name"] and (row.description or "") == raw.get("description", "")
            and bool(row.disabled) == bool(raw.get("disabled", False))
            and row.owner == raw.get("owner")
            and (raw.get("label") is None or list(row.labels or []) == raw["label"])
            and unseal(dict(row.object), p.cipher) == unseal(obj, p.cipher))


@dataclass
class _Planned:
    result: ItemResult
    raw: dict[str, Any] | None = None
    obj: dict[str, Any] | None = None
    prototype: str | None = None


def _plan(s: Session, p: Platform, workspace_id: str, raw: Any, seen: set[tuple[str, str]],
          known_variables: set[str] | None) -> _Planned:
    violations = _shape(raw)
    type_ = raw.get("type", "") if isinstance(raw, dict) else ""
    identifier = raw.get("identifier", "") if isinstance(raw, dict) else ""
    type_, identifier = str(type_), str(identifier)
    if not violations and (type_, identifier) in seen:
        violations.append(_v("identifier", f"{type_}/{identifier} is in this import twice"))
    seen.add((type_, identifier))
    row = None
    obj: dict[str, Any] | None = None
    proto: prototypes.Prototype | None = None
    relationships: tuple[Relationship, ...] = ()
    if not violations:
        row = s.scalars(select(Configuration).where(
            Configuration.workspace_id == workspace_id, Configuration.type == type_,
            Configuration.identifier == identifier)).first()
        try:
            proto, obj = configurations.checked_object(
                type_, raw["object"], dict(row.object) if row is not None else None, p)
            violations.extend(_v(e.path, e.reason) for e in configurations.space_errors(
                s, workspace_id, type_, obj))
        except InvalidInput as exc:
            violations.extend(_v(e.path, e.reason) for e in exc.errors)
    if proto is not None and obj is not None:
        by_node: dict[tuple[str, str], list[str]] = {}
        for ref in prototypes.references(proto, obj["parameters"]):
            by_node.setdefault((ref.type, ref.identifier), []).append(ref.path)
        relationships = tuple(Relationship("uses", t, i, tuple(paths))
                              for (t, i), paths in by_node.items())
        if known_variables is not None:
            for path, names in refs.references(obj["parameters"]).items():
                violations.extend(_v(f"object.parameters.{path}",
                                     f"environment variable {name!r} does not exist in "
                                     "this space", "create it first, or import without "
                                     "validate-variables")
                                  for name in names if name not in known_variables)
    if violations or not isinstance(raw, dict) or obj is None or proto is None:
        return _Planned(ItemResult(type_, identifier, "invalid", "none", relationships,
                                   tuple(violations)))
    if row is None:
        decision = "create"
    elif _same(row, raw, obj, p):
        decision = "unchanged"
    else:
        decision = "update"
    return _Planned(ItemResult(type_, identifier, decision, "none", relationships, ()), raw,
                    obj, proto.identifier)


def _write(s: Session, caller: Caller, workspace_id: str, plan: _Planned) -> ItemResult:
    r, raw, obj = plan.result, plan.raw, plan.obj
    if r.decision == "unchanged" or raw is None or obj is None or plan.prototype is None:
        return ItemResult(r.type, r.identifier, r.decision, "skipped", r.relationships, ())
    c = s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.type == r.type,
        Configuration.identifier == r.identifier)).first()
    fresh = c is None
    if c is None:
        c = Configuration(workspace_id=workspace_id, type=r.type, identifier=r.identifier,
                          created_at=now(), removable=False, resettable=False)
    c.name, c.description = raw["name"], raw.get("description") or ""
    c.object, c.prototype = obj, plan.prototype
    c.owner, c.disabled = raw.get("owner"), bool(raw.get("disabled", False))
    c.context = raw.get("context") if isinstance(raw.get("context"), dict) else c.context
    if raw.get("label") is not None or fresh:
        c.labels = list(raw.get("label") or [])
    configurations.save_revision(s, c, caller)
    if fresh:
        s.add(c)
    configurations.flush_new(s, f"configuration {r.type}/{r.identifier}")
    return ItemResult(r.type, r.identifier, r.decision, "created" if fresh else "updated",
                      r.relationships, ())


def import_configurations(p: Platform, caller: Caller, workspace_id: str, items: Sequence[Any],
                          *, dry_run: bool = False,
                          validate_variables: bool = False) -> ImportResult:
    """Import ``items`` in one transaction; :class:`ImportRefused` (nothing written) when
    any is invalid, unless ``dry_run`` (then the report says so and nothing is written)."""
    policy.require(caller, policy.CHANGE, workspace_id)
    if not items:
        raise InvalidInput("nothing to import", [FieldError("body", "holds no configuration")])
    if len(items) > MAX_ITEMS:
        raise InvalidInput("too many configurations", [FieldError(
            "body", f"must hold at most {MAX_ITEMS} configurations")])
    with p.db.claim() as s:
        known = _variables(s, workspace_id) if validate_variables else None
        seen: set[tuple[str, str]] = set()
        plans = [_plan(s, p, workspace_id, raw, seen, known) for raw in items]
        bad = [x.result for x in plans if x.result.decision == "invalid"]
        counts = {d: sum(1 for x in plans if x.result.decision == d)
                  for d in ("create", "update", "unchanged")}
        summary = (f"{counts['create']} to create, {counts['update']} to update, "
                   f"{counts['unchanged']} unchanged")
        if bad:
            result = ImportResult(False, "Invalid import", f"{len(bad)} of {len(plans)} "
                                  "configurations are invalid; nothing was imported",
                                  tuple(x.result for x in plans))
            if dry_run:
                return result
            raise ImportRefused(result)
        if dry_run:
            return ImportResult(True, "Dry run", f"nothing imported: {summary}",
                                tuple(x.result for x in plans))
        results = tuple(_write(s, caller, workspace_id, x) for x in plans)
        written = [r for r in results if r.action in ("created", "updated")]
        audit.record(s, caller, "configuration.import", "configuration",
                     f"{len(written)} configurations imported ({summary})",
                     request={"items": [{"type": r.type, "identifier": r.identifier,
                                         "action": r.action} for r in results][:1000]},
                     workspace_id=workspace_id)
        return ImportResult(True, "Imported", summary.replace("to create", "created")
                            .replace("to update", "updated"), results)


def export_configurations(p: Platform, caller: Caller, workspace_id: str,
                          objects: Sequence[tuple[str, str]] | None = None,
                          type_: str | None = None) -> list[dict[str, Any]]:
    """``register.configuration`` items: the ``objects`` named (type, identifier), or every
    configuration of ``type_``, or of the space; secrets masked."""
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.session() as s:
        q = select(Configuration).where(Configuration.workspace_id == workspace_id)
        if type_ is not None:
            prototypes.get_type(type_)
            q = q.where(Configuration.type == type_)
        rows = list(s.scalars(q.order_by(Configuration.type, Configuration.identifier)))
        if objects is not None:
            by_key = {(r.type, r.identifier): r for r in rows}
            missing = [f"{t}/{i}" for t, i in objects if (t, i) not in by_key]
            if missing:
                raise NotFound(f"configuration {missing[0]} not found", missing[0])
            rows = [by_key[key] for key in dict.fromkeys(objects)]
        return [{"$schema": SCHEMA_URL, "type": r.type, "identifier": r.identifier,
                 "name": r.name, "description": r.description or "",
                 "object": configurations.shown_object(r), "owner": r.owner,
                 "disabled": bool(r.disabled), "label": list(r.labels or [])} for r in rows]

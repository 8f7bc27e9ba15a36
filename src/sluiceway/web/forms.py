"""Forms generated from a connector's JSON Schema spec, and the config read back from them.

Each property becomes one input named ``cfg.<path>``: text, a number, a checkbox, a choice
(``enum``), a list (one item a line), a choice among the space's configurations (a string
marked ``x-reference``), an ordered list of such choices (an array of them) or, for what a
form cannot show field by field, JSON. Titles, descriptions, defaults and required fields
come from the schema; a nested object's fields are labelled with their path ("Change
detection › Storage").
With ``structured`` (the configuration forms), two more shapes are shown field by field: a
``oneOf`` of objects is a choice of the alternative (by its title, else its ``const``
values) and the inputs of each alternative (named ``cfg.<path>.<n>.<key>``: only the chosen
one is read, its ``const`` values put in by the form); a map of text or numbers
(``additionalProperties``) is rows of a key and a value (``cfg.<path>[key]`` and
``cfg.<path>[value]``). Anything else stays JSON.
A secret (``airbyte_secret``) is never put into the page: its input is empty, and left empty
on an edit it keeps the stored secret (the mask goes back to the service, which keeps it
only while the fields that decide where it goes stay as stored).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft7Validator

from sluiceway.core.errors import FieldError
from sluiceway.protocol.spec import MASK
from sluiceway.web.deps import Form

PREFIX = "cfg."
#: the config paths in services' errors start with this
ERROR_PREFIX = "config."


@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]
    title: str
    kind: str  # text | password | integer | number | boolean | enum | list | json
    required: bool
    description: str
    options: tuple[str, ...]
    value: str  # as the input shows it
    checked: bool
    secret_stored: bool  # an edit of a stored secret: empty keeps it
    #: the configuration type a ``reference`` or ``references`` input names
    reference: str | None = None
    #: the chosen identifiers of a ``references`` input, in order
    items: tuple[str, ...] = ()
    #: the input's own path when it is not the config path (an alternative's inputs)
    key: tuple[str, ...] = ()
    #: a ``map``'s rows: each key and its value as shown
    pairs: tuple[tuple[str, str], ...] = ()
    #: a ``choice``'s alternatives: each title and its inputs
    alternatives: tuple[tuple[str, tuple[Field, ...]], ...] = ()

    @property
    def name(self) -> str:
        return PREFIX + ".".join(self.key or self.path)

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    @property
    def id(self) -> str:
        return "f-" + "-".join(self.key or self.path).replace("_", "-")

    @property
    def chosen(self) -> int:
        """The alternative a ``choice`` shows as chosen (-1: none)."""
        return int(self.value) if self.value.isdigit() else -1


def flat(fields: list[Field] | tuple[Field, ...]) -> list[Field]:
    """``fields`` with the inputs of each alternative after its choice."""
    out: list[Field] = []
    for f in fields:
        out.append(f)
        for _, inner in f.alternatives:
            out.extend(flat(inner))
    return out


def label(key: str, prop: dict[str, Any]) -> str:
    """A property's title: the schema's, else its key in words (``changeDetection`` reads
    "Change detection")."""
    if prop.get("title"):
        return str(prop["title"])
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ")
    return words[:1].upper() + words[1:].lower()


#: the scalar types a map's values may have to be shown as rows
_MAP_VALUES = ("string", "integer", "number")


def _map_values(node: dict[str, Any]) -> str | None:
    """The type of a map's values, when the map is shown as rows of a key and a value."""
    extra = node.get("additionalProperties")
    if (node.get("type") != "object" or node.get("properties") or not isinstance(extra, dict)
            or node.get("airbyte_secret") or extra.get("airbyte_secret")
            or any(k in extra for k in ("enum", "const", "oneOf", "anyOf"))):
        return None
    t = extra.get("type")
    return str(t) if t in _MAP_VALUES else None


def _alternatives(node: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A ``oneOf`` whose every form is an object with properties."""
    forms = node.get("oneOf")
    if (not isinstance(forms, list) or not forms or node.get("airbyte_secret")
            or node.get("type") not in (None, "object")):
        return None
    if all(isinstance(f, dict) and f.get("type") == "object"
           and isinstance(f.get("properties"), dict) for f in forms):
        return forms
    return None


def _consts(form: dict[str, Any]) -> dict[str, Any]:
    return {k: v["const"] for k, v in form.get("properties", {}).items()
            if isinstance(v, dict) and "const" in v}


def _form_title(form: dict[str, Any], n: int) -> str:
    if form.get("title"):
        return str(form["title"])
    consts = _consts(form)
    return ", ".join(str(v) for v in consts.values()) if consts else f"Form {n + 1}"


def _which(forms: list[dict[str, Any]], value: Any) -> int:
    """The alternative ``value`` is in (by its ``const`` values, else its keys), or -1."""
    if not isinstance(value, dict):
        return -1
    for n, f in enumerate(forms):
        consts = _consts(f)
        if consts and all(value.get(k) == v for k, v in consts.items()):
            return n
    for n, f in enumerate(forms):
        if not _consts(f) and set(f.get("required", [])) <= set(value) <= set(
                f.get("properties", {})):
            return n
    return -1


def _reference(node: dict[str, Any]) -> str | None:
    """The configuration type a string (or an array of strings) of the schema names."""
    if node.get("type") == "string" and isinstance(node.get("x-reference"), str):
        return str(node["x-reference"])
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict):
        ref = items.get("x-reference")
        return str(ref) if isinstance(ref, str) else None
    return None


def _kind(node: dict[str, Any]) -> str:
    if node.get("airbyte_secret"):
        return "password"
    if _reference(node) is not None:
        return "reference" if node.get("type") == "string" else "references"
    if "enum" in node:
        return "enum"
    t = node.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t == "boolean":
        return "boolean"
    if t in ("integer", "number"):
        return str(t)
    if t == "array" and node.get("items", {}).get("type", "string") in (
            "string", "integer", "number"):
        return "list"
    if t == "string" and not any(k in node for k in ("oneOf", "anyOf")):
        return "text"
    return "json"


def _shown(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "list" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if kind == "json":
        return json.dumps(value, indent=1)
    return str(value)


def _ordered(props: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(props.items(), key=lambda kv: (kv[1].get("order", 1000), kv[0]))


def fields(schema: dict[str, Any], config: dict[str, Any] | None, *,
           editing: bool, structured: bool = False,
           typed: dict[str, str] | None = None) -> list[Field]:
    """The inputs of ``schema`` with ``config``'s values (the defaults for a new one);
    ``typed``: the text of inputs that could not be read, by config path, shown as typed."""
    typed = typed or {}

    def walk(node: dict[str, Any], values: dict[str, Any] | None, path: tuple[str, ...],
             key: tuple[str, ...], titles: tuple[str, ...], *,
             alternative: bool = False, mine: bool = True) -> list[Field]:
        out: list[Field] = []
        required = set(node.get("required", []))
        for name, prop in _ordered(node.get("properties", {})):
            here, there = (*path, name), (*key, name)
            if alternative and "const" in prop:
                continue  # the choice of the alternative sets it
            value = values.get(name) if values is not None else prop.get("default")
            title = label(name, prop)
            if prop.get("type") == "object" and prop.get("properties") and not prop.get(
                    "airbyte_secret"):
                out += walk(prop, value if isinstance(value, dict) else (
                    None if values is None else {}), here, there, (*titles, title),
                    mine=mine)
                continue
            shown_title = " › ".join((*titles, title))
            forms = _alternatives(prop) if structured else None
            if forms is not None:
                chosen = _which(forms, value)
                alts = tuple(
                    (_form_title(f, n), tuple(walk(
                        f, value if n == chosen else (None if values is None else {}),
                        here, (*there, str(n)), (*titles, title, _form_title(f, n)),
                        alternative=True, mine=mine and n == chosen)))
                    for n, f in enumerate(forms))
                out.append(Field(here, shown_title, "choice", name in required,
                                 str(prop.get("description", "")),
                                 tuple(t for t, _ in alts),
                                 str(chosen) if chosen >= 0 else "", False, False,
                                 key=there if there != here else (), alternatives=alts))
                continue
            kind = "map" if structured and _map_values(prop) else _kind(prop)
            stored = kind == "password" and editing and value not in (None, "")
            items = tuple(str(v) for v in value) if kind == "references" and isinstance(
                value, list) else ()
            pairs = tuple((str(k), "" if v is None else str(v)) for k, v in value.items()
                          ) if kind == "map" and isinstance(value, dict) else ()
            dotted = ".".join(here)
            text = typed[dotted] if mine and dotted in typed and kind not in (
                "password", "references", "map") else None
            out.append(Field(
                here, shown_title, kind, name in required, str(prop.get("description", "")),
                tuple(str(o) for o in prop.get("enum", [])),
                text if text is not None else
                "" if kind in ("password", "references", "map") else _shown(kind, value),
                value is True, stored, _reference(prop), items,
                key=there if there != here else (), pairs=pairs))
        return out

    return walk(schema, config, (), (), ())


def _put(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = config
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _number(text: str, kind: str) -> int | float:
    return int(text) if kind == "integer" else float(text)


def _item(text: str, node: dict[str, Any]) -> Any:
    t = node.get("items", {}).get("type", "string")
    return _number(text, t) if t in ("integer", "number") else text


def _blank(form: Form, node: dict[str, Any], key: tuple[str, ...]) -> bool:
    """Whether every text input under the object ``node`` is empty (no box is ticked)."""
    for name, prop in node.get("properties", {}).items():
        there = (*key, name)
        if prop.get("type") == "object" and prop.get("properties"):
            if not _blank(form, prop, there):
                return False
            continue
        base = PREFIX + ".".join(there)
        if any(v.strip() for n in (base, base + "[key]", base + "[value]")
               for v in form.getlist(n)):
            return False
    return True


def _stored_at(stored: dict[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = stored
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return node not in (None, "")


def parse(schema: dict[str, Any], form: Form, *, editing: bool,
          omit_blank_objects: bool = False, structured: bool = False,
          stored: dict[str, Any] | None = None,
          ) -> tuple[dict[str, Any], list[FieldError]]:
    """The config the form describes, and the inputs that could not be read (named by their
    config path, with the text as typed). An empty optional input is left out (its default
    applies); with ``omit_blank_objects``, so is an optional object whose inputs are all
    empty. ``structured`` reads what :func:`fields` shows with it. A secret left empty on an
    edit keeps the stored one (it is sent as the mask); given the ``stored`` config
    (masked), only where a secret is stored: where none is, it stays empty as on a new
    form."""
    config: dict[str, Any] = {}
    errors: list[FieldError] = []

    def walk(node: dict[str, Any], path: tuple[str, ...], key: tuple[str, ...], *,
             alternative: bool = False) -> None:
        required = set(node.get("required", []))
        for name, prop in _ordered(node.get("properties", {})):
            here, there = (*path, name), (*key, name)
            if alternative and "const" in prop:
                _put(config, here, prop["const"])
                continue
            if prop.get("type") == "object" and prop.get("properties") and not prop.get(
                    "airbyte_secret"):
                if omit_blank_objects and name not in required and _blank(form, prop, there):
                    continue
                walk(prop, here, there)
                continue
            field_name = PREFIX + ".".join(there)
            forms = _alternatives(prop) if structured else None
            if forms is not None:
                choice = form.get(field_name).strip()
                if not choice:
                    if name in required:
                        errors.append(FieldError(".".join(here), "choose one of: " + ", ".join(
                            _form_title(f, n) for n, f in enumerate(forms)), choice))
                    continue
                if not choice.isdigit() or int(choice) >= len(forms):
                    errors.append(FieldError(".".join(here), "is not one of the choices",
                                             choice))
                    continue
                _put(config, here, {})
                walk(forms[int(choice)], here, (*there, choice), alternative=True)
                continue
            if structured and _map_values(prop):
                _map(prop, here, field_name, name in required)
                continue
            kind = _kind(prop)
            if kind == "references":
                chosen = [v.strip() for v in form.getlist(field_name) if v.strip()]
                if chosen or name in required or "default" in prop:
                    _put(config, here, chosen)
                continue
            text = form.get(field_name).strip() if kind != "password" else form.get(
                field_name)
            if kind == "boolean":
                _put(config, here, form.has(field_name))
                continue
            if kind == "password":
                if text:
                    _put(config, here, text)
                elif editing and (stored is None or _stored_at(stored, here)):
                    _put(config, here, MASK)
                elif name in required:
                    _put(config, here, "")
                continue
            if not text:
                if name in required:
                    _put(config, here, "")
                continue
            try:
                if kind in ("integer", "number"):
                    _put(config, here, _number(text, kind))
                elif kind == "list":
                    _put(config, here, [_item(line.strip(), prop) for line in
                                        text.replace(",", "\n").splitlines() if line.strip()])
                elif kind == "json":
                    _put(config, here, json.loads(text))
                else:
                    _put(config, here, text)
            except ValueError:
                what = {"integer": "a whole number", "number": "a number",
                        "list": "a list of numbers", "json": "valid JSON"}.get(kind, kind)
                errors.append(FieldError(".".join(here), f"must be {what}", text))

    def _map(prop: dict[str, Any], here: tuple[str, ...], field_name: str,
             required: bool) -> None:
        """A map's rows: a row without a key, a key given twice or a value that is not the
        map's type is an error (the rows are kept as typed, to be shown again)."""
        kind = _map_values(prop) or "string"
        keys, values = form.getlist(field_name + "[key]"), form.getlist(field_name + "[value]")
        out: dict[str, Any] = {}
        typed: dict[str, str] = {}
        problems: list[str] = []
        for n in range(max(len(keys), len(values))):
            k = keys[n].strip() if n < len(keys) else ""
            v = values[n].strip() if n < len(values) else ""
            if not k and not v:
                continue
            if not k:
                problems.append(f"row {n + 1}: the value {v!r} has no key")
                continue
            if k in typed:
                problems.append(f"the key {k!r} is given twice")
                continue
            typed[k] = v
            try:
                out[k] = _number(v, kind) if kind in ("integer", "number") else v
            except ValueError:
                what = "a whole number" if kind == "integer" else "a number"
                problems.append(f"the value of {k!r} must be {what}")
        if problems:
            errors.append(FieldError(".".join(here), "; ".join(problems)))
            _put(config, here, typed)
        elif out or required:
            _put(config, here, out)

    walk(schema, (), ())
    return config, errors


def alternative_errors(schema: dict[str, Any], config: dict[str, Any],
                       errors: dict[str, str]) -> dict[str, str]:
    """``errors`` (by config path) with a ``oneOf``'s "matches none of its forms" replaced by
    what breaks the alternative chosen, each at its own input (``auth.username``: "is
    required")."""
    out = dict(errors)

    def walk(node: dict[str, Any], values: Any, path: tuple[str, ...]) -> None:
        if not isinstance(values, dict):
            return
        for name, prop in node.get("properties", {}).items():
            here = (*path, name)
            if prop.get("type") == "object" and prop.get("properties"):
                walk(prop, values.get(name), here)
                continue
            forms = _alternatives(prop)
            dotted = ".".join(here)
            if forms is None or dotted not in out:
                continue
            chosen = _which(forms, values.get(name))
            if chosen < 0:
                continue
            found = {}
            for err in Draft7Validator(forms[chosen]).iter_errors(values.get(name)):
                at = [*here, *(str(x) for x in err.absolute_path)]
                reason = err.message
                if err.validator == "required" and "'" in err.message:
                    at.append(err.message.split("'")[1])
                    reason = "is required"
                elif reason.startswith(repr(err.instance)):
                    reason = reason[len(repr(err.instance)):].strip()
                found[".".join(at)] = reason
            if found:
                del out[dotted]
                out.update(found)

    walk(schema, config, ())
    return out


def error_map(errors: list[FieldError], prefix: str = ERROR_PREFIX) -> dict[str, str]:
    """Errors by the config path of the input they belong to ('' for the form itself); an
    error inside a list input (``transformers.1``) belongs to the list."""
    out: dict[str, str] = {}
    for e in errors:
        path = e.path
        if path.startswith(prefix):
            path = path[len(prefix):]
            head, _, tail = path.rpartition(".")
            if tail.isdigit():
                path = head
        elif path == prefix.rstrip("."):
            path = ""
        out[path] = f"{out[path]}; {e.reason}" if path in out else e.reason
    return out

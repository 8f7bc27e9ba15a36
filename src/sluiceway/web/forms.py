"""Forms generated from a connector's JSON Schema spec, and the config read back from them.

Each property becomes one input named ``cfg.<path>``: text, a number, a checkbox, a choice
(``enum``), a list (one item a line), a choice among the space's configurations (a string
marked ``x-reference``), an ordered list of such choices (an array of them) or, for what a
form cannot show field by field (a map, ``oneOf``), JSON. Titles, descriptions, defaults
and required fields come from the schema.
A secret (``airbyte_secret``) is never put into the page: its input is empty, and left empty
on an edit it keeps the stored secret (the mask goes back to the service, which keeps it
only while the fields that decide where it goes stay as stored).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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

    @property
    def name(self) -> str:
        return PREFIX + ".".join(self.path)

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    @property
    def id(self) -> str:
        return "f-" + "-".join(self.path).replace("_", "-")


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
           editing: bool) -> list[Field]:
    """The inputs of ``schema`` with ``config``'s values (the defaults for a new one)."""
    out: list[Field] = []

    def walk(node: dict[str, Any], values: dict[str, Any] | None,
             path: tuple[str, ...]) -> None:
        required = set(node.get("required", []))
        for key, prop in _ordered(node.get("properties", {})):
            here = (*path, key)
            value = values.get(key) if values is not None else prop.get("default")
            if prop.get("type") == "object" and prop.get("properties") and not prop.get(
                    "airbyte_secret"):
                walk(prop, value if isinstance(value, dict) else (
                    None if values is None else {}), here)
                continue
            kind = _kind(prop)
            stored = kind == "password" and editing and value not in (None, "")
            items = tuple(str(v) for v in value) if kind == "references" and isinstance(
                value, list) else ()
            out.append(Field(
                here, str(prop.get("title") or key.replace("_", " ").capitalize()), kind,
                key in required, str(prop.get("description", "")),
                tuple(str(o) for o in prop.get("enum", [])),
                "" if kind in ("password", "references") else _shown(kind, value),
                value is True, stored, _reference(prop), items))

    walk(schema, config, ())
    return out


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


def _blank(form: Form, node: dict[str, Any], path: tuple[str, ...]) -> bool:
    """Whether every text input under the object ``node`` is empty (no box is ticked)."""
    for key, prop in node.get("properties", {}).items():
        here = (*path, key)
        if prop.get("type") == "object" and prop.get("properties"):
            if not _blank(form, prop, here):
                return False
        elif any(v.strip() for v in form.getlist(PREFIX + ".".join(here))):
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
          omit_blank_objects: bool = False, stored: dict[str, Any] | None = None,
          ) -> tuple[dict[str, Any], list[FieldError]]:
    """The config the form describes, and the inputs that could not be read (named by their
    config path). An empty optional input is left out (its default applies); with
    ``omit_blank_objects``, so is an optional object whose inputs are all empty. A secret
    left empty on an edit keeps the stored one (it is sent as the mask); given the
    ``stored`` config (masked), only where a secret is stored: where none is, it stays
    empty as on a new form."""
    config: dict[str, Any] = {}
    errors: list[FieldError] = []

    def walk(node: dict[str, Any], path: tuple[str, ...]) -> None:
        required = set(node.get("required", []))
        for key, prop in _ordered(node.get("properties", {})):
            here = (*path, key)
            if prop.get("type") == "object" and prop.get("properties") and not prop.get(
                    "airbyte_secret"):
                if omit_blank_objects and key not in required and _blank(form, prop, here):
                    continue
                walk(prop, here)
                continue
            kind = _kind(prop)
            name = PREFIX + ".".join(here)
            if kind == "references":
                chosen = [v.strip() for v in form.getlist(name) if v.strip()]
                if chosen or key in required or "default" in prop:
                    _put(config, here, chosen)
                continue
            text = form.get(name).strip() if kind != "password" else form.get(name)
            if kind == "boolean":
                _put(config, here, form.has(name))
                continue
            if kind == "password":
                if text:
                    _put(config, here, text)
                elif editing and (stored is None or _stored_at(stored, here)):
                    _put(config, here, MASK)
                elif key in required:
                    _put(config, here, "")
                continue
            if not text:
                if key in required:
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

    walk(schema, ())
    return config, errors


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

"""``${NAME}`` references to a space's environment variables inside connector configurations.

What enters: a stored config (references kept as written), the space's variables by name,
and the spec's JSON schema. What leaves: :func:`resolve` gives the config to run, each
reference replaced by its variable's value (``$${`` writes a literal ``${``; a reference that
stands alone in a field whose schema is not a string is read as JSON, so ``"${PORT}"`` can
fill an integer); :func:`guard` says which references may not be sent where the config sends
them. References are resolved only to run a connector (or to check a config at save); the
stored config keeps them. No value of a variable ever appears in an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sluiceway.core.errors import FieldError

#: ``$${`` (a literal ``${``) or a reference ``${NAME}``
_TOKEN = re.compile(r"\$\$\{|\$\{([A-Za-z0-9_-]+)\}")
_ALONE = re.compile(r"^\$\{([A-Za-z0-9_-]+)\}$")
NAME = re.compile(r"^[A-Za-z0-9_-]+$")
#: config keys (at any depth) that say where a value is sent
TARGET_KEYS = frozenset({
    "host", "hostname", "hosts", "hostaddr", "server", "address", "url", "uri", "urls",
    "base_url", "endpoint", "api_url", "domain", "connection_string", "tunnel_host", "proxy",
    "schema_registry_url",
})


@dataclass(frozen=True)
class Variable:
    name: str
    value: str
    encrypted: bool = False
    #: hosts or URL prefixes an encrypted value may be sent to; ``None``: administrators only
    allowed_targets: tuple[str, ...] | None = None


def leaves(config: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every scalar of ``config`` with its path."""
    if isinstance(config, dict):
        for key, value in config.items():
            yield from leaves(value, (*path, str(key)))
    elif isinstance(config, list):
        for i, value in enumerate(config):
            yield from leaves(value, (*path, str(i)))
    else:
        yield path, config


def references(config: Any) -> dict[str, list[str]]:
    """The variables ``config`` refers to, by dotted path (``$${`` is not a reference)."""
    found: dict[str, list[str]] = {}
    for path, value in leaves(config):
        if isinstance(value, str):
            names = [m.group(1) for m in _TOKEN.finditer(value) if m.group(1)]
            if names:
                found[".".join(path)] = names
    return found


def names(config: Any) -> set[str]:
    return {n for refs in references(config).values() for n in refs}


def _branches(node: Any) -> list[dict[str, Any]]:
    if not isinstance(node, dict):
        return []
    out = [node]
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in node.get(key) or []:
            out.extend(_branches(sub))
    return out


def schema_nodes(schema: Mapping[str, Any], path: tuple[str, ...]) -> list[dict[str, Any]]:
    """The schema nodes that may describe the value at ``path`` (every branch of a oneOf)."""
    nodes = _branches(schema)
    for part in path:
        nxt: list[dict[str, Any]] = []
        for node in nodes:
            props = node.get("properties")
            if isinstance(props, dict) and part in props:
                nxt.extend(_branches(props[part]))
            elif part.isdigit() and isinstance(node.get("items"), dict):
                nxt.extend(_branches(node["items"]))
            elif isinstance(node.get("additionalProperties"), dict):
                nxt.extend(_branches(node["additionalProperties"]))
        nodes = nxt
    return nodes


def _typed(text: str, schema: Mapping[str, Any] | None, path: tuple[str, ...]) -> Any:
    """A value standing alone in its field, as the field's type asks (text when it may be)."""
    if schema is None:
        return text
    types: set[str] = set()
    for node in schema_nodes(schema, path):
        t = node.get("type")
        types.update([t] if isinstance(t, str) else t if isinstance(t, list) else [])
    if not types or "string" in types:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text  # the validator names the field
    return text if isinstance(value, str) else value


def resolve(config: Any, variables: Mapping[str, Variable],
            schema: Mapping[str, Any] | None = None) -> tuple[Any, list[FieldError]]:
    """``config`` with every reference replaced, and one error per reference to a variable
    the space does not have (that reference is left as written)."""
    missing: list[FieldError] = []

    def text(value: str, path: tuple[str, ...]) -> Any:
        alone = _ALONE.match(value)
        if alone and alone.group(1) in variables:
            return _typed(variables[alone.group(1)].value, schema, path)

        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if not name:
                return "${"
            if name in variables:
                return variables[name].value
            missing.append(FieldError(".".join(path), f"refers to the variable ${{{name}}}, "
                                      "which this space does not have"))
            return m.group(0)

        return _TOKEN.sub(one, value)

    def walk(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, str(i))) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return text(value, path)
        return value

    return walk(config, ()), missing


def secret_values(config: Any, variables: Mapping[str, Variable]) -> list[str]:
    """The values of the encrypted variables ``config`` refers to (to redact from logs)."""
    return [variables[n].value for n in sorted(names(config))
            if n in variables and variables[n].encrypted and variables[n].value]


def _targets(config: Any) -> dict[str, str]:
    return {".".join(path): value for path, value in leaves(config)
            if isinstance(value, str) and value and any(
                p.lower() in TARGET_KEYS for p in path if not p.isdigit())}


def allows(allowed: tuple[str, ...], target: str) -> bool:
    """Whether ``target`` (a host, ``host:port`` or URL) is one of ``allowed`` (hosts, or
    URL prefixes when they hold ``://``)."""
    t = target.strip()
    for a in allowed:
        a = a.strip()
        if not a:
            continue
        if "://" in a:
            if t.startswith(a):
                return True
            continue
        host = urlsplit(t).hostname if "://" in t else urlsplit("//" + t).hostname
        if (host or t).lower() == a.lower():
            return True
    return False


def guard(raw: Any, resolved: Any, variables: Mapping[str, Variable]) -> list[FieldError]:
    """Where an encrypted variable may not be sent: with ``allowedTargets``, every host or
    URL of the resolved config must be one of them; without, the hosts and URLs may not come
    from a plain variable (one an editor may change). Whether the caller may use an encrypted
    variable without a list at all is the policy's to say (administrators only)."""
    used = [variables[n] for n in sorted(names(raw)) if n in variables]
    secret = [v for v in used if v.encrypted]
    if not secret:
        return []
    problems: list[FieldError] = []
    targets = _targets(resolved)
    for v in secret:
        if v.allowed_targets is None:
            continue
        for path, target in targets.items():
            if not allows(v.allowed_targets, target):
                problems.append(FieldError(path, f"the encrypted variable ${{{v.name}}} may "
                                           "only be sent to its allowedTargets"))
    if any(v.allowed_targets is None for v in secret):
        raw_targets = _targets(raw)
        for path, refs in references(raw).items():
            plain = [n for n in refs if n in variables and not variables[n].encrypted]
            if plain and path in raw_targets:
                problems.append(FieldError(path, "a host or URL next to an encrypted "
                                           "variable cannot come from the plain variable "
                                           f"${{{plain[0]}}}"))
    return problems

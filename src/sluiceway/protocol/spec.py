"""Connector specifications (``ConnectorSpecification``) and config validation."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft7Validator

from sluiceway.core.errors import ConfigInvalid, FieldError

MASK = "**********"


@dataclass(frozen=True)
class ConnectorSpec:
    """What a connector needs: the JSON Schema of its config and what it supports."""

    connection_specification: dict[str, Any]
    documentation_url: str = ""
    supports_incremental: bool = True
    supported_destination_sync_modes: tuple[str, ...] = field(default=())

    def to_airbyte(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "documentationUrl": self.documentation_url,
            "connectionSpecification": self.connection_specification,
            "supportsIncremental": self.supports_incremental,
        }
        if self.supported_destination_sync_modes:
            out["supported_destination_sync_modes"] = list(self.supported_destination_sync_modes)
        return out

    def secret_paths(self) -> list[tuple[str, ...]]:
        """Paths of every field marked ``airbyte_secret: true``."""
        found: list[tuple[str, ...]] = []

        def walk(node: dict[str, Any], path: tuple[str, ...]) -> None:
            if node.get("airbyte_secret"):
                found.append(path)
            for name, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict):
                    walk(sub, (*path, name))
            for key in ("oneOf", "anyOf", "allOf"):
                for sub in node.get(key) or []:
                    if isinstance(sub, dict):
                        walk(sub, path)

        walk(self.connection_specification, ())
        return found


def validate_config(spec: ConnectorSpec, config: object,
                    skip: Collection[str] = ()) -> dict[str, Any]:
    """Check ``config`` against the spec; raise :class:`ConfigInvalid` naming every bad field.

    Returns the config with the spec's defaults filled in for missing top-level fields.
    Fields at the dotted paths in ``skip`` (and below them) are not checked (a value that is
    known only when the connector runs).
    """
    if not isinstance(config, dict):
        raise ConfigInvalid("invalid connector config",
                            [FieldError("", "must be a JSON object", config)])
    validator = Draft7Validator(spec.connection_specification)
    errors = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else err.message
            path = f"{path}.{missing}" if path else missing
            reason = "is required"
        elif err.validator == "additionalProperties":
            reason = err.message
        elif err.validator == "minLength" and err.instance == "":
            reason = "must be non-empty"  # not jsonschema's "'' should be non-empty"
        else:
            reason = err.message
        if any(path == k or path.startswith(k + ".") for k in skip):
            continue
        shown = MASK if _is_secret_path(spec, path) else err.instance
        if _is_secret_path(spec, path):
            reason = f"failed the '{err.validator}' rule"
        errors.append(FieldError(path, reason, shown))
    if errors:
        raise ConfigInvalid("invalid connector config", errors)
    out = dict(config)
    for name, sub in (spec.connection_specification.get("properties") or {}).items():
        if name not in out and isinstance(sub, dict) and "default" in sub:
            out[name] = sub["default"]
    return out


def _is_secret_path(spec: ConnectorSpec, dotted: str) -> bool:
    parts = tuple(dotted.split(".")) if dotted else ()
    return any(parts[: len(p)] == p for p in spec.secret_paths() if p)


def mask_secrets(spec: ConnectorSpec, config: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with every secret field replaced by the mask."""
    import copy

    out = copy.deepcopy(config)
    mask_paths(out, spec.secret_paths())
    return out


def mask_paths(config: dict[str, Any], paths: list[tuple[str, ...]]) -> None:
    """Replace, in place, the value at each of ``paths`` that ``config`` has by the mask."""
    for path in paths:
        node: Any = config
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and path and path[-1] in node:
            node[path[-1]] = MASK

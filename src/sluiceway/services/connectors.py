"""Connector use-cases: list, spec, check, discover."""

from __future__ import annotations

from typing import Any

from sluiceway.connectors import registry
from sluiceway.connectors.base import CheckResult
from sluiceway.protocol.catalog import Catalog
from sluiceway.protocol.spec import ConnectorSpec, validate_config

Kind = registry.Kind
Entry = registry.Entry


def list_connectors() -> list[registry.Entry]:
    return registry.entries()


def spec(name: str, kind: registry.Kind) -> ConnectorSpec:
    return registry.entry(name, kind).load_spec()


def check(name: str, kind: registry.Kind, config: dict[str, Any]) -> CheckResult:
    """Validate the config (raises ConfigInvalid naming each field), then try it."""
    validate_config(spec(name, kind), config)
    connector = registry.source(name) if kind == "source" else registry.destination(name)
    return connector.check(config)


def discover(name: str, config: dict[str, Any]) -> Catalog:
    validate_config(spec(name, "source"), config)
    return registry.source(name).discover(config)

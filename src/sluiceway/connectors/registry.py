"""Find built-in connectors by name without importing their drivers."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sluiceway.connectors.base import Destination, Source
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.protocol.spec import ConnectorSpec

Kind = Literal["source", "destination"]


@dataclass(frozen=True)
class Entry:
    name: str
    kind: Kind
    spec_ref: str  # "module:attribute" of a ConnectorSpec (its module imports no driver)
    impl_ref: str  # "module:Class"
    title: str

    def load_spec(self) -> ConnectorSpec:
        spec = _resolve(self.spec_ref)
        if not isinstance(spec, ConnectorSpec):
            raise TypeError(f"{self.spec_ref} is not a ConnectorSpec")
        return spec


_P = "sluiceway.connectors"
ENTRIES: tuple[Entry, ...] = (
    Entry("postgres", "source", f"{_P}.postgres.spec:SOURCE_SPEC",
          f"{_P}.postgres.source:PostgresSource", "PostgreSQL"),
    Entry("mysql", "source", f"{_P}.mysql.spec:SOURCE_SPEC",
          f"{_P}.mysql.source:MySQLSource", "MySQL / MariaDB"),
    Entry("sqlite", "source", f"{_P}.sqlite.spec:SOURCE_SPEC",
          f"{_P}.sqlite.source:SQLiteSource", "SQLite"),
    Entry("duckdb", "source", f"{_P}.duckdb.spec:SOURCE_SPEC",
          f"{_P}.duckdb.source:DuckDBSource", "DuckDB"),
    Entry("file", "source", f"{_P}.files.spec:SOURCE_SPEC",
          f"{_P}.files.source:FileSource", "Files (CSV, JSON lines, Parquet)"),
    Entry("sample", "source", f"{_P}.sample.spec:SOURCE_SPEC",
          f"{_P}.sample.source:SampleSource", "Sample data generator"),
    Entry("memory", "source", f"{_P}.memory.spec:SOURCE_SPEC",
          f"{_P}.memory.connector:MemorySource", "In-process Arrow tables"),
    Entry("postgres", "destination", f"{_P}.postgres.spec:DESTINATION_SPEC",
          f"{_P}.postgres.destination:PostgresDestination", "PostgreSQL"),
    Entry("mysql", "destination", f"{_P}.mysql.spec:DESTINATION_SPEC",
          f"{_P}.mysql.destination:MySQLDestination", "MySQL / MariaDB"),
    Entry("sqlite", "destination", f"{_P}.sqlite.spec:DESTINATION_SPEC",
          f"{_P}.sqlite.destination:SQLiteDestination", "SQLite"),
    Entry("duckdb", "destination", f"{_P}.duckdb.spec:DESTINATION_SPEC",
          f"{_P}.duckdb.destination:DuckDBDestination", "DuckDB"),
    Entry("file", "destination", f"{_P}.files.spec:DESTINATION_SPEC",
          f"{_P}.files.destination:FileDestination", "Files (CSV, JSON lines, Parquet)"),
    Entry("memory", "destination", f"{_P}.memory.spec:DESTINATION_SPEC",
          f"{_P}.memory.connector:MemoryDestination", "In-process Arrow tables"),
)


#: connectors only routes use (their records are JSON entities, not typed tables): not
#: offered as Airbyte sources and destinations, found by :func:`entry` all the same
ROUTE_ONLY: tuple[Entry, ...] = (
    Entry("http", "source", f"{_P}.http.spec:SOURCE_SPEC",
          f"{_P}.http.connector:HttpSource", "HTTP API"),
    Entry("http", "destination", f"{_P}.http.spec:DESTINATION_SPEC",
          f"{_P}.http.connector:HttpDestination", "HTTP API"),
)


def _resolve(ref: str) -> object:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def entries(kind: Kind | None = None, *, route_only: bool = False) -> list[Entry]:
    """The connectors (of ``kind``); with ``route_only``, also those only routes use."""
    every = ENTRIES + ROUTE_ONLY if route_only else ENTRIES
    return [e for e in every if kind is None or e.kind == kind]


def entry(name: str, kind: Kind) -> Entry:
    for e in ENTRIES + ROUTE_ONLY:
        if e.name == name and e.kind == kind:
            return e
    raise UnknownConnector(name, kind, sorted(e.name for e in ENTRIES if e.kind == kind))


class UnknownConnector(InvalidInput):
    """A connector name no built-in connector has; the message lists the known names and
    suggests the closest one (``postgresql`` -> ``postgres``)."""

    def __init__(self, name: str, kind: Kind, known: list[str]) -> None:
        close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        reason = f"unknown {kind} connector {name!r}; known: {', '.join(known)}{hint}"
        super().__init__(reason)
        self.errors = [FieldError(f"{kind}.connector", reason, name)]


def source(name: str, roots: Sequence[Path] | None = None) -> Source:
    """A new source; with ``roots``, its local paths must resolve inside them."""
    cls = _resolve(entry(name, "source").impl_ref)
    if not (isinstance(cls, type) and issubclass(cls, Source)):
        raise TypeError(f"{cls!r} is not a Source")
    made = cls()
    made.roots = None if roots is None else tuple(roots)
    return made


def destination(name: str, roots: Sequence[Path] | None = None) -> Destination:
    """A new destination; with ``roots``, its local paths must resolve inside them."""
    cls = _resolve(entry(name, "destination").impl_ref)
    if not (isinstance(cls, type) and issubclass(cls, Destination)):
        raise TypeError(f"{cls!r} is not a Destination")
    made = cls()
    made.roots = None if roots is None else tuple(roots)
    return made

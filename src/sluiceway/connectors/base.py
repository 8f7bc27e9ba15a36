"""What a connector is: a Source or a Destination, with a spec and capabilities as data."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredCatalog,
    ConfiguredStream,
    DestinationSyncMode,
)
from sluiceway.protocol.messages import Message, State
from sluiceway.protocol.spec import ConnectorSpec, validate_config


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str = ""


@dataclass(frozen=True)
class Settled:
    """How far an incremental read's checkpoint may go once it has waited for the writers
    open when it began (see the PostgreSQL and MySQL sources' ``_settle``)."""

    top: Any  # the cursor's maximum then (as the source renders it into SQL)
    stay: bool = False  # keep the previous checkpoint (a writer stayed open; no rows yet)

    def ranges(self, column: str, literal: Callable[[Any], str]) -> list[tuple[str | None, bool]]:
        """The read's extra conditions, in order, each with whether the checkpoint follows
        its rows: up to the maximum it does, past it it stays. The server compares, in the
        column's own order and collation."""
        if self.stay:
            return [(None, False)]
        bound = literal(self.top)
        return [(f"{column} <= {bound}", True), (f"{column} > {bound}", False)]


@dataclass(frozen=True)
class Capabilities:
    """What a connector can do; tests and the planner choose by these, never by name."""

    incremental: bool = False
    #: a full refresh that was stopped resumes from its last checkpoint
    resumable_full_refresh: bool = False
    #: a full refresh reads one table as several key ranges at once, in one snapshot
    partitioned_reads: bool = False
    destination_sync_modes: tuple[DestinationSyncMode, ...] = ()
    #: the destination keeps types exactly (no lossy fallbacks in its type table)
    exact_types: bool = True
    #: a destination that loads fastest from rows in key order (a clustered key, or a key it
    #: builds after the load): a source left to choose its readers reads a table as one
    #: stream for it, not as key ranges at once (their rows would come interleaved)
    ordered_load: bool = False
    #: wire formats of rows this connector reads or writes undecoded (see ``RawRows``);
    #: a sync between two connectors that share one passes rows through in it
    raw_formats: tuple[str, ...] = ()


class Connector(abc.ABC):
    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    #: folders every local path must resolve into (symlinks followed); ``None``: any path.
    #: Set for connectors configured over the API (the server's file roots).
    roots: tuple[Path, ...] | None = None

    @classmethod
    @abc.abstractmethod
    def spec(cls) -> ConnectorSpec: ...

    def check(self, config: dict[str, Any]) -> CheckResult:
        """Try the config against the real system; never raises: a failure is reported."""
        try:
            message = self.probe(config)
        except Exception as exc:  # noqa: BLE001 - check reports every failure, never raises
            return CheckResult(False, str(exc))
        return CheckResult(True, message)

    @abc.abstractmethod
    def probe(self, config: dict[str, Any]) -> str:
        """Reach the system with ``config``; raise (best: a Sluiceway error naming host,
        port or field) if it cannot be used, else say what was reached."""


class Source(Connector):
    #: rows between two State checkpoints (a source may round to its own units)
    checkpoint_rows: int = 500_000
    #: a source with ``partitioned_reads`` may read a big table with several readers when
    #: its config sets none (the engine turns it off for an ``ordered_load`` destination)
    auto_readers: bool = True
    #: set by the engine: the raw format (one of ``capabilities.raw_formats``) in which the
    #: destination takes rows; a source may then yield ``RawRows`` instead of record batches
    raw_format: str | None = None

    @abc.abstractmethod
    def discover(self, config: dict[str, Any]) -> Catalog: ...

    def read(
        self,
        config: dict[str, Any],
        catalog: ConfiguredCatalog,
        state: dict[str, dict[str, Any]] | None,
    ) -> Iterator[Message]:
        """Yield record batches, with a :class:`State` after the records it covers.

        ``state`` maps a stream name to the last state of it that was committed (None to
        start over). The last message of every stream is a State: the position a following
        incremental sync starts from. By default: :meth:`read_context` once, then
        :meth:`read_stream` for each stream in turn.
        """
        context = self.read_context(config)
        for cs in catalog.streams:
            yield from self.read_stream(context, cs, (state or {}).get(cs.name))

    def read_context(self, config: dict[str, Any]) -> Any:
        """What reading any stream needs, made once per read (default: the valid config)."""
        return validate_config(self.spec(), config)

    def read_stream(self, context: Any, stream: ConfiguredStream,
                    state: dict[str, Any] | None) -> Iterator[Message]:
        """Read one stream from ``state`` (None: from the start)."""
        raise NotImplementedError(f"{type(self).__name__} reads in read()")


class Upserts(abc.ABC):
    """Upserts of a run's chunks into one table over one connection (a route's outgoing).
    :meth:`write` leaves its chunk uncommitted, so that the caller can record what it wrote
    in another database's transaction and commit the two one after the other."""

    @abc.abstractmethod
    def write(self, table: Any) -> None:
        """Upsert the rows of ``table`` (an Arrow table) on the key, in the open
        transaction."""

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class Destination(Connector):
    def upserts(self, config: dict[str, Any], table: str,
                keys: tuple[str, ...]) -> Upserts | None:
        """Upserts into ``table`` on ``keys`` over one connection kept for the whole run,
        or None when the destination offers none (a route then writes each chunk through
        :meth:`write`)."""
        return None

    @abc.abstractmethod
    def write(
        self,
        config: dict[str, Any],
        catalog: ConfiguredCatalog,
        messages: Iterable[Message],
    ) -> Iterator[State]:
        """Write the records and yield each State once the records before it are durable.

        Returning normally means every stream of ``catalog`` is final: staged data swapped
        in (overwrite) or merged (append_dedup).
        """

    def committed_state(self, config: dict[str, Any],
                        stream: ConfiguredStream) -> dict[str, Any] | None:
        """The last State this destination committed for ``stream``'s sync, if it records
        states together with the data (then a resumed sync trusts it over the engine's
        copy, which a stop between the destination's commit and the engine's save leaves
        one checkpoint behind). None when the destination keeps no such record."""
        return None


class EntitySource(Source):
    """A source whose records are JSON entities (an HTTP API): a route takes them as they are,
    in pages, instead of through Arrow batches."""

    @abc.abstractmethod
    def entities(self, config: dict[str, Any], stream: str, limit: int | None = None,
                 since: Any = None) -> Iterator[list[dict[str, Any]]]:
        """The entities of ``stream``, a page at a time (at most ``limit`` in all); with
        ``since`` (the highest cursor value an earlier read saw) only those the source
        gives as newer."""


def highest(records: Iterable[Mapping[str, Any]], field: str, current: Any = None) -> Any:
    """The highest value of the dotted ``field`` among ``records`` and ``current``: numbers
    compared as numbers, anything else as text (ISO 8601 times sort as text; a text is
    higher than any number); records without the field are left out."""
    best = current
    for record in records:
        value: Any = record
        for part in field.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None or isinstance(value, (Mapping, list)):
            continue
        if best is None or _order(value) > _order(best):
            best = value
    return best


def _order(value: Any) -> tuple[int, Any]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))


class EntityDestination(Destination):
    """A destination that answers for each entity on its own (an HTTP endpoint): a route
    sends a chunk once and learns which entities were refused, instead of writing the chunk
    in one transaction and bisecting it on a failure (which would send again what was
    already accepted)."""

    @abc.abstractmethod
    def send(self, config: dict[str, Any], stream: str,
             rows: list[dict[str, Any]]) -> list[str | None]:
        """Send ``rows``; for each, in order, ``None`` when it was accepted or why not."""

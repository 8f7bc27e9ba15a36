"""Rows passed from one PostgreSQL server to another as binary ``COPY`` tuples, undecoded.

A sync between two PostgreSQL servers with nothing transforming its rows needs none of
them as Arrow: the source's ``COPY (SELECT ...) TO STDOUT (FORMAT binary)`` already is
what the destination's ``COPY ... FROM STDIN (FORMAT binary)`` takes, as long as each
field's type is the same on both ends (a field's binary form is its type's). So the source
reads the tuples in blocks of whole rows (each ``CopyData`` message of a ``COPY TO`` holds
one row), drops the header and the trailer, and hands the blocks on as
:class:`~sluiceway.protocol.messages.RawRows` with the types the destination declares for
the columns (``types.to_pg``); the destination copies them straight into a table whose
columns have exactly those types, else through a landing table that the server casts from.

The one decode left is the client's read of each row message (no parsing of a field).
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sluiceway.connectors.postgres.errors import translate
from sluiceway.connectors.postgres.spec import checked_conninfo
from sluiceway.connectors.postgres.types import quote_ident, quote_literal, read_as_text, to_pg
from sluiceway.core.errors import Fatal
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.messages import RawRows

if TYPE_CHECKING:
    import psycopg

FORMAT = "postgres-binary"
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
#: the header a binary COPY FROM expects: signature, flags (no OIDs), no extension
HEADER = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"


def select_list(schema: pa.Schema) -> str:
    """The SELECT list of a raw read: each column as its declared type, except one with no
    Arrow twin, which the destination declares ``text`` (enums, domains, extension types
    may not exist there) and so is read as its text."""
    exprs = []
    for f in schema:
        name = quote_ident(f.name)
        text = read_as_text(f) and not at.is_numeric_text(f)
        exprs.append(f"{name}::text AS {name}" if text else name)
    return ", ".join(exprs)


def declared_types(schema: pa.Schema) -> tuple[str, ...]:
    """Each column's type as the destination declares it (what decides its binary form)."""
    return tuple(to_pg(f) for f in schema)


def connect_in_snapshot(config: dict[str, Any], snapshot: str) -> psycopg.Connection[Any]:
    """A connection reading in the exported ``snapshot`` (its REPEATABLE READ transaction
    open; text in UTF-8, as every connection ``conninfo`` makes)."""
    import psycopg  # noqa: PLC0415 - only raw reads need it (see errors' module doc)

    with translate(config, connecting=True):
        conn = psycopg.connect(checked_conninfo(config), autocommit=False)
    try:
        with translate(config):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            conn.execute(f"SET TRANSACTION SNAPSHOT {quote_literal(snapshot)}")
    except BaseException:
        conn.close()
        raise
    return conn


def copy_out(conn: psycopg.Connection[Any], config: dict[str, Any], stream: str, sql: str,
             schema: pa.Schema, block_bytes: int) -> Iterator[RawRows]:
    """The rows of ``sql`` as blocks of about ``block_bytes`` bytes of whole binary tuples.

    It speaks to libpq directly: each row is one ``PQgetCopyData`` (2.0 CPU-seconds for 2M
    rows where psycopg's ``Copy`` iterator, a generator step per row, took 3.0), and the
    thread waits for the socket outside the GIL when no whole row is buffered."""
    import psycopg  # noqa: PLC0415
    from psycopg import pq  # noqa: PLC0415

    columns, types = tuple(schema.names), declared_types(schema)
    pgconn = conn.pgconn
    sent = 0
    with translate(config):
        pgconn.send_query(f"COPY ({sql}) TO STDOUT (FORMAT binary)".encode())
        result = pgconn.get_result()
        if result is None or result.status != pq.ExecStatus.COPY_OUT:
            _drain(pgconn)
            if result is not None and result.status == pq.ExecStatus.FATAL_ERROR:
                raise psycopg.errors.error_from_result(result)
            raise Fatal(f"stream {stream!r}: the server did not start a COPY")
        get, fd = pgconn.get_copy_data, pgconn.socket
        while (first := get(1))[0] == 0:  # the header comes with the first message
            select.select([fd], [], [])
            pgconn.consume_input()
        nbytes, data = first
        # one growing buffer per block: keeping each row's message (a memoryview, which the
        # garbage collector tracks) until the block is joined made the collector scan
        # millions of them (a quarter of the process's CPU for 2M rows)
        block = bytearray()
        rows = 0
        if nbytes > 0:
            rest = _after_header(bytes(data))
            if rest and rest != TRAILER:
                block += rest
                rows = 1
        while nbytes >= 0:
            nbytes, data = get(1)
            # a message is one row, or the trailer (2 bytes, -1 where a row has its count)
            if nbytes > 2 or (nbytes == 2 and data != TRAILER):
                block += data
                rows += 1
                if len(block) >= block_bytes:
                    yield RawRows(stream, FORMAT, bytes(block), rows, columns, types)
                    sent += rows
                    block, rows = bytearray(), 0
            elif nbytes == 0:  # no whole row buffered yet
                select.select([fd], [], [])
                pgconn.consume_input()
        if rows:
            yield RawRows(stream, FORMAT, bytes(block), rows, columns, types)
            sent += rows
        result = pgconn.get_result()
        _drain(pgconn)
        if result is None or result.status != pq.ExecStatus.COMMAND_OK:
            if result is not None and result.status == pq.ExecStatus.FATAL_ERROR:
                raise psycopg.errors.error_from_result(result)
            raise Fatal(f"stream {stream!r}: the COPY of its rows did not end cleanly")
        stored = int(result.command_tuples or 0)
    # a read abandoned half way leaves the connection inside its COPY: its owner closes it
    if stored != sent:
        raise Fatal(f"stream {stream!r}: the server read {stored} rows but {sent} arrived")


def _drain(pgconn: Any) -> None:
    """Take the results left of a query, so that the connection is ready for the next."""
    while pgconn.get_result() is not None:
        pass


def _after_header(data: bytes) -> bytes:
    if not data.startswith(SIGNATURE) or len(data) < 19:
        raise Fatal("a binary COPY began without its signature")
    flags = int.from_bytes(data[11:15], "big")
    if flags & (1 << 16):
        raise Fatal("a binary COPY carries row OIDs, which no table copy sends")
    extension = int.from_bytes(data[15:19], "big")
    return data[19 + extension:]

"""Sample source: a deterministic, realistic ``events`` table generated with Arrow compute.

Every value is a pure function of (seed, stream name, id): each column hashes the row id
with splitmix64 (vectorised over a batch in uint64 arithmetic, no per-row Python), so the
same seed gives the same rows whatever the batch size, and a resumed read continues exactly.

Full refresh checkpoints ``{"next_id": n}`` every ``checkpoint_rows`` rows and ends with
``{"complete": True}``; incremental reads ``id >= last`` (the cursor) and checkpoints
``{"cursor": id, "cursor_field": "id"}``.
"""

from __future__ import annotations

import decimal
import hashlib
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from sluiceway.connectors.base import Capabilities, Source
from sluiceway.connectors.sample.spec import SOURCE_SPEC
from sluiceway.core.errors import FieldError, InvalidInput, UnknownStream
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredStream,
    Stream,
    SyncMode,
)
from sluiceway.protocol.messages import Estimate, Message, RecordBatch, State
from sluiceway.protocol.spec import ConnectorSpec, validate_config

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
BASE_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
STEP_US = 25_000  # created_at advances ~25 ms per id
EVENT_TYPES = (["page_view"] * 8 + ["click"] * 5 + ["search"] * 3 + ["add_to_cart"] * 3
               + ["purchase"] * 2 + ["login"] * 3 + ["logout"] * 2 + ["signup"] * 2
               + ["refund", "share", "comment", "error"])  # 32 slots, 12 types
MONEY_EVENTS = ("purchase", "add_to_cart", "refund")
DEVICES = ("web", "ios", "android", "desktop")
PAGES = ("/", "/search", "/product", "/cart", "/checkout", "/account", "/help", "/blog")
REFERRERS = ("google", "newsletter", "direct", "partner", "social")
WORDS = ("alpha", "bright", "candle", "delta", "ember", "forest", "garden", "harbor",
         "island", "jasmine", "kettle", "lantern", "meadow", "nectar", "orbit", "pepper",
         "quartz", "river", "silver", "timber", "umbrella", "velvet", "willow", "yellow")
MAX_WORDS = 9

SCHEMA = pa.schema([
    pa.field("id", pa.int64(), False),
    pa.field("uid", at.UUID, False),
    pa.field("user_id", pa.int32(), False),
    pa.field("event_type", pa.string(), False),
    pa.field("amount", pa.decimal128(12, 2)),
    pa.field("created_at", at.TIMESTAMP_TZ, False),
    pa.field("updated_at", at.TIMESTAMP_TZ, False),
    pa.field("payload", at.JSON, False),
    pa.field("is_test", pa.bool_(), False),
    pa.field("note", pa.string()),
    pa.field("score", pa.float64(), False),
])


def _u64(v: int) -> pa.Scalar:
    return pa.scalar(v & MASK, pa.uint64())


def _mix_int(x: int) -> int:
    """splitmix64's finaliser on a Python int (for salts)."""
    x &= MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def _mix(x: pa.Array) -> pa.Array:
    """splitmix64's finaliser over a uint64 array (multiplication wraps modulo 2**64)."""
    x = pc.multiply(pc.bit_wise_xor(x, pc.shift_right(x, _u64(30))), _u64(0xBF58476D1CE4E5B9))
    x = pc.multiply(pc.bit_wise_xor(x, pc.shift_right(x, _u64(27))), _u64(0x94D049BB133111EB))
    return pc.bit_wise_xor(x, pc.shift_right(x, _u64(31)))


def stream_salt(seed: int, stream: str) -> int:
    digest = hashlib.blake2b(stream.encode(), digest_size=8).digest()
    return _mix_int(seed ^ _mix_int(int.from_bytes(digest, "little")))


class _Rows:
    """Generates the columns of rows with ids ``[start, stop)``, memoised per batch."""

    def __init__(self, salt: int, start: int, stop: int) -> None:
        self.salt, self.start, self.n = salt, start, stop - start
        self.ids = pa.arange(start, stop)
        self.key = pc.multiply(self.ids.cast(pa.uint64()), _u64(GOLDEN))
        self.done: dict[str, pa.Array] = {}

    def hash(self, lane: int) -> pa.Array:
        return _mix(pc.add(self.key, _u64(_mix_int(self.salt + lane * GOLDEN))))

    def below(self, lane: int, k: int) -> pa.Array:
        """Uniform int64 in [0, k) (k < 2**32), from the hash's high bits."""
        high = pc.shift_right(self.hash(lane), _u64(32))
        return pc.shift_right(pc.multiply(high, _u64(k)), _u64(32)).cast(pa.int64())

    def pick(self, lane: int, values: tuple[str, ...] | list[str]) -> pa.Array:
        return pc.take(pa.array(values, pa.string()), self.below(lane, len(values)))

    def column(self, name: str) -> pa.Array:
        if name not in self.done:
            self.done[name] = _COLUMNS[name](self)
        return self.done[name]


def _uid(r: _Rows) -> pa.Array:
    k = pa.arange(0, 2 * r.n)
    lane = pc.bit_wise_and(k, 1)
    ids = pc.add(pc.shift_right(k, 1), r.start).cast(pa.uint64())
    salted = pc.add(pc.multiply(ids, _u64(GOLDEN)),
                    pc.multiply(lane.cast(pa.uint64()), _u64(0xD1B54A32D192ED03)))
    h = _mix(pc.add(salted, _u64(_mix_int(r.salt + 99 * GOLDEN))))
    first = pc.equal(lane, 0)  # little-endian words: byte 6 (version), byte 8 (variant)
    h = pc.bit_wise_and(h, pc.if_else(first, _u64(~(0xF0 << 48)), _u64(~0xC0)))
    h = pc.bit_wise_or(h, pc.if_else(first, _u64(0x40 << 48), _u64(0x80)))
    storage = pa.Array.from_buffers(pa.binary(16), r.n, [None, h.buffers()[1]])
    return pa.ExtensionArray.from_storage(at.UUID, storage)


def _amount(r: _Rows) -> pa.Array:
    event = r.column("event_type")
    cents = pc.add(r.below(4, 99_900), 100)  # 1.00 .. 999.99
    cents = pc.if_else(pc.equal(event, "refund"), pc.negate(cents), cents)
    money = pc.multiply(cents.cast(pa.decimal128(19, 0)),
                        pa.scalar(decimal.Decimal("0.01"), pa.decimal128(3, 2)))
    money = money.cast(pa.decimal128(12, 2))
    monetary = pc.is_in(event, value_set=pa.array(MONEY_EVENTS))
    return pc.if_else(monetary, money, pa.scalar(None, pa.decimal128(12, 2)))


def _created(r: _Rows) -> pa.Array:
    micros = pc.add(pc.add(pc.multiply(r.ids, STEP_US), BASE_US), r.below(5, STEP_US))
    return micros.cast(at.TIMESTAMP_TZ)


def _updated(r: _Rows) -> pa.Array:
    created = r.column("created_at").cast(pa.int64())
    later = pc.add(pc.multiply(r.below(7, 30 * 86_400), 1_000_000), r.below(8, 1_000_000))
    edited = pc.less(r.below(6, 10), 3)
    return pc.add(created, pc.if_else(edited, later, 0)).cast(at.TIMESTAMP_TZ)


def _payload(r: _Rows) -> pa.Array:
    join = pc.binary_join_element_wise
    referrer = pc.if_else(pc.equal(r.below(12, 2), 0),
                          join(',"referrer":"', r.pick(13, REFERRERS), '"', ""), "")
    experiment = pc.if_else(pc.equal(r.below(14, 3), 0),
                            join(',"experiment":"exp-', r.below(15, 20).cast(pa.string()), '"',
                                 ""), "")
    text = join('{"session_id":', r.below(9, 1_000_000_000).cast(pa.string()),
                ',"device":"', r.pick(10, DEVICES), '","page":"', r.pick(11, PAGES), '"',
                referrer, experiment, "}", "")
    return pa.ExtensionArray.from_storage(at.JSON, text)


def _note(r: _Rows) -> pa.Array:
    count = pc.add(r.below(17, MAX_WORDS - 3), 4)  # 4..9 words of 5..8 letters: 23..80 chars
    words = [pc.if_else(pc.less(j, count), r.pick(18 + j, WORDS), pa.scalar(None, pa.string()))
             for j in range(MAX_WORDS)]
    text = pc.binary_join_element_wise(*words, " ", null_handling="skip")
    return pc.if_else(pc.equal(r.below(30, 20), 0), pa.scalar(None, pa.string()), text)


def _score(r: _Rows) -> pa.Array:
    unit = pc.multiply(pc.shift_right(r.hash(31), _u64(11)).cast(pa.float64()), 100.0 / 2**53)
    return pc.round(unit, 4)


_COLUMNS: dict[str, Callable[[_Rows], pa.Array]] = {
    "id": lambda r: r.ids,
    "uid": _uid,
    "user_id": lambda r: pc.add(pc.min_element_wise(r.below(1, 50_000), r.below(2, 50_000)),
                                1).cast(pa.int32()),
    "event_type": lambda r: r.pick(3, EVENT_TYPES),
    "amount": _amount,
    "created_at": _created,
    "updated_at": _updated,
    "payload": _payload,
    "is_test": lambda r: pc.equal(r.below(16, 50), 0),
    "note": _note,
    "score": _score,
}


def generate(seed: int, stream: str, start: int, stop: int,
             schema: pa.Schema = SCHEMA) -> pa.RecordBatch:
    """Rows with ids ``[start, stop)`` of ``stream``, the columns of ``schema`` only."""
    rows = _Rows(stream_salt(seed, stream), start, stop)
    return pa.RecordBatch.from_arrays([rows.column(f.name) for f in schema], schema=schema)


class SampleSource(Source):
    name: ClassVar[str] = "sample"
    capabilities: ClassVar[Capabilities] = Capabilities(
        incremental=True, resumable_full_refresh=True)
    #: rows between two checkpoints (whole batches)
    checkpoint_rows: int = 500_000

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return SOURCE_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        cfg = validate_config(SOURCE_SPEC, config)
        return f"{cfg['rows']} rows per stream"

    def discover(self, config: dict[str, Any]) -> Catalog:
        cfg = validate_config(SOURCE_SPEC, config)
        return Catalog(tuple(Stream(
            name=name, schema=SCHEMA,
            supported_sync_modes=(SyncMode.full_refresh, SyncMode.incremental),
            source_defined_cursor=True, default_cursor_field=("id",),
            source_defined_primary_key=(("id",),),
        ) for name in cfg["streams"]))

    def read_stream(self, cfg: dict[str, Any], cs: ConfiguredStream,
                     state: dict[str, Any] | None) -> Iterator[Message]:
        if cs.name not in cfg["streams"]:
            raise UnknownStream(cs.name, list(cfg["streams"]))
        state = state or {}
        total, size = int(cfg["rows"]), int(cfg["batch_size"])
        incremental = cs.sync_mode is SyncMode.incremental
        if incremental:
            if cs.cursor != "id":
                raise InvalidInput("sample source: unsupported cursor", [FieldError(
                    "cursor_field", f"the sample source's cursor is 'id', not {cs.cursor!r}",
                    cs.cursor)])
            last = state.get("cursor")
            start = int(last) if last is not None else 1
        elif state.get("complete"):
            yield State(cs.name, state)
            return
        else:
            last, start = None, int(state.get("next_id", 1))

        if total >= start:
            yield Estimate(cs.name, total - start + 1)

        def position(next_id: int) -> dict[str, Any]:
            if incremental:
                return {"cursor": last, "cursor_field": "id"}
            return {"next_id": next_id}

        since = 0
        for lo in range(start, total + 1, size):
            hi = min(lo + size, total + 1)
            yield RecordBatch(cs.name, generate(int(cfg["seed"]), cs.name, lo, hi,
                                                cs.stream.schema))
            last, since = hi - 1, since + hi - lo
            if since >= self.checkpoint_rows and hi <= total:
                since = 0
                yield State(cs.name, position(hi))
        yield State(cs.name, position(total + 1) if incremental else {"complete": True})

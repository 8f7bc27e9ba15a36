"""The artifact store: atomic writes with checksums, ids that cannot escape the root, ranged
streaming reads, and memory that stays flat for large files."""

from __future__ import annotations

import hashlib
import os
import resource
import uuid
from pathlib import Path

import pytest

from sluiceway.artifacts import ArtifactStore, check_artifact_id
from sluiceway.core.errors import InvalidInput, NotFound

DATA = bytes(range(256)) * 40 + b"tail"  # 10,244 bytes


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


def new_id() -> str:
    return str(uuid.uuid4())


def put(store: ArtifactStore, data: bytes, artifact_id: str | None = None) -> str:
    artifact_id = artifact_id or new_id()
    with store.writer(artifact_id) as w:
        for i in range(0, len(data), 1000):
            w.write(data[i:i + 1000])
    return artifact_id


def leftovers(store: ArtifactStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("data", [b"", b"x", DATA], ids=["empty", "one-byte", "10k"])
def test_writer_stores_bytes_with_their_size_and_sha256(store: ArtifactStore,
                                                        data: bytes) -> None:
    artifact_id = new_id()
    with store.writer(artifact_id) as w:
        w.write(data)
    assert w.size == len(data) == store.size(artifact_id)
    assert w.sha256 == hashlib.sha256(data).hexdigest()
    assert store.key(artifact_id) == store.root / artifact_id[:2] / artifact_id
    assert store.key(artifact_id).read_bytes() == data
    assert leftovers(store) == [store.key(artifact_id)]


def test_writer_hashes_the_file_a_library_wrote_at_its_path(store: ArtifactStore) -> None:
    artifact_id = new_id()
    with store.writer(artifact_id) as w:
        path = w.path_for_library()
        assert path == w.tmp_path
        assert path.parent == store.key(artifact_id).parent
        with open(path, "wb") as out:
            out.write(DATA)
        assert not store.exists(artifact_id)
    assert (w.size, w.sha256) == (len(DATA), hashlib.sha256(DATA).hexdigest())
    assert store.verify(artifact_id, w.sha256)
    assert leftovers(store) == [store.key(artifact_id)]


def test_writer_refuses_mixing_streamed_bytes_and_a_library_path(store: ArtifactStore) -> None:
    with store.writer(new_id()) as w:
        w.write(b"abc")
        with pytest.raises(RuntimeError, match="cannot be mixed"):
            w.path_for_library()
    with store.writer(new_id()) as w:
        w.path_for_library()
        with pytest.raises(RuntimeError, match="handed to a library"):
            w.write(b"abc")


def test_checksum_is_not_known_before_the_writer_commits(store: ArtifactStore) -> None:
    with store.writer(new_id()) as w:
        w.write(b"abc")
        with pytest.raises(RuntimeError, match="clean exit"):
            _ = w.sha256


@pytest.mark.parametrize("library", [False, True], ids=["streamed", "library-path"])
def test_an_exception_in_the_writer_leaves_no_file_and_no_temp_file(
        store: ArtifactStore, library: bool) -> None:
    artifact_id = new_id()
    with pytest.raises(ValueError, match="boom"), store.writer(artifact_id) as w:  # noqa: PT012
        if library:
            w.path_for_library().write_bytes(DATA)
        else:
            w.write(DATA)
        assert w.tmp_path.exists()
        raise ValueError("boom")
    assert not store.exists(artifact_id)
    assert leftovers(store) == []


def test_a_failed_rewrite_keeps_the_previous_file(store: ArtifactStore) -> None:
    artifact_id = put(store, b"first")
    with pytest.raises(ValueError, match="boom"), store.writer(artifact_id) as w:  # noqa: PT012
        w.write(b"second, never committed")
        raise ValueError("boom")
    assert store.key(artifact_id).read_bytes() == b"first"


@pytest.mark.parametrize("bad", [
    "../x", "a/b", "..", "", "not-a-uuid", "/etc/passwd",
    "../../00000000-0000-0000-0000-000000000000",
    "6F9619FF-8B86-D011-B42D-00CF4FC964FF",       # upper case: not canonical
    "6f9619ff8b86d011b42d00cf4fc964ff",            # no hyphens
    "{6f9619ff-8b86-d011-b42d-00cf4fc964ff}",      # braces
    "urn:uuid:6f9619ff-8b86-d011-b42d-00cf4fc964ff",
    "6f9619ff-8b86-d011-b42d-00cf4fc964f/",
])
def test_ids_that_are_not_canonical_uuids_are_refused(store: ArtifactStore, bad: str) -> None:
    for call in (store.key, store.writer, store.exists, store.size, store.delete):
        with pytest.raises(InvalidInput) as err:
            call(bad)
        assert [e.path for e in err.value.errors] == ["artifact_id"]
    assert not store.root.exists()


def test_check_artifact_id_accepts_a_canonical_uuid() -> None:
    artifact_id = new_id()
    assert check_artifact_id(artifact_id) == artifact_id


def test_delete_removes_the_file_and_tolerates_a_missing_one(store: ArtifactStore) -> None:
    artifact_id = put(store, DATA)
    assert store.exists(artifact_id)
    assert store.delete(artifact_id) is True
    assert not store.exists(artifact_id)
    assert store.delete(artifact_id) is False


@pytest.mark.parametrize("call", ["size", "verify", "iter_bytes"])
def test_reading_a_missing_artifact_is_not_found(store: ArtifactStore, call: str) -> None:
    artifact_id = new_id()
    args = ("0" * 64,) if call == "verify" else ()
    with pytest.raises(NotFound) as err:
        getattr(store, call)(artifact_id, *args)
    assert err.value.id == artifact_id


@pytest.mark.parametrize("offset", [0, 1, len(DATA) // 2, len(DATA) - 1],
                         ids=["first", "second", "middle", "last"])
def test_verify_detects_one_flipped_byte(store: ArtifactStore, offset: int) -> None:
    artifact_id = put(store, DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    assert store.verify(artifact_id, digest)
    assert store.verify(artifact_id, digest.upper())
    path = store.key(artifact_id)
    damaged = bytearray(path.read_bytes())
    damaged[offset] ^= 0x01
    path.write_bytes(bytes(damaged))
    assert not store.verify(artifact_id, digest)


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, "0" * 63])
def test_verify_refuses_a_malformed_checksum(store: ArtifactStore, bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        store.verify(put(store, DATA), bad)
    assert [e.path for e in err.value.errors] == ["sha256"]


@pytest.mark.parametrize(("start", "end", "chunk", "expected"), [
    (0, 0, 1024, DATA[:1]),                                  # first byte
    (len(DATA) - 1, None, 1024, DATA[-1:]),                   # last byte
    (len(DATA) - 1, len(DATA) - 1, 1024, DATA[-1:]),          # last byte, end given
    (100, 5000, 1024, DATA[100:5001]),                        # middle
    (0, None, 1024, DATA),                                    # whole
    (0, len(DATA) - 1, 7, DATA),                              # whole, odd chunk
    (5000, None, 1024 * 1024, DATA[5000:]),                   # open end, one chunk
    (len(DATA), None, 1024, b""),                             # start at the end: nothing
], ids=["first", "last", "last-end", "middle", "whole", "odd-chunk", "open-end", "at-end"])
def test_iter_bytes_gives_the_slice_of_the_data(store: ArtifactStore, start: int,
                                                end: int | None, chunk: int,
                                                expected: bytes) -> None:
    artifact_id = put(store, DATA)
    blocks = list(store.iter_bytes(artifact_id, start, end, chunk=chunk))
    assert b"".join(blocks) == expected
    assert all(len(b) <= chunk for b in blocks)


@pytest.mark.parametrize(("start", "end", "chunk", "field"), [
    (-1, None, 1024, "start"),
    (len(DATA) + 1, None, 1024, "start"),
    (10, 9, 1024, "end"),
    (0, len(DATA), 1024, "end"),
    (0, None, 0, "chunk"),
])
def test_iter_bytes_refuses_bounds_outside_the_file_before_reading(
        store: ArtifactStore, start: int, end: int | None, chunk: int, field: str) -> None:
    artifact_id = put(store, DATA)
    with pytest.raises(InvalidInput) as err:
        store.iter_bytes(artifact_id, start, end, chunk=chunk)  # raised at the call
    assert [e.path for e in err.value.errors] == [field]


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def test_a_300_mb_artifact_is_written_and_read_back_with_flat_memory(
        store: ArtifactStore) -> None:
    mib = 1024 * 1024
    total = 300 * mib
    seed = os.urandom(mib)
    before = _peak_rss_bytes()

    artifact_id = new_id()
    expected = hashlib.sha256()
    with store.writer(artifact_id) as w:
        for i in range(total // mib):
            block = i.to_bytes(8, "big") + seed[8:]  # each MiB differs; one MiB held at a time
            expected.update(block)
            w.write(block)
    assert (w.size, w.sha256) == (total, expected.hexdigest())

    read_back = hashlib.sha256()
    count = 0
    for block in store.iter_bytes(artifact_id):
        assert len(block) <= mib
        read_back.update(block)
        count += len(block)
    assert (count, read_back.hexdigest()) == (total, w.sha256)
    tail = b"".join(store.iter_bytes(artifact_id, total - 16))
    assert tail == seed[-16:]

    grown = _peak_rss_bytes() - before
    assert grown < 100 * mib, f"peak RSS grew by {grown / mib:.0f} MiB"

"""Export archives: AES-256 ZIP that opens only with its password, plain ZIP and tar, and
scrypt hashes of export passwords."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
import pyzipper

from sluiceway.artifacts import (
    check_zip_password,
    hash_password,
    read_zip,
    tar_plain,
    verify_password,
    zip_encrypted,
    zip_plain,
)
from sluiceway.core.errors import InvalidInput, NotFound

PLAINTEXT = b"customer_id,email\n42,alice@example.com\n" * 200
PASSWORD = "correct horse battery staple"


@pytest.fixture
def sources(tmp_path: Path) -> list[tuple[str, Path]]:
    a = tmp_path / "orders.csv"
    a.write_bytes(PLAINTEXT)
    b = tmp_path / "empty.csv"
    b.write_bytes(b"")
    c = tmp_path / "big.bin"
    c.write_bytes(bytes(range(256)) * 12_000)  # 3 MB: several 1 MiB chunks
    return [("orders.csv", a), ("nested/empty.csv", b), ("big.bin", c)]


def _contents(sources: list[tuple[str, Path]]) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in sources}


def test_encrypted_zip_round_trips_with_the_right_password(
        tmp_path: Path, sources: list[tuple[str, Path]]) -> None:
    dest = tmp_path / "out.zip"
    zip_encrypted(sources, dest, PASSWORD)
    got = {name: b"".join(read_zip(dest, name, PASSWORD)) for name, _ in sources}
    assert got == _contents(sources)
    assert check_zip_password(dest, PASSWORD)
    with pyzipper.AESZipFile(dest) as zf:  # every entry AES-256 (WinZip strength 3)
        assert [i.wz_aes_strength for i in zf.infolist()] == [3, 3, 3]
        assert zf.namelist() == [name for name, _ in sources]


@pytest.mark.parametrize("wrong", ["wrong", PASSWORD.upper(), PASSWORD + " ", None, ""])
def test_encrypted_zip_refuses_a_wrong_or_missing_password(
        tmp_path: Path, sources: list[tuple[str, Path]], wrong: str | None) -> None:
    dest = tmp_path / "out.zip"
    zip_encrypted(sources, dest, PASSWORD)
    with pytest.raises(InvalidInput) as err:
        b"".join(read_zip(dest, "orders.csv", wrong))
    assert [e.path for e in err.value.errors] == ["password"]
    if wrong:
        assert not check_zip_password(dest, wrong)
    with zipfile.ZipFile(dest) as zf, pytest.raises(NotImplementedError):
        zf.read("orders.csv", pwd=PASSWORD.encode())  # not the weak ZipCrypto either


def test_encrypted_zip_bytes_do_not_contain_the_plaintext(
        tmp_path: Path, sources: list[tuple[str, Path]]) -> None:
    dest = tmp_path / "out.zip"
    zip_encrypted(sources, dest, PASSWORD)
    raw = dest.read_bytes()
    for needle in (b"alice@example.com", b"customer_id", PASSWORD.encode(),
                   bytes(range(64))):
        assert needle not in raw


def test_plain_zip_round_trips(tmp_path: Path, sources: list[tuple[str, Path]]) -> None:
    dest = tmp_path / "out.zip"
    zip_plain(sources, dest)
    with zipfile.ZipFile(dest) as zf:  # the standard library reads it
        assert {n: zf.read(n) for n in zf.namelist()} == _contents(sources)
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    assert check_zip_password(dest, "anything")  # nothing encrypted: any password opens it


@pytest.mark.parametrize("gzip", [False, True], ids=["tar", "tar.gz"])
def test_tar_round_trips_without_owner_names(tmp_path: Path, sources: list[tuple[str, Path]],
                                             gzip: bool) -> None:
    dest = tmp_path / ("out.tar.gz" if gzip else "out.tar")
    tar_plain(sources, dest, gzip=gzip)
    with tarfile.open(dest) as tar:
        members = tar.getmembers()
        got = {}
        for m in members:
            f = tar.extractfile(m)
            assert f is not None
            got[m.name] = f.read()
    assert got == _contents(sources)
    assert {(m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {(0, 0, "", "", 0o644)}


@pytest.mark.parametrize("arcname", [
    "../evil.csv", "/etc/passwd", "a/../../b", "", ".", "dir/", "a\\b"])
@pytest.mark.parametrize("pack", ["zip_encrypted", "zip_plain", "tar_plain"])
def test_archives_refuse_arcnames_that_are_not_plain_relative_paths(
        tmp_path: Path, sources: list[tuple[str, Path]], arcname: str, pack: str) -> None:
    dest = tmp_path / "out"
    bad = [*sources, (arcname, sources[0][1])]
    with pytest.raises(InvalidInput) as err:
        _pack(pack, bad, dest)
    assert [e.path for e in err.value.errors] == ["sources.3.arcname"]
    assert not dest.exists()


@pytest.mark.parametrize("pack", ["zip_encrypted", "zip_plain", "tar_plain"])
def test_a_missing_source_leaves_no_partial_archive(
        tmp_path: Path, sources: list[tuple[str, Path]], pack: str) -> None:
    dest = tmp_path / "out"
    with pytest.raises(NotFound, match="missing.csv"):
        _pack(pack, [*sources, ("missing.csv", tmp_path / "nope.csv")], dest)
    assert not dest.exists()


def _pack(pack: str, sources: list[tuple[str, Path]], dest: Path) -> None:
    if pack == "zip_encrypted":
        zip_encrypted(sources, dest, PASSWORD)
    elif pack == "zip_plain":
        zip_plain(sources, dest)
    else:
        tar_plain(sources, dest)


def test_an_empty_password_is_refused(tmp_path: Path, sources: list[tuple[str, Path]]) -> None:
    with pytest.raises(InvalidInput) as err:
        zip_encrypted(sources, tmp_path / "out.zip", "")
    assert [e.path for e in err.value.errors] == ["password"]


def test_reading_something_that_is_not_a_zip_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "not.zip"
    path.write_bytes(b"plain text")
    with pytest.raises(InvalidInput, match="not a readable ZIP"):
        b"".join(read_zip(path, "x"))
    with pytest.raises(NotFound):
        b"".join(read_zip(tmp_path / "absent.zip", "x"))


def test_read_zip_names_a_missing_entry(tmp_path: Path,
                                        sources: list[tuple[str, Path]]) -> None:
    dest = tmp_path / "out.zip"
    zip_plain(sources, dest)
    with pytest.raises(NotFound, match="absent.csv"):
        b"".join(read_zip(dest, "absent.csv"))


def test_hash_password_stores_no_plaintext_and_salts_each_hash() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert PASSWORD not in first
    assert first != second
    assert first.startswith("scrypt$")


@pytest.mark.parametrize(("candidate", "stored", "ok"), [
    (PASSWORD, hash_password(PASSWORD), True),
    ("wrong", hash_password(PASSWORD), False),
    (PASSWORD + " ", hash_password(PASSWORD), False),
    (PASSWORD, PASSWORD, False),                                   # a plain-text "hash"
    (PASSWORD, "", False),
    (PASSWORD, "scrypt$16384$8$1$!!$!!", False),                   # bad base64
    (PASSWORD, "scrypt$3$8$1$AAAA$AAAA", False),                   # n not a power of two
    (PASSWORD, "scrypt$1073741824$8$1$AAAA$AAAA", False),          # would take 1 TiB
    (PASSWORD, "bcrypt$16384$8$1$AAAA$AAAA", False),
], ids=["right", "wrong", "trailing-space", "plaintext", "empty", "bad-base64", "bad-n",
        "too-much-memory", "other-scheme"])
def test_verify_password(candidate: str, stored: str, ok: bool) -> None:
    assert verify_password(candidate, stored) is ok


def test_hash_password_refuses_an_empty_password() -> None:
    with pytest.raises(InvalidInput):
        hash_password("")


def test_a_large_entry_reads_back_whole_in_chunks_of_at_most_1_mib(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        for i in range(5):
            f.write(bytes([i]) * (1024 * 1024 + 3))
    dest = tmp_path / "big.zip"
    zip_encrypted([("big.bin", big)], dest, PASSWORD)
    out = io.BytesIO()
    for block in read_zip(dest, "big.bin", PASSWORD):
        assert len(block) <= 1024 * 1024
        out.write(block)
    assert out.getvalue() == big.read_bytes()

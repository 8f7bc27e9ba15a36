"""Packing export files: AES-256 encrypted ZIP, plain ZIP, plain tar; and export passwords.

Archives are written file by file, each streamed in 1 MiB chunks, so memory stays flat
whatever the size. ``pyzipper`` is imported here and nowhere else.

An export's password is kept only as :func:`hash_password` gives it (scrypt with a random
salt), never in plain text; :func:`verify_password` checks one against it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import shutil
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import pyzipper

from sluiceway.core.errors import FieldError, InvalidInput, NotFound

CHUNK = 1024 * 1024
_ENCRYPTED = 0x1  # general-purpose flag bit 0
Sources = list[tuple[str, Path]]

# scrypt: n=2**15, r=8, p=1 takes 32 MiB and tens of milliseconds; the stored string names them
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1
_SCRYPT_MAX_MEM = 256 * 1024 * 1024


def zip_encrypted(sources: Sources, dest: Path, password: str) -> None:
    """Write ``dest``: a ZIP of ``(arcname, path)`` files, each AES-256 (WinZip AE-2) encrypted.

    On any failure the partial ``dest`` is removed.
    """
    if not isinstance(password, str) or not password:
        raise InvalidInput("invalid export", [FieldError("password", "must not be empty")])
    _check_sources(sources)
    with _removed_on_error(dest), pyzipper.AESZipFile(
        dest, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES,
    ) as zf:
        zf.setpassword(password.encode("utf-8"))
        zf.setencryption(pyzipper.WZ_AES, nbits=256)
        _add_to_zip(zf, sources)


def zip_plain(sources: Sources, dest: Path) -> None:
    """Write ``dest``: a deflated ZIP of ``(arcname, path)`` files, not encrypted."""
    _check_sources(sources)
    with _removed_on_error(dest), pyzipper.ZipFile(
        dest, "w", compression=pyzipper.ZIP_DEFLATED,
    ) as zf:
        _add_to_zip(zf, sources)


def tar_plain(sources: Sources, dest: Path, *, gzip: bool = False) -> None:
    """Write ``dest``: a tar (gzip-compressed if ``gzip``) of ``(arcname, path)`` files.

    Entries carry no owner names or ids of this machine (uid/gid 0, mode 0644).
    """
    _check_sources(sources)
    with _removed_on_error(dest), tarfile.open(dest, "w:gz" if gzip else "w") as tar:
        for arcname, path in sources:
            with _opened(arcname, path) as src:
                info = tar.gettarinfo(fileobj=src, arcname=arcname)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o644
                tar.addfile(info, src)


def read_zip(path: Path, arcname: str, password: str | None = None) -> Iterator[bytes]:
    """The bytes of one entry, 1 MiB at a time, decrypted with ``password`` when encrypted.

    A wrong or missing password raises :class:`InvalidInput` on field ``password`` (at the
    first chunk: this is a generator); so does a failed integrity check at the end of an
    encrypted entry, which is what a wrong password that slipped past the quick check gives.
    """
    pwd = password.encode("utf-8") if password else None
    with _open_zip(path) as zf:
        try:
            info = zf.getinfo(arcname)
        except KeyError:
            raise NotFound(f"{arcname!r} is not in the archive", id=arcname) from None
        try:
            src = zf.open(info, pwd=pwd)
        except RuntimeError as exc:  # pyzipper: "Bad password" / "requires a password"
            raise _wrong_password(password) from exc
        with src:
            try:
                while block := src.read(CHUNK):
                    yield block
            except pyzipper.BadZipFile as exc:
                if info.flag_bits & _ENCRYPTED:
                    raise _wrong_password(password, "or the archive is damaged") from exc
                raise _damaged(path, exc) from exc


def check_zip_password(path: Path, password: str) -> bool:
    """True if ``password`` opens every encrypted entry of the ZIP at ``path``.

    Every entry's 2-byte password check is tried, and the smallest encrypted entry is read
    through to its authentication code, which confirms the password. A ZIP without encrypted
    entries opens with any password: True.
    """
    pwd = password.encode("utf-8")
    with _open_zip(path) as zf:
        encrypted = [i for i in zf.infolist() if i.flag_bits & _ENCRYPTED]
        smallest = min(encrypted, key=lambda i: i.compress_size, default=None)
        try:
            for info in encrypted:
                with zf.open(info, pwd=pwd) as src:
                    while info is smallest and src.read(CHUNK):
                        pass
        except (RuntimeError, pyzipper.BadZipFile):
            return False
    return True


def hash_password(password: str) -> str:
    """``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (base64) for ``password``, with a random salt."""
    if not isinstance(password, str) or not password:
        raise InvalidInput("invalid password", [FieldError("password", "must not be empty")])
    salt = os.urandom(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P),
                     _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` is the one :func:`hash_password` turned into ``stored``.

    A malformed ``stored`` string, or one asking for more than 256 MiB of memory, is False.
    """
    try:
        scheme, n_s, r_s, p_s, salt_s, digest_s = stored.split("$")
        n, r, p = int(n_s), int(r_s), int(p_s)
        salt, digest = base64.b64decode(salt_s, validate=True), base64.b64decode(
            digest_s, validate=True)
    except (AttributeError, ValueError, binascii.Error):
        return False
    if scheme != "scrypt" or min(n, r, p) < 1 or 128 * n * r * p > _SCRYPT_MAX_MEM // 2:
        return False
    if not isinstance(password, str) or not digest:
        return False
    try:
        actual = _scrypt(password, salt, n, r, p, len(digest))
    except ValueError:  # n not a power of two, and the like
        return False
    return hmac.compare_digest(actual, digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = 32) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=_SCRYPT_MAX_MEM, dklen=length)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _wrong_password(password: str | None, more: str = "") -> InvalidInput:
    reason = "is wrong" if password else "is required: the archive is encrypted"
    return InvalidInput("cannot open the archive", [FieldError(
        "password", f"{reason} {more}".strip(),
    )])


def _check_sources(sources: Sources) -> None:
    """Arcnames must be relative POSIX paths without ``..`` and appear once each."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, (arcname, _path) in enumerate(sources):
        parts = PurePosixPath(arcname).parts if isinstance(arcname, str) else ()
        if (not parts or arcname.startswith("/") or arcname.endswith("/") or ".." in parts
                or "\\" in arcname or "\x00" in arcname):
            errors.append(FieldError(f"sources.{i}.arcname",
                                     "must be a relative path without '..'", arcname))
        elif arcname in seen:
            errors.append(FieldError(f"sources.{i}.arcname", "appears twice", arcname))
        seen.add(arcname)
    if errors:
        raise InvalidInput("invalid archive contents", errors)


def _add_to_zip(zf: Any, sources: Sources) -> None:
    for arcname, path in sources:
        with _opened(arcname, path) as src:
            info = zf.zipinfo_cls.from_file(path, arcname, strict_timestamps=False)
            info.compress_type = pyzipper.ZIP_DEFLATED
            with zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, CHUNK)


@contextmanager
def _opened(arcname: str, path: Path) -> Iterator[BinaryIO]:
    """Open a source file for reading; a missing one is :class:`NotFound` naming its arcname."""
    try:
        src = Path(path).open("rb")
    except FileNotFoundError:
        raise NotFound(f"the file for {arcname!r} does not exist", id=arcname) from None
    with src:
        yield src


@contextmanager
def _removed_on_error(dest: Path) -> Iterator[None]:
    """Delete ``dest`` when the block fails, so no half-written archive is left."""
    try:
        yield
    except BaseException:
        Path(dest).unlink(missing_ok=True)
        raise


def _open_zip(path: Path) -> Any:
    try:
        return pyzipper.AESZipFile(path)
    except FileNotFoundError:
        raise NotFound(f"no archive at {Path(path).name!r}") from None
    except pyzipper.BadZipFile as exc:
        raise _damaged(path, exc) from exc


def _damaged(path: Path, exc: Exception) -> InvalidInput:
    return InvalidInput("not a readable ZIP archive", [FieldError(
        "path", str(exc), Path(path).name,
    )])

"""Artifact files under one storage root, addressed by artifact id, written atomically.

Layout: ``<root>/<id[:2]>/<id>``. The id must be a canonical UUID string, so no id can name a
path outside the root. A writer streams into a temporary file in the same folder (``.<id>.*
.part``) and renames it into place only after a clean exit and an fsync, so a reader never
sees half a file. A crash can leave ``.part`` files behind; they never carry an artifact's name.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from sluiceway.core.errors import Fatal, FieldError, InvalidInput, NotFound

CHUNK = 1024 * 1024
_SHA256_HEX = re.compile(r"[0-9a-f]{64}", re.ASCII)


def check_artifact_id(artifact_id: object) -> str:
    """Return ``artifact_id`` if it is a canonical (lower-case, hyphenated) UUID string."""
    if isinstance(artifact_id, str) and len(artifact_id) == 36:
        try:
            if str(uuid.UUID(artifact_id)) == artifact_id:
                return artifact_id
        except ValueError:
            pass
    raise InvalidInput("invalid artifact id", [FieldError(
        "artifact_id", "must be a canonical UUID string such as "
        "'0b6c2f4e-8d4c-4e1a-9f51-3a0f8c7d2e10'", artifact_id,
    )])


def hash_file(path: Path, chunk: int = CHUNK) -> tuple[int, str]:
    """Size and SHA-256 (hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ArtifactWriter:
    """Writes one artifact: stream with :meth:`write`, or hand a library :meth:`path_for_library`.

    Use it as a context manager. On a clean exit the bytes are fsynced and renamed into place,
    and :attr:`size` and :attr:`sha256` describe what was stored; an existing artifact with the
    same id is replaced atomically. On an exception the temporary file is deleted and the
    exception goes on.
    """

    def __init__(self, artifact_id: str, final: Path) -> None:
        self.artifact_id = artifact_id
        self._final = final
        self._tmp: Path | None = None
        self._file: IO[bytes] | None = None
        self._digest = hashlib.sha256()
        self._written = 0
        self._library = False
        self._result: tuple[int, str] | None = None

    def __enter__(self) -> ArtifactWriter:
        if self._tmp is not None or self._result is not None:
            raise RuntimeError("an ArtifactWriter can be entered only once")
        try:
            self._final.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(
                prefix=f".{self.artifact_id}.", suffix=".part", dir=self._final.parent,
            )
        except OSError as exc:
            raise Fatal(f"cannot create artifact {self.artifact_id}: {exc.strerror}") from exc
        self._tmp = Path(name)
        self._file = os.fdopen(fd, "wb")
        return self

    @property
    def tmp_path(self) -> Path:
        """Where the bytes go until commit. To write there through a library, use
        :meth:`path_for_library` (it tells the writer to hash the file, not the stream)."""
        if self._tmp is None:
            raise RuntimeError("the writer is not open: use it in a `with` block")
        return self._tmp

    def write(self, data: bytes) -> None:
        """Append ``data``, hashing it on the way."""
        if self._file is None:
            raise RuntimeError(
                "write() needs an open writer that was not handed to a library",
            )
        try:
            self._file.write(data)
        except OSError as exc:
            raise Fatal(f"cannot write artifact {self.artifact_id}: {exc.strerror}") from exc
        self._digest.update(data)
        self._written += len(data)

    def path_for_library(self) -> Path:
        """Give up streaming: a library writes the (empty) temporary file at this path itself.

        On a clean exit the writer hashes the finished file. Call it before any
        :meth:`write`; afterwards :meth:`write` is refused.
        """
        if self._file is None or self._tmp is None:
            raise RuntimeError("path_for_library() needs an open writer that was not handed over")
        if self._written:
            raise RuntimeError("path_for_library() after write(): the two cannot be mixed")
        self._file.close()
        self._file = None
        self._library = True
        return self._tmp

    @property
    def size(self) -> int:
        """Bytes stored (after a clean exit)."""
        return self._committed()[0]

    @property
    def sha256(self) -> str:
        """SHA-256 of the stored bytes as lower-case hex (after a clean exit)."""
        return self._committed()[1]

    def _committed(self) -> tuple[int, str]:
        if self._result is None:
            raise RuntimeError("size and sha256 are known only after the writer's clean exit")
        return self._result

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            self._commit()
        except BaseException:
            self._discard()
            raise

    def _commit(self) -> None:
        tmp = self.tmp_path
        try:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None
                result = (self._written, self._digest.hexdigest())
            else:
                if not tmp.is_file():
                    raise Fatal(f"artifact {self.artifact_id}: the library left no file behind")
                with tmp.open("rb+") as f:
                    os.fsync(f.fileno())
                result = hash_file(tmp)
            os.replace(tmp, self._final)
            _fsync_dir(self._final.parent)
        except OSError as exc:
            raise Fatal(f"cannot store artifact {self.artifact_id}: {exc.strerror}") from exc
        self._tmp = None
        self._result = result

    def _discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


class ArtifactStore:
    """The files of artifacts under ``root``; the metadata rows live elsewhere."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def key(self, artifact_id: str) -> Path:
        """The file of an artifact: ``root / id[:2] / id`` (the id is checked first)."""
        artifact_id = check_artifact_id(artifact_id)
        return self.root / artifact_id[:2] / artifact_id

    def writer(self, artifact_id: str) -> ArtifactWriter:
        """A context manager that writes the artifact's file atomically."""
        return ArtifactWriter(artifact_id, self.key(artifact_id))

    def exists(self, artifact_id: str) -> bool:
        return self.key(artifact_id).is_file()

    def size(self, artifact_id: str) -> int:
        """The file's size in bytes; :class:`NotFound` when there is no file."""
        path = self.key(artifact_id)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise self._missing(artifact_id) from None

    def delete(self, artifact_id: str) -> bool:
        """Remove the file; True if there was one (a missing file is not an error)."""
        try:
            self.key(artifact_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def verify(self, artifact_id: str, sha256: str) -> bool:
        """True if the file's SHA-256 equals ``sha256`` (hex); the file is streamed, not loaded."""
        expected = sha256.lower() if isinstance(sha256, str) else ""
        if not _SHA256_HEX.fullmatch(expected):
            raise InvalidInput("invalid checksum", [FieldError(
                "sha256", "must be 64 hexadecimal characters", sha256,
            )])
        try:
            _, actual = hash_file(self.key(artifact_id))
        except FileNotFoundError:
            raise self._missing(artifact_id) from None
        return hmac.compare_digest(actual, expected)

    def iter_bytes(
        self, artifact_id: str, start: int = 0, end: int | None = None, chunk: int = CHUNK,
    ) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (inclusive; None: the last byte), ``chunk`` at a time.

        The id, the bounds and the file's existence are checked at the call, before the first
        byte, so a server can still answer with an error; the file is opened on first use.
        """
        size = self.size(artifact_id)
        if chunk <= 0:
            raise InvalidInput("invalid read", [FieldError("chunk", "must be positive", chunk)])
        if start < 0 or (end is None and start > size):
            raise InvalidInput("invalid range", [FieldError(
                "start", f"must be between 0 and the size ({size})", start,
            )])
        if end is not None and not start <= end < size:
            raise InvalidInput("invalid range", [FieldError(
                "end", f"must be between start ({start}) and the last byte ({size - 1})", end,
            )])
        last = size - 1 if end is None else end
        return self._read(artifact_id, start, last - start + 1, chunk)

    def _read(self, artifact_id: str, start: int, length: int, chunk: int) -> Iterator[bytes]:
        try:
            f = self.key(artifact_id).open("rb")
        except FileNotFoundError:
            raise self._missing(artifact_id) from None
        with f:
            f.seek(start)
            while length > 0:
                block = f.read(min(chunk, length))
                if not block:
                    raise Fatal(f"artifact {artifact_id} is shorter than expected: "
                                "it changed while it was read")
                length -= len(block)
                yield block

    @staticmethod
    def _missing(artifact_id: str) -> NotFound:
        return NotFound(f"artifact {artifact_id} has no file", id=artifact_id)

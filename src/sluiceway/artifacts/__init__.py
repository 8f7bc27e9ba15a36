"""Artifacts: the files behind exports and downloads, kept under one storage root.

What enters: an artifact id (a canonical UUID string, never a path from a user), bytes to
store (streamed, or written by a library at a temporary path), HTTP ``Range`` headers, a key
for signed links, and export files with an optional password.

What leaves: files stored atomically at ``<root>/<id[:2]>/<id>`` with their size and SHA-256
(:class:`ArtifactStore`, :class:`ArtifactWriter`); byte ranges streamed in 1 MiB chunks
(:meth:`ArtifactStore.iter_bytes`, :func:`parse_range`, :class:`RangeNotSatisfiable`);
signed, expiring download links (:func:`sign`, :func:`check`, :func:`derive_key`); and
archives: AES-256 encrypted ZIP, plain ZIP, plain tar, with scrypt hashes of export
passwords (:mod:`sluiceway.artifacts.protect`). Metadata rows are kept elsewhere.
"""

from __future__ import annotations

from sluiceway.artifacts.protect import (
    check_zip_password,
    hash_password,
    read_zip,
    tar_plain,
    verify_password,
    zip_encrypted,
    zip_plain,
)
from sluiceway.artifacts.ranges import RangeNotSatisfiable, parse_range
from sluiceway.artifacts.signing import check, derive_key, sign
from sluiceway.artifacts.store import ArtifactStore, ArtifactWriter, check_artifact_id

__all__ = [
    "ArtifactStore",
    "ArtifactWriter",
    "RangeNotSatisfiable",
    "check",
    "check_artifact_id",
    "check_zip_password",
    "derive_key",
    "hash_password",
    "parse_range",
    "read_zip",
    "sign",
    "tar_plain",
    "verify_password",
    "zip_encrypted",
    "zip_plain",
]

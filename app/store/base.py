"""The artifact store interface: immutable bytes of .info/.mod/.zip per version.

Every backend keeps the same promise: the first write of a version's file wins;
a later write of the same bytes is a no-op and of different bytes is refused
with :class:`ImmutableConflict` (the caller records that as upstream drift).
Keys follow the GOPROXY layout, so a tree of them is itself a proxy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.gomod.paths import escape_path, escape_version

KINDS = ("info", "mod", "zip")
CHUNK = 1 << 20


class StoreError(Exception):
    """The store cannot do what was asked (message says why)."""


class StoreFull(StoreError):
    """No room left in the store; what was being written was removed."""


class ArtifactMissing(StoreError):
    """No such file in the store."""


class ImmutableConflict(StoreError):
    """A different file is already stored under this key; it was kept."""

    def __init__(self, key: str, stored_sha256: str, offered_sha256: str) -> None:
        super().__init__(
            f"{key} already stored with sha256 {stored_sha256}; refused different bytes "
            f"(sha256 {offered_sha256})"
        )
        self.key = key
        self.stored_sha256 = stored_sha256
        self.offered_sha256 = offered_sha256


@dataclass(frozen=True)
class PutResult:
    """What a put did: ``created`` is False when identical bytes were already there."""

    key: str
    size: int
    sha256: str
    created: bool


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


@dataclass(frozen=True)
class Leftover:
    """A temporary file a killed writer left behind (never visible under a key)."""

    name: str
    size: int
    age: float  # seconds since it was last written


def artifact_key(module: str, version: str, kind: str) -> str:
    """The GOPROXY-tree key of one file: ``<escaped path>/@v/<escaped version>.<kind>``."""
    if kind not in KINDS:
        raise ValueError(f"unknown artifact kind {kind!r}")
    return f"{escape_path(module)}/@v/{escape_version(version)}.{kind}"


def list_key(module: str) -> str:
    return f"{escape_path(module)}/@v/list"


class ArtifactStore(ABC):
    """One interface, many backends (filesystem now, object storage later)."""

    @abstractmethod
    def put_file(self, module: str, version: str, kind: str, src: Path) -> PutResult:
        """Store ``src``'s bytes under the version's key, atomically and immutably."""

    @abstractmethod
    def put_bytes(self, module: str, version: str, kind: str, data: bytes) -> PutResult:
        """As :meth:`put_file`, for small in-memory files (.info, .mod)."""

    @abstractmethod
    def open(self, module: str, version: str, kind: str) -> BinaryIO:
        """A binary stream of the stored file; raises :class:`ArtifactMissing`."""

    @abstractmethod
    def stat(self, module: str, version: str, kind: str) -> StoredObject | None:
        """Size of the stored file, or None when absent."""

    @abstractmethod
    def set_list(self, module: str, versions: list[str]) -> None:
        """Replace the module's ``@v/list`` (the one mutable file of the tree)."""

    def read_bytes(self, module: str, version: str, kind: str) -> bytes:
        with self.open(module, version, kind) as fh:
            return fh.read()

    def local_path(self, module: str, version: str, kind: str) -> Path | None:
        """A filesystem path of the stored file when the backend has one (sendfile, nginx)."""
        return None

    def goproxy_url(self) -> str | None:
        """A GOPROXY URL the go command can read this store through directly, if any."""
        return None

    @abstractmethod
    def read_list(self, module: str) -> list[str] | None:
        """The module's ``@v/list`` (its published tagged versions), None when absent.

        With the database away, this is how the GOPROXY still knows what it serves.
        """

    @abstractmethod
    def check(self) -> str:
        """Raise :class:`StoreError` unless the store can be used; else a short status."""

    @abstractmethod
    def iter_keys(self) -> Iterator[StoredObject]:
        """Every key of the GOPROXY tree (files and ``@v/list``), in no set order.

        fsck compares this with the database: a key no row knows is an orphan
        (stored before a crash killed the job that would have recorded it).
        Temporary files are not keys; see :meth:`leftovers`.
        """

    def open_key(self, key: str) -> BinaryIO:
        """Any key :meth:`iter_keys` named, as a binary stream."""
        raise NotImplementedError

    def leftovers(self) -> list[Leftover]:
        """Temporary files of writes that never finished (a writer killed mid-put).

        Backends whose uploads are invisible until complete (S3) have none."""
        return []

    def remove_leftover(self, name: str) -> bool:
        """Delete one leftover temporary file; False when it was already gone."""
        return False

    def presigned_url(self, module: str, version: str, kind: str, expires: int) -> str | None:
        """A URL anyone may GET the stored file from for ``expires`` seconds, if the
        backend has such URLs (object stores); None otherwise."""
        return None

    def close(self) -> None:
        """Release what the backend holds open (connections, helper threads)."""
        return None

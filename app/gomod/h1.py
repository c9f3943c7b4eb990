"""The "h1:" directory hash used by go.sum and the checksum database.

Hash1 (golang.org/x/mod/sumdb/dirhash) is SHA-256 over a summary text with
one line per file, sorted by name: ``hex(sha256(content)) + "  " + name + "\n"``.
A proxy has to reproduce it bit for bit or every client download fails
verification, so zip entry names are hashed as the raw bytes the go command
sees and content is streamed in chunks to keep memory constant.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from app.gomod._zipread import entry_name_bytes as zip_entry_name_bytes
from app.gomod._zipread import iter_entry, open_zip
from app.gomod.errors import GoModError

__all__ = ["CHUNK_SIZE", "hash1", "hash1_of_digests", "hash_gomod", "hash_zip",
           "zip_entry_name_bytes"]

CHUNK_SIZE = 1 << 20


class Stream(Protocol):
    """What hash1 reads a file's content from: a binary file, or any reader like it."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


# A file's content: the bytes themselves, or a callable opening a binary stream.
FileSource = bytes | bytearray | memoryview | Callable[[], Stream | bytes]


def _name_bytes(name: str | bytes) -> bytes:
    if isinstance(name, bytes):
        return name
    return name.encode("utf-8", "surrogateescape")


def _digest_source(src: FileSource) -> str:
    """Hex SHA-256 of one file's content, reading streams in chunks."""
    h = hashlib.sha256()
    if isinstance(src, (bytes, bytearray, memoryview)):
        h.update(src)
        return h.hexdigest()
    opened = src()
    if isinstance(opened, (bytes, bytearray, memoryview)):
        h.update(opened)
        return h.hexdigest()
    try:
        while chunk := opened.read(CHUNK_SIZE):
            h.update(chunk)
    finally:
        opened.close()
    return h.hexdigest()


def hash1(files: Iterable[tuple[str | bytes, FileSource]]) -> str:
    """Compute the dirhash Hash1 of ``files``: (name, bytes or opener) pairs.

    Names are full slash-separated paths as they should appear in the
    summary (for a module zip that includes the ``module@version/`` prefix).
    """
    entries = sorted(((_name_bytes(n), s) for n, s in files), key=lambda e: e[0])
    return hash1_of_digests((name, _digest_source(src)) for name, src in entries)


def hash1_of_digests(digests: Iterable[tuple[bytes, str]]) -> str:
    """Hash1 from each file's name and hex SHA-256, for a reader that has digested the
    contents already (zipcheck.check_zip, which reads every entry anyway)."""
    summary = hashlib.sha256()
    for name, digest in sorted(digests, key=lambda e: e[0]):
        if b"\n" in name:
            raise GoModError("dirhash: filenames with newlines are not supported")
        summary.update(digest.encode("ascii") + b"  " + name + b"\n")
    return "h1:" + base64.b64encode(summary.digest()).decode("ascii")


def hash_gomod(data: bytes) -> str:
    """The go.sum ``/go.mod`` hash: Hash1 over one file named ``go.mod``."""
    return hash1([("go.mod", bytes(data))])


def hash_zip(zip_file: str | Path | BinaryIO) -> str:
    """Hash1 of a module zip (dirhash.HashZip), streaming each entry.

    Entry names are the raw names including the ``module@version/`` prefix.
    Raises ZipRuleError if the archive is unreadable or an entry is corrupt
    (wrong size or CRC), as the go command would refuse it too.
    """
    with open_zip(zip_file) as (zf, raw):
        # Go maps each name to its last entry, but lists every entry.
        by_name: dict[bytes, zipfile.ZipInfo] = {}
        names: list[bytes] = []
        for info in zf.infolist():
            name = zip_entry_name_bytes(info)
            by_name[name] = info
            names.append(name)

        def opener(info: zipfile.ZipInfo) -> Callable[[], Stream]:
            return lambda: _ChunkReader(iter_entry(raw, info))

        return hash1((n, opener(by_name[n])) for n in names)


class _ChunkReader(io.RawIOBase):
    """Minimal binary stream over an iterator of chunks (for hash1)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # size is ignored: chunks are already bounded
        return next(self._chunks, b"")

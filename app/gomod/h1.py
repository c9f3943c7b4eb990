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
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, BinaryIO

from app.gomod.errors import GoModError, ZipRuleError

__all__ = ["CHUNK_SIZE", "hash1", "hash_gomod", "hash_zip", "zip_entry_name_bytes"]

CHUNK_SIZE = 1 << 20

# A file's content: the bytes themselves, or a callable opening a binary stream.
FileSource = bytes | bytearray | memoryview | Callable[[], IO[bytes] | bytes]


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
    summary = hashlib.sha256()
    entries = sorted(((_name_bytes(n), s) for n, s in files), key=lambda e: e[0])
    for name, src in entries:
        if b"\n" in name:
            raise GoModError("dirhash: filenames with newlines are not supported")
        summary.update(_digest_source(src).encode("ascii") + b"  " + name + b"\n")
    return "h1:" + base64.b64encode(summary.digest()).decode("ascii")


def hash_gomod(data: bytes) -> str:
    """The go.sum ``/go.mod`` hash: Hash1 over one file named ``go.mod``."""
    return hash1([("go.mod", bytes(data))])


def zip_entry_name_bytes(info: zipfile.ZipInfo) -> bytes:
    """The raw name bytes of a zip entry, as Go's archive/zip exposes them.

    Python decodes names without the UTF-8 flag as cp437 (a lossless byte
    mapping) and truncates at NUL; Go does neither, so undo both.
    """
    if info.flag_bits & 0x800:
        return info.orig_filename.encode("utf-8", "surrogateescape")
    return info.orig_filename.encode("cp437")


def hash_zip(zip_file: str | Path | BinaryIO) -> str:
    """Hash1 of a module zip (dirhash.HashZip), streaming each entry.

    Raises ZipRuleError if the archive is unreadable or an entry is corrupt.
    """
    try:
        with zipfile.ZipFile(zip_file) as zf:
            # Go maps each name to its last entry, but lists every entry.
            by_name: dict[bytes, zipfile.ZipInfo] = {}
            names: list[bytes] = []
            for info in zf.infolist():
                raw = zip_entry_name_bytes(info)
                by_name[raw] = info
                names.append(raw)

            def opener(info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
                return lambda: zf.open(info)

            return hash1((n, opener(by_name[n])) for n in names)
    except GoModError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ) as e:
        raise ZipRuleError(f"cannot hash module zip: {e}") from e

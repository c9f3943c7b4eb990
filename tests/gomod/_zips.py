"""Helpers that build (possibly hostile) zip files byte by byte for the tests."""

from __future__ import annotations

import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ZERO_MIB = bytes(1 << 20)


@dataclass
class RawEntry:
    """One entry for raw_zip(); sizes/CRC may lie when explicitly given."""

    name: bytes
    payload: bytes  # bytes exactly as stored (already compressed for method 8)
    method: int = 0
    crc: int | None = None
    size: int | None = None  # declared uncompressed size
    external_attr: int = 0
    flags: int = 0
    create_system: int = 0


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def zero_bomb(mib: int) -> tuple[bytes, int, int]:
    """A raw deflate stream of ``mib`` MiB of zeros, built without compressing it all.

    Each 1 MiB block is compressed once and ended with a full flush, which
    makes the blocks independent, so repeating the bytes is a valid stream.
    Returns (stream, uncompressed size, crc32).
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(ZERO_MIB) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(ZERO_MIB, crc)
    return block * mib + tail, mib << 20, crc


def raw_zip(entries: Iterable[RawEntry]) -> bytes:
    """Assemble a zip archive (no zip64) from RawEntry values."""
    body = bytearray()
    central = bytearray()
    count = 0
    for e in entries:
        real = b""
        if e.crc is None or e.size is None:
            # Small payloads only: the test states sizes explicitly for bombs.
            real = e.payload if e.method == 0 else zlib.decompressobj(-15).decompress(e.payload)
        crc = zlib.crc32(real) if e.crc is None else e.crc
        size = len(real) if e.size is None else e.size
        offset = len(body)
        body += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            e.flags,
            e.method,
            0,
            0x21,
            crc,
            len(e.payload),
            size,
            len(e.name),
            0,
        )
        body += e.name + e.payload
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            (e.create_system << 8) | 20,
            20,
            e.flags,
            e.method,
            0,
            0x21,
            crc,
            len(e.payload),
            size,
            len(e.name),
            0,
            0,
            0,
            0,
            e.external_attr,
            offset,
        )
        central += e.name
        count += 1
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(body), 0)
    return bytes(body + central + end)


def write_zip(
    path: Path,
    files: Iterable[tuple[str, bytes]],
    *,
    symlinks: Iterable[tuple[str, str]] = (),
    dirs: Iterable[str] = (),
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write a zip with Python's zipfile (duplicates allowed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "w", compression) as zf:
            for d in dirs:
                zf.writestr(zipfile.ZipInfo(d if d.endswith("/") else d + "/"), b"")
            for name, data in files:
                zf.writestr(name, data)
            for name, target in symlinks:
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = 0o120777 << 16
                zf.writestr(info, target)
    return path

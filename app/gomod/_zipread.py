"""Strict, streaming reads of zip entries, as Go's archive/zip does them.

Python's zipfile silently truncates an entry at its declared size, so an
entry whose header understates its size (with a CRC of the truncated prefix)
reads "fine" there while the go command rejects it. Hashes and checks must
agree with go, so entries are inflated here directly: every chunk is
bounded, and the output must match the declared size and CRC exactly.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO

from app.gomod._util import quote
from app.gomod.errors import ZipRuleError

CHUNK = 1 << 20
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_LOCAL_MAGIC = b"PK\x03\x04"

ZipSource = str | os.PathLike[str] | Path | BinaryIO


def entry_name_bytes(info: zipfile.ZipInfo) -> bytes:
    """The raw name bytes of an entry, as Go's archive/zip exposes them.

    Python decodes names without the UTF-8 flag as cp437 (a lossless byte
    mapping) and cuts them at NUL; Go does neither, so undo both.
    """
    if info.flag_bits & 0x800:
        return info.orig_filename.encode("utf-8", "surrogateescape")
    return info.orig_filename.encode("cp437")


@contextmanager
def open_zip(source: ZipSource) -> Iterator[tuple[zipfile.ZipFile, BinaryIO]]:
    """Open ``source`` as a zip; yield it with a raw handle for entry reads."""
    with ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            raw: BinaryIO = stack.enter_context(open(source, "rb"))
        else:
            raw = source
        try:
            zf = zipfile.ZipFile(raw)
        except UnicodeDecodeError as e:
            raise ZipRuleError("invalid UTF-8 in a zip entry name marked as UTF-8") from e
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as e:
            raise ZipRuleError(f"not a valid zip file: {e}") from e
        except OSError as e:
            # Seeking before the start of a file that is too short to be a zip.
            raise ZipRuleError(f"not a valid zip file: {e}") from e
        stack.enter_context(zf)
        yield zf, raw


def _corrupt(info: zipfile.ZipInfo, why: str) -> ZipRuleError:
    name = entry_name_bytes(info).decode("utf-8", "replace")
    return ZipRuleError(f"{quote(name)}: corrupt zip entry: {why}")


def _seek_body(raw: BinaryIO, info: zipfile.ZipInfo) -> None:
    """Position ``raw`` at the entry's data, checking its local header."""
    raw.seek(info.header_offset)
    hdr = raw.read(_LOCAL_HEADER.size)
    if len(hdr) != _LOCAL_HEADER.size:
        raise _corrupt(info, "truncated local header")
    magic, name_len, extra_len = _LOCAL_HEADER.unpack(hdr)
    if magic != _LOCAL_MAGIC:
        raise _corrupt(info, "bad local header signature")
    if raw.read(name_len) != entry_name_bytes(info):
        raise _corrupt(info, "local header and central directory disagree on the name")
    raw.seek(extra_len, os.SEEK_CUR)


def iter_entry(raw: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """Yield an entry's uncompressed content in chunks of at most CHUNK bytes.

    Raises ZipRuleError as soon as more bytes come out than declared, and at
    the end if the size or CRC-32 differ from the central directory. Only
    "store" and "deflate" exist for the go command.
    """
    if info.flag_bits & 0x1:
        raise _corrupt(info, "encrypted entries are not supported")
    method = info.compress_type
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _corrupt(info, f"unsupported compression method {method}")
    _seek_body(raw, info)
    declared = info.file_size
    remaining = info.compress_size
    produced = 0
    crc = 0
    inflater = zlib.decompressobj(-15) if method == zipfile.ZIP_DEFLATED else None
    while True:
        if inflater is None:
            if remaining == 0:
                break
            out = raw.read(min(CHUNK, remaining))
            if not out:
                raise _corrupt(info, "unexpected end of file")
            remaining -= len(out)
        else:
            if inflater.eof:
                break
            if inflater.unconsumed_tail:
                data = inflater.unconsumed_tail
            elif remaining > 0:
                data = raw.read(min(CHUNK, remaining))
                if not data:
                    raise _corrupt(info, "unexpected end of file")
                remaining -= len(data)
            else:
                data = b""
            try:
                out = inflater.decompress(data, CHUNK)
            except zlib.error as e:
                raise _corrupt(info, str(e)) from e
            if not out and not data:
                raise _corrupt(info, "deflate stream ends early")
        produced += len(out)
        if produced > declared:
            raise _corrupt(info, f"uncompressed size is larger than declared ({declared} bytes)")
        crc = zlib.crc32(out, crc)
        if out:
            yield out
    if produced != declared:
        raise _corrupt(info, f"uncompressed size {produced} does not match declared {declared}")
    if crc != info.CRC:
        raise _corrupt(info, "CRC-32 checksum mismatch")

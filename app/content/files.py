"""Reading single files out of a stored module zip, with size caps.

A README, a license text or a go.mod is read for display only, so every read
has a cap well below the module-zip limits: a page never streams megabytes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from app.gomod import zipcheck
from app.gomod.errors import GoModError
from app.store import ArtifactMissing, ArtifactStore

README_MAX = 1 << 20  # 1 MiB of README is shown; a larger one is linked, not rendered
LICENSE_MAX = 1 << 20
GOMOD_MAX = 1 << 20


@dataclass(frozen=True)
class FileText:
    """One file's text, or why it cannot be shown (``text`` is None then)."""

    name: str
    text: str | None
    note: str = ""
    too_large: bool = False  # the file is there, only too large to show


@contextmanager
def _zip_source(store: ArtifactStore, module: str, version: str) -> Iterator[Path | BinaryIO]:
    local = store.local_path(module, version, "zip")
    if local is not None:
        yield local
        return
    with store.open(module, version, "zip") as stream:
        if _seekable(stream):
            yield stream
            return
        # Object storage hands out a forward-only stream; zip reading needs to seek.
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
            shutil.copyfileobj(stream, spool)
            spool.seek(0)
            yield cast(BinaryIO, spool)  # a binary file; typeshed says IO[bytes]


def _seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError):
        return False


def read_zip_bytes(
    store: ArtifactStore, module: str, version: str, name: str, max_size: int
) -> tuple[bytes | None, str]:
    """(the bytes of the file ``name`` in the version's zip, "") or (None, why not)."""
    try:
        with _zip_source(store, module, version) as source:
            data = zipcheck.read_file(source, module, version, name, max_size=max_size)
    except ArtifactMissing:
        return None, "the module zip is not in the store"
    except GoModError as exc:
        if "too large" in str(exc):
            return None, f"{name} is larger than {max_size >> 10} KiB"
        return None, f"{name} cannot be read: {exc}"
    if data is None:
        return None, f"{name} is not in the module zip"
    return data, ""


def read_zip_text(
    store: ArtifactStore, module: str, version: str, name: str, max_size: int
) -> FileText:
    """The file ``name`` at the module root, decoded as UTF-8 (bad bytes replaced)."""
    data, note = read_zip_bytes(store, module, version, name, max_size)
    if data is None:
        return FileText(name, None, note)
    return FileText(name, data.decode("utf-8", errors="replace"))


def zip_listing(store: ArtifactStore, module: str, version: str
                ) -> tuple[list[tuple[str, int]], str]:
    """(every file of the version's zip with its size, "") or ([], why not)."""
    try:
        with _zip_source(store, module, version) as source:
            return zipcheck.list_files(source, module, version), ""
    except ArtifactMissing:
        return [], "the module zip is not in the store"
    except GoModError as exc:
        return [], f"the module zip cannot be read: {exc}"


def read_gomod(store: ArtifactStore, module: str, version: str) -> FileText:
    """The version's go.mod as served by the GOPROXY (.mod), capped."""
    try:
        with store.open(module, version, "mod") as stream:
            data = stream.read(GOMOD_MAX + 1)
    except ArtifactMissing:
        return FileText("go.mod", None, "go.mod is not in the store")
    if len(data) > GOMOD_MAX:
        return FileText("go.mod", None, f"go.mod is larger than {GOMOD_MAX >> 10} KiB", True)
    return FileText("go.mod", data.decode("utf-8", errors="replace"))

"""A directory tree store whose layout is itself a valid GOPROXY tree.

``GOPROXY=file:///that/dir`` and nginx can serve it as it is. Files are written
to ``.tmp/`` first, fsynced, and then hard-linked into place: ``link`` fails if
the name exists, so two writers can never overwrite each other's bytes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from app.store.base import (
    CHUNK,
    ArtifactMissing,
    ArtifactStore,
    ImmutableConflict,
    Leftover,
    PutResult,
    StoredObject,
    StoreError,
    StoreFull,
    artifact_key,
    list_key,
)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class FilesystemStore(ArtifactStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / ".tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key

    def _write_tmp(self, chunks: Iterable[bytes]) -> tuple[Path, int, str]:
        """Write to a private temporary file; on any failure (a full disk) it is removed."""
        tmp = self.tmp / uuid.uuid4().hex
        digest = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "xb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreFull(f"the store at {self.root} is full: {exc.strerror}") from exc
            raise
        return tmp, size, digest.hexdigest()

    def _commit(self, key: str, tmp: Path, size: int, sha256: str) -> PutResult:
        final = self._path(key)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(tmp, final)
            except FileExistsError:
                stored = file_sha256(final)
                if stored != sha256:
                    raise ImmutableConflict(key, stored, sha256) from None
                return PutResult(key, size, sha256, created=False)
            _fsync_dir(final.parent)
            return PutResult(key, size, sha256, created=True)
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, module: str, version: str, kind: str, src: Path) -> PutResult:
        key = artifact_key(module, version, kind)

        def chunks() -> Iterator[bytes]:
            with open(src, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    yield chunk

        return self._commit(key, *self._write_tmp(chunks()))

    def put_bytes(self, module: str, version: str, kind: str, data: bytes) -> PutResult:
        key = artifact_key(module, version, kind)
        return self._commit(key, *self._write_tmp([data]))

    def open(self, module: str, version: str, kind: str) -> BinaryIO:
        key = artifact_key(module, version, kind)
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise ArtifactMissing(key) from None

    def stat(self, module: str, version: str, kind: str) -> StoredObject | None:
        key = artifact_key(module, version, kind)
        try:
            return StoredObject(key, self._path(key).stat().st_size)
        except FileNotFoundError:
            return None

    def set_list(self, module: str, versions: list[str]) -> None:
        final = self._path(list_key(module))
        final.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(f"{v}\n" for v in versions).encode()
        tmp, _, _ = self._write_tmp([body])
        os.replace(tmp, final)
        _fsync_dir(final.parent)

    def local_path(self, module: str, version: str, kind: str) -> Path | None:
        path = self._path(artifact_key(module, version, kind))
        return path if path.exists() else None

    def goproxy_url(self) -> str | None:
        return self.root.resolve().as_uri()

    def read_list(self, module: str) -> list[str] | None:
        try:
            body = self._path(list_key(module)).read_text()
        except FileNotFoundError:
            return None
        return body.split()

    def iter_keys(self) -> Iterator[StoredObject]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            if Path(dirpath) == self.root:
                dirnames[:] = [d for d in dirnames if d != self.tmp.name]
            for name in filenames:
                path = Path(dirpath) / name
                try:
                    size = path.stat().st_size
                except FileNotFoundError:
                    continue
                yield StoredObject(path.relative_to(self.root).as_posix(), size)

    def open_key(self, key: str) -> BinaryIO:
        path = self._path(key)
        if ".." in Path(key).parts or not path.is_file():
            raise ArtifactMissing(key)
        return open(path, "rb")

    def leftovers(self) -> list[Leftover]:
        found, now = [], time.time()
        for entry in os.scandir(self.tmp):
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # a writer finished meanwhile
            found.append(Leftover(entry.name, st.st_size, max(0.0, now - st.st_mtime)))
        return found

    def remove_leftover(self, name: str) -> bool:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"not a temporary file name: {name!r}")
        try:
            (self.tmp / name).unlink()
        except FileNotFoundError:
            return False
        return True

    def check(self) -> str:
        if not self.root.is_dir() or not os.access(self.root, os.W_OK):
            raise StoreError(f"{self.root} is not a writable directory")
        free = shutil.disk_usage(self.root).free
        return f"{free / (1 << 30):.1f} GiB free"

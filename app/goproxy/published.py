"""Published files never change, so their facts are read from the database once.

The GOPROXY's hot path (.info, .mod, .zip of a published version) then costs a
dictionary look-up instead of a database round-trip; the small .info and .mod
bodies are kept in memory too. Bounded (LRU), per process.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload

from app.models import (
    PROVISIONAL,
    VOUCHABLE,
    GraphMod,
    Module,
    ModuleVersion,
    VersionState,
    vouched,
)
from app.resources import Services

IMMUTABLE = 365 * 24 * 3600
CONTENT_TYPES = {
    "info": "application/json",
    "mod": "text/plain; charset=utf-8",
    "zip": "application/zip",
}
# Bodies up to this size are kept in memory (a go.mod is almost always far smaller).
MAX_INLINE = 64 * 1024


# A redirect to a presigned URL must not outlive the URL: never cached.
REDIRECT_CACHE = "private, no-store"


@dataclass(frozen=True)
class ServedFile:
    sha256: str
    size: int
    body: bytes | None  # in memory when small
    path: Path | None  # a local file the server can sendfile
    # A file opened for this one answer: a zip a graph load verified, whose folder may
    # be removed before the answer is sent (app/goproxy/ahead.py).
    opened: BinaryIO | None = field(default=None, compare=False)

    @property
    def remote(self) -> bool:
        """Neither in memory nor on a local disk: the bytes are in an object store."""
        return self.body is None and self.path is None and self.opened is None


@dataclass(frozen=True)
class Looked:
    """One look at a version's row: its state, whether the license gate lets it be
    redistributed, and its files when all three are stored."""

    state: VersionState
    redistributable: bool | None
    reason: str
    files: dict[str, ServedFile] | None

    @property
    def published(self) -> dict[str, ServedFile] | None:
        return self.files if self.state == VersionState.published else None

    @property
    def provisional(self) -> dict[str, ServedFile] | None:
        """The files of a captured, redistributable version not yet published (the fetch
        miss policy serves them; never cached, as the version may still move), or of a
        published one."""
        if self.state == VersionState.published:
            return self.files
        if self.state in PROVISIONAL and self.redistributable is True:
            return self.files
        return None


def file_headers(served: ServedFile, kind: str, version: str, shared: bool = True
                 ) -> list[tuple[str, str]]:
    """Headers of every published file response, whichever path serves it. ``shared``:
    whether a caller without a token may read it too, so that a shared cache (a CDN, a
    company's proxy) may keep it; else only the caller's own cache may (a private
    module's file, or any file of a closed Depot)."""
    audience = "public" if shared else "private"
    headers = [
        ("Content-Type", CONTENT_TYPES[kind]),
        ("ETag", f'"{served.sha256}"'),
        ("Cache-Control", f"{audience}, max-age={IMMUTABLE}, immutable"),
    ]
    if kind == "zip":
        headers.append(("Content-Disposition", f'attachment; filename="{version}.zip"'))
    return headers


class PublishedFiles:
    def __init__(self, services: Services, max_versions: int = 50_000) -> None:
        self._services = services
        self._max = max_versions
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], dict[str, ServedFile]] = OrderedDict()
        self._graph: OrderedDict[tuple[str, str, str], ServedFile] = OrderedDict()

    def zip_redirect(self, module: str, version: str) -> str | None:
        """A presigned URL of the zip when the store has them and DEPOT_S3_ZIPS=redirect."""
        settings = self._services.settings
        if settings.s3_zips != "redirect":
            return None
        return self._services.store.presigned_url(module, version, "zip",
                                                  settings.s3_presign_ttl)

    def cached(self, module: str, version: str) -> dict[str, ServedFile] | None:
        """Only what is already in memory (never touches the database)."""
        with self._lock:
            return self._cache.get((module, version))

    def look(self, module: str, version: str) -> Looked | None:
        """The version's state and files in one query (None: no row), for a miss that
        needs more than whether it is published: a cold walk's `.info` and `.zip`
        misses asked three times (published? its state? provisional?), a tenth of the
        web processes' CPU. A published version's files are kept as :meth:`get` keeps
        them; with the database away, a version the store lists as published is found."""
        key = (module, version)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return Looked(VersionState.published, True, "", hit)
        try:
            with self._services.db.session() as session:
                row = session.scalar(
                    select(ModuleVersion).join(Module)
                    .where(Module.path == module, ModuleVersion.version == version)
                    .options(selectinload(ModuleVersion.artifacts)))
                if row is None:
                    return None
                state, redistributable, reason = row.state, row.redistributable, row.reason
                arts = {a.kind.value: (a.sha256, a.size) for a in row.artifacts}
        except OperationalError:
            # The database is away: the store's @v/list still names what was published.
            files = self._from_store(module, version)
            if files is None:
                raise
            return Looked(VersionState.published, True, "", files)
        files = self._files(module, version, arts)
        if files is not None and state == VersionState.published:
            self._remember(key, files)
        return Looked(state, redistributable, reason or "", files)

    def _remember(self, key: tuple[str, str], files: dict[str, ServedFile]) -> None:
        with self._lock:
            self._cache[key] = files
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)

    def get(self, module: str, version: str) -> dict[str, ServedFile] | None:
        """The served files of a published version, or None if it is not published."""
        looked = self.look(module, version)
        return None if looked is None else looked.published

    def graph_mod(self, module: str, version: str) -> ServedFile | None:
        """The go.mod of a version Depot holds only because graph loading reads it
        (app/models.GraphMod), or None."""
        key = (module, version, "graph")
        with self._lock:
            hit = self._graph.get(key)
            if hit is not None:
                self._graph.move_to_end(key)
                return hit
        with self._services.db.session() as session:
            row = session.scalar(select(GraphMod).where(GraphMod.module_path == module,
                                                        GraphMod.version == version))
            if row is None:
                return None
            sha256, size = row.sha256, row.size
        store = self._services.store
        served = ServedFile(sha256, size, store.read_bytes(module, version, "mod"),
                            store.local_path(module, version, "mod"))
        with self._lock:
            self._graph[key] = served
            while len(self._graph) > self._max:
                self._graph.popitem(last=False)
        return served

    def held_mod(self, module: str, version: str) -> ServedFile | None:
        """The go.mod of a version the license gate holds, or None. Its code (the zip) is
        not redistributed; its go.mod, a list of requirements, is read by the go command
        to load any build list the version is in (`go get`, `go build` of a consumer that
        never imports it), so it is served like a graph-only go.mod (docs/licenses.md)."""
        with self._services.db.session() as session:
            row = session.scalar(
                select(ModuleVersion).join(Module)
                .where(Module.path == module, ModuleVersion.version == version)
                .options(selectinload(ModuleVersion.artifacts)))
            if row is None or row.redistributable is not False:
                return None
            mod = next((a for a in row.artifacts if a.kind.value == "mod"), None)
            if mod is None:
                return None
            sha256, size = mod.sha256, mod.size
        store = self._services.store
        return ServedFile(sha256, size, store.read_bytes(module, version, "mod"),
                          store.local_path(module, version, "mod"))

    def vouched(self, module: str, version: str) -> dict[str, ServedFile] | None:
        """The files of a stored, redistributable member of a published version's build
        list (app/models.vouched), or None; never cached, as the version may still move."""
        with self._services.db.session() as session:
            if not vouched(session, module, version):
                return None
        # Published too: it may have been published since the caller's look at the
        # published versions (a 404 in that moment, tests/e2e/test_pipeline.py).
        return self._load(module, version, (*VOUCHABLE, VersionState.published))

    def _load(self, module: str, version: str,
              states: tuple[VersionState, ...] = (VersionState.published,)
              ) -> dict[str, ServedFile] | None:
        with self._services.db.session() as session:
            row = session.scalar(
                select(ModuleVersion)
                .join(Module)
                .where(
                    Module.path == module,
                    ModuleVersion.version == version,
                    ModuleVersion.state.in_(states),
                )
                .options(selectinload(ModuleVersion.artifacts))
            )
            if row is None or (row.state != VersionState.published
                               and row.redistributable is not True):
                return None
            arts = {a.kind.value: (a.sha256, a.size) for a in row.artifacts}
        return self._files(module, version, arts)

    def _files(self, module: str, version: str, arts: dict[str, tuple[str, int]]
               ) -> dict[str, ServedFile] | None:
        """The served files of a version's three artifacts (sha256, size), None unless
        all three are stored."""
        if set(arts) != {"info", "mod", "zip"}:
            return None
        store = self._services.store
        files = {}
        for kind, (sha256, size) in arts.items():
            path = store.local_path(module, version, kind)
            body = None
            if kind != "zip" and size <= MAX_INLINE:
                body = store.read_bytes(module, version, kind)
            files[kind] = ServedFile(sha256, size, body, path)
        return files

    def _from_store(self, module: str, version: str) -> dict[str, ServedFile] | None:
        """A published tagged version known from the store tree alone (no database).

        ``@v/list`` is rewritten at every publication with the published tagged
        versions only, so a version listed there with its three files is servable.
        """
        store = self._services.store
        if version not in (store.read_list(module) or []):
            return None
        files = {}
        for kind in ("info", "mod", "zip"):
            stat = store.stat(module, version, kind)
            if stat is None:
                return None
            body = None
            if kind == "zip":  # hashed as a stream: it may be big
                digest = hashlib.sha256()
                with store.open(module, version, kind) as stream:
                    while chunk := stream.read(1 << 20):
                        digest.update(chunk)
                sha256 = digest.hexdigest()
            else:
                body = store.read_bytes(module, version, kind)
                sha256 = hashlib.sha256(body).hexdigest()
            files[kind] = ServedFile(sha256, stat.size, body,
                                     store.local_path(module, version, kind))
        return files

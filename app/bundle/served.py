"""A private GOPROXY over exactly what Depot may serve, for the bundle's toolchain run.

The store tree holds staged and held versions too, so it is no answer to "what may
leave Depot". This server answers from the database (published, redistributable
versions, and the members published versions vouch for) and the store, on 127.0.0.1
for one build, and remembers every file the go command asked for: that list is the
bundle's contents, chosen by the real toolchain rather than guessed.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.gomod import paths, versions
from app.gomod.errors import GoModError
from app.models import (
    VOUCHABLE,
    Artifact,
    GraphMod,
    Module,
    ModuleVersion,
    VersionState,
    vouched,
)
from app.resources import Services
from app.store import StoreError

CHUNK = 1 << 20


@dataclass
class Servable:
    """What one version may give: its state and reason, and the sizes of its files."""

    state: VersionState
    redistributable: bool | None
    reason: str
    sizes: dict[str, int]
    h1: dict[str, str]
    # A stored member of a published version's build list (app/models.vouched).
    vouched: bool = False

    @property
    def ok(self) -> bool:
        served = self.state == VersionState.published or self.vouched
        return served and self.redistributable is True


def lookup(services: Services, module: str, version: str) -> Servable | None:
    """The version's row as far as serving goes; None when Depot never heard of it."""
    with services.db.session() as session:
        row = session.scalar(
            select(ModuleVersion).join(Module)
            .where(Module.path == module, ModuleVersion.version == version)
        )
        if row is None:
            return None
        arts = session.execute(
            select(Artifact.kind, Artifact.size, Artifact.h1)
            .where(Artifact.version_id == row.id)
        ).all()
        return Servable(row.state, row.redistributable, row.reason,
                        {k.value: s for k, s, _ in arts}, {k.value: h for k, _, h in arts},
                        row.state in VOUCHABLE and vouched(session, module, version))


def graph_mod_row(session: Session, module: str, version: str) -> GraphMod | None:
    """The go.mod Depot holds for a version only because graph loading reads it."""
    return session.scalar(select(GraphMod).where(GraphMod.module_path == module,
                                                 GraphMod.version == version))


def graph_mod_size(services: Services, module: str, version: str) -> int | None:
    with services.db.session() as session:
        row = graph_mod_row(session, module, version)
        return None if row is None else row.size


def why_not(module: str, version: str, found: Servable | None) -> str:
    """One line saying why a version cannot go into a bundle."""
    if found is None:
        return f"{module}@{version} is not in Depot"
    if found.redistributable is False:
        return f"{module}@{version} may not be redistributed ({found.reason or 'license'})"
    if found.state != VersionState.published:
        reason = f": {found.reason}" if found.reason else ""
        return f"{module}@{version} is {found.state.value}, not published{reason}"
    return f"{module}@{version} is incomplete in the store"


@dataclass
class Record:
    """What the go command fetched (``served``) and what it was refused (``refused``)."""

    served: set[tuple[str, str, str]] = field(default_factory=set)
    refused: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _parse(raw_path: str) -> tuple[str, str, str] | None:
    """The (module, version, kind) a request names, decoded as Depot's GOPROXY routes
    decode it (paths.parse_proxy_path); None for anything else. The WSGI server
    percent-decodes for the routes; here that is done first (the go command sends
    ``!`` as ``%21``)."""
    try:
        module, version, kind = paths.parse_proxy_path(unquote(raw_path.split("?", 1)[0]))
    except GoModError:
        return None
    return (module, version, kind) if kind != "latest" else None


def _published_tags(services: Services, module: str) -> list[str]:
    with services.db.session() as session:
        found = session.scalars(
            select(ModuleVersion.version).join(Module).where(
                Module.path == module, ModuleVersion.state == VersionState.published,
                ModuleVersion.redistributable.is_(True), ModuleVersion.is_pseudo.is_(False))
        ).all()
    return versions.sort_versions(list(found))


def _handler(services: Services, record: Record) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return  # the bundle build reports what matters itself

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = _parse(self.path)
            if parts is None:
                self._send(404, b"not a GOPROXY file\n")
                return
            module, version, kind = parts
            if kind == "list":
                self._send(200, "".join(f"{v}\n" for v in _published_tags(services, module))
                           .encode())
                return
            found = lookup(services, module, version)
            size = found.sizes.get(kind) if found is not None and found.ok else None
            if size is None and kind == "mod":
                size = graph_mod_size(services, module, version)
            if size is None:
                with record.lock:
                    record.refused[(module, version)] = why_not(module, version, found)
                self._send(404, b"not servable\n")
                return
            try:
                stream = services.store.open(module, version, kind)
            except StoreError as exc:
                with record.lock:
                    record.refused[(module, version)] = f"{module}@{version}: store: {exc}"
                self._send(404, b"missing from the store\n")
                return
            with stream:  # zips can be large: streamed, never read whole into memory
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                shutil.copyfileobj(stream, self.wfile, CHUNK)
            with record.lock:
                record.served.add((module, version, kind))

    return Handler


@contextmanager
def serving(services: Services) -> Iterator[tuple[str, Record]]:
    """A GOPROXY URL of Depot's published view, and the record of what it served."""
    record = Record()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(services, record))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bundle-goproxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

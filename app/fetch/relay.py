"""Each upstream file fetched once, however many go commands of the host ask for it at once.

Why: a build list's go command hands what it fetched to its members' jobs
(app/fetch/handoff.py), but only when it ends. Two build lists running at the same
moment each fetched every file neither had yet, and a member's process job running
beside them a third time (issue 19, defect 8: 2-4 fetches of the same ``.mod``).

So the go commands of build lists and downloads reach the upstream's http(s) entries
through a relay: a GOPROXY on 127.0.0.1, a thread of the job's own process, that
fetches a version's ``.info``, ``.mod`` and ``.zip`` (never changing, so safe to
share) into the handoff folder under a lock per file that every process of the host
takes. Whoever asks for a file being fetched waits for that fetch and is served its
bytes. Everything else (version lists, ``@latest``, queries, the checksum database)
passes through as it is. Nothing is trusted for having been fetched: each go command
checks every file against go.sum and the checksum database as it would the upstream's,
and a caller whose go command refused one drops it (handoff.take/clear).

A ``file://`` upstream is read by the go command itself (nothing to save), with the
handoff folder ahead of it as before.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import unquote, urlsplit

import requests

from app.config import Settings
from app.fetch import handoff
from app.fetch.upstream import UpstreamUnavailable, new_session, proxy_entries, read_capped
from app.gomod import versions
from app.gomod.errors import GoModError
from app.gomod.modfile import MAX_GOMOD_SIZE
from app.gomod.paths import parse_proxy_path
from app.gomod.zipcheck import MAX_ZIP_SIZE
from app.redact import mask_url

log = logging.getLogger("depot.fetch")

# Past these sizes the go command refuses a file anyway ("downloaded zip file too large"):
# the first bytes past the limit are served so that it says so, and nothing is kept.
LIMITS = {"info": 1 << 20, "mod": MAX_GOMOD_SIZE, "zip": MAX_ZIP_SIZE}
# What passes through (lists, @latest, checksum database tiles) is held whole; real
# ones are at most a few hundred KiB.
PASS_MAX = 16 << 20
CONTENT_TYPES = {"info": "application/json", "mod": "text/plain; charset=utf-8",
                 "zip": "application/zip"}
SHUTDOWN_POLL = 0.01
# How often a go command waiting for a file another one fetches looks at its lock.
POLL = 0.02

# Relays of this process: their URL, per upstream entry, and the entry, so that what a
# go command printed names the upstream rather than a port on 127.0.0.1 (restore).
_active: dict[str, str] = {}
_active_lock = threading.Lock()


def restore(text: str) -> str:
    """``text`` with every running relay's URL replaced by the upstream entry it fronts."""
    with _active_lock:
        pairs = list(_active.items())
    for relayed, entry in pairs:
        text = text.replace(relayed, entry)
    return text


def _http_entries(goproxy: str) -> list[str]:
    """The entries to relay: http(s) ones, except plain http with credentials, which the
    go command refuses to send (and says so): relayed, they would be sent."""
    entries = []
    for entry in proxy_entries(goproxy):
        insecure_secret = entry.startswith("http://") and "@" in urlsplit(entry).netloc
        if (entry.startswith(("http://", "https://")) and not insecure_secret
                and entry not in entries):
            entries.append(entry)
    return entries


class Relay:
    """A relay for the duration of a ``with`` block (one job's go commands)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.entries = _http_entries(settings.upstream)
        self.fetched = 0  # files this relay took from the upstream
        self._session = new_session()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        if not self.entries:
            return self
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # Its loop looks for shutdown this often: the default half second was added to
        # every job (a process job's download takes 0.05-0.25 s).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(SHUTDOWN_POLL,),
                                        daemon=True, name="depot-relay")
        self._thread.start()
        with _active_lock:
            # Masked: go itself prints an upstream's URL without its password.
            _active.update({f"{self.url}/{i}": mask_url(entry)
                            for i, entry in enumerate(self.entries)})
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._server is None:
            return
        with _active_lock:
            for i in range(len(self.entries)):
                _active.pop(f"{self.url}/{i}", None)
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._session.close()
        self._server = None
        log.debug("relay: %d files from the upstream", self.fetched)

    def goproxy(self) -> str:
        """The GOPROXY value for the go command: the upstream's, each http(s) entry
        reached through this relay (separators, ``direct`` and ``off`` kept); for an
        upstream without one, the handoff folder and then the upstream."""
        upstream = self.settings.upstream
        if self._server is None:
            return handoff.goproxy(self.settings, upstream)
        parts = re.split(r"([,|])", upstream)
        for n, part in enumerate(parts):
            entry = part.strip().rstrip("/")
            if entry in self.entries:
                parts[n] = f"{self.url}/{self.entries.index(entry)}"
        return "".join(parts)

    # -- answering ----------------------------------------------------------------------

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        index, _, rest = path.lstrip("/").partition("/")
        if not index.isdigit() or int(index) >= len(self.entries):
            _send(request, 404, b"not a path of this relay\n", "text/plain")
            return
        url = f"{self.entries[int(index)]}/{rest}" + (f"?{query}" if query else "")
        named = _version_file(rest)
        if named is None:
            self._pass_through(request, url)
            return
        module, version, kind = named
        dest = handoff.file(self.settings, module, version, kind)
        served = _open(dest)
        if served is None:
            deadline = time.monotonic() + self.settings.fetch_timeout
            with _locked(handoff.locks(self.settings) / _lock_name(dest), deadline):
                served = _open(dest)  # fetched while this one waited
                if served is None:
                    status, served, body = self._fetch(url, dest, LIMITS[kind], deadline)
                    if served is None:
                        _send(request, status, body, "text/plain; charset=utf-8")
                        return
        with served:
            _send_file(request, served, CONTENT_TYPES[kind])

    def _fetch(self, url: str, dest: Path, limit: int, deadline: float
               ) -> tuple[int, IO[bytes] | None, bytes]:
        """Fetch ``url`` into ``dest`` (whole or not at all): (status, the bytes to serve,
        or None and the upstream's or the relay's own answer)."""
        try:
            resp = self._session.get(url, stream=True, timeout=self.settings.upstream_timeout)
        except requests.RequestException as exc:
            why = f"the relay could not reach the upstream: {type(exc).__name__}\n"
            return 502, None, why.encode()
        with resp:
            if resp.status_code != 200:
                try:
                    return resp.status_code, None, self._body(resp, 64 << 10)
                except (requests.RequestException, UpstreamUnavailable):
                    return resp.status_code, None, b""
            tmp, out = _create(dest)
            try:
                size = 0
                for chunk in resp.iter_content(1 << 20):
                    out.write(chunk)
                    size += len(chunk)
                    if size > limit:  # served as it is (the go command refuses it), not kept
                        out.truncate(limit + 1)
                        tmp.unlink(missing_ok=True)
                        out.seek(0)
                        return 200, out, b""
                    if time.monotonic() > deadline:
                        raise TimeoutError("the upstream sent the file too slowly")
                out.flush()
            except (requests.RequestException, OSError) as exc:
                out.close()
                tmp.unlink(missing_ok=True)
                return 502, None, f"the relay's download failed: {type(exc).__name__}\n".encode()
        try:
            os.replace(tmp, dest)  # readers see all of it or nothing
            self.fetched += 1
        except OSError:  # the folder was emptied meanwhile: serve it, keep nothing
            tmp.unlink(missing_ok=True)
        out.seek(0)
        return 200, out, b""

    def _body(self, resp: requests.Response, limit: int) -> bytes:
        """The upstream's answer, read up to one byte past ``limit``."""
        return read_capped(resp, limit, time.monotonic() + self.settings.upstream_timeout)

    def _pass_through(self, request: BaseHTTPRequestHandler, url: str) -> None:
        try:
            with self._session.get(url, stream=True,
                                   timeout=self.settings.upstream_timeout) as resp:
                body = self._body(resp, PASS_MAX)
                if len(body) > PASS_MAX:
                    _send(request, 502, b"the upstream's answer is too large\n", "text/plain")
                    return
                _send(request, resp.status_code, body,
                      resp.headers.get("Content-Type", "text/plain; charset=utf-8"))
        except (requests.RequestException, UpstreamUnavailable) as exc:
            _send(request, 502, f"the relay could not reach the upstream: "
                                f"{type(exc).__name__}\n".encode(), "text/plain")


def _version_file(rest: str) -> tuple[str, str, str] | None:
    """(module, version, kind) when ``rest`` names a version's file (canonical version:
    the bytes never change), else None."""
    try:
        module, version, kind = parse_proxy_path(unquote(rest))
    except GoModError:
        return None
    if kind not in LIMITS or not versions.is_canonical(version):
        return None
    return module, version, kind


def _lock_name(dest: Path) -> str:
    return hashlib.sha256(str(dest).encode()).hexdigest()[:32] + ".lock"


@contextmanager
def _locked(path: Path, deadline: float) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (every process of the host sees it; the OS
    drops it with a killed one). Past ``deadline`` the caller goes on without it: a
    second fetch is better than a go command waiting on a stuck one."""
    fd = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        os.utime(fd)  # in use: the sweep leaves it
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    log.warning("relay: %s stayed locked; fetching without it", path.name)
                    break
                time.sleep(POLL)
    except OSError as exc:
        log.warning("relay: no lock %s (%s); fetching without it", path.name, exc)
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _open(path: Path) -> IO[bytes] | None:
    try:
        return path.open("rb")
    except (FileNotFoundError, NotADirectoryError):
        return None


def _create(dest: Path) -> tuple[Path, IO[bytes]]:
    """A new hidden file beside ``dest`` (the folder may have been swept a moment ago)."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    for _ in range(3):
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            return tmp, tmp.open("w+b")
        except FileNotFoundError:
            continue
    return tmp, tmp.open("w+b")


def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    try:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
    except OSError:  # the go command went away
        pass


def _send_file(request: BaseHTTPRequestHandler, file: IO[bytes], content_type: str) -> None:
    try:
        size = os.fstat(file.fileno()).st_size - file.tell()
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(size))
        request.end_headers()
        shutil.copyfileobj(file, request.wfile, 1 << 20)
    except OSError:
        pass


def _handler(relay: Relay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the go command keeps its connections
        # Headers and body leave in separate writes: with Nagle's algorithm each answer on
        # a kept connection waited for a delayed ACK (30-40 ms a file).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            relay.answer(self)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the jobs log what matters

    return Handler

"""A WSGI fast path for the hottest requests: published files already in memory.

Published .info/.mod/.zip never change, so once :class:`PublishedFiles` knows a
version, answering needs no routing, no request object and no database. Only
plain GET/HEAD cache hits are answered here; anything else (a miss, a Range, a
conditional request, bad input) goes to the Flask app, which owns every rule.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

from app.content.cache import LRU
from app.gomod import paths, versions
from app.gomod.errors import GoModError
from app.goproxy.downloads import DownloadCounter
from app.goproxy.published import (
    MAX_INLINE,
    REDIRECT_CACHE,
    PublishedFiles,
    ServedFile,
    file_headers,
)
from app.metrics import count_goproxy
from app.store import artifact_key

# Headers that make a request more than a plain fetch: Flask handles those.
_SPECIAL = ("HTTP_RANGE", "HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE",
            "HTTP_IF_RANGE")

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


# A file up to WHOLE is read in one go and handed on whole (the server writes it at
# once); a larger one goes in CHUNK pieces. Measured with a 9 MB zip, 32 clients, under
# granian: 64 KB pieces 222 zips/s; 128 KB 267/s (Athens 271/s) and 13 MB more held;
# 1 MB 235/s and 220 MB more held, as the server queues what it is handed.
WHOLE = 1 << 20
CHUNK = 1 << 17


def file_body(path: str | os.PathLike[str], size: int, environ: dict) -> Iterable[bytes]:
    """A published file's bytes as a WSGI body: the server's sendfile() where it offers
    one (gunicorn), else whole or in large chunks (granian)."""
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None:
        return wrapper(open(path, "rb"), 1 << 16)  # the server closes it
    if size <= WHOLE:
        with open(path, "rb") as stream:
            return [stream.read()]
    return _chunks(path)


def _chunks(path: str | os.PathLike[str]) -> Iterator[bytes]:
    with open(path, "rb") as stream:  # closed when the server closes the body
        while chunk := stream.read(CHUNK):
            yield chunk


class SmallFiles:
    """Published files of up to ``largest`` bytes (small zips) kept in memory, the least
    recently served leaving first: ``budget`` bytes at most. Why: reading a 32 KB zip
    from disk took 15 us of its hit (open, read, close), more than the rest of the fast
    path. Safe to keep: a published file's bytes never change."""

    def __init__(self, budget: int = 8 << 20, largest: int = MAX_INLINE) -> None:
        self.largest = largest
        self._kept: LRU[bytes] = LRU(1 << 16, weigh=len, budget=budget)

    def get(self, path: str | os.PathLike[str], size: int) -> bytes | None:
        """The file's bytes, read once; None for a file too large to keep. A file that
        is not the size the database says is served as it is and not kept."""
        if size > self.largest:
            return None
        key = os.fspath(path)
        return self._kept.get_or_make(key, lambda: _read(key),
                                      keep=lambda body: len(body) == size)


def _read(path: str) -> bytes:
    with open(path, "rb") as stream:
        return stream.read()


@lru_cache(maxsize=8192)
def served_file(url_path: str) -> tuple[str, str, str] | None:
    """(module, version, kind) when ``url_path`` names a version's .info, .mod or .zip
    by its canonical version, else None. Remembered: decoding a path by the routes'
    rules took 24 us, a quarter of a hit's time in Python, and hits repeat."""
    try:
        # The routes' own decoder, so the two agree on every name.
        module, version, kind = paths.parse_proxy_path(url_path)
    except GoModError:
        return None
    if kind not in paths.PROXY_FILE_KINDS or not versions.is_canonical(version):
        return None
    return module, version, kind


def whole_file(size: int) -> list[tuple[str, str]]:
    """The headers of a published file sent whole (or asked for by HEAD) by Depot itself."""
    return [("Content-Length", str(size)), ("Accept-Ranges", "bytes")]


class FastPath:
    def __init__(
        self, app: WSGIApp, published: PublishedFiles, accel_redirect: str,
        downloads: DownloadCounter,
        may_read: Callable[[str | None, str], bool] = lambda header, module: header is None,
    ) -> None:
        self.app = app
        # Whether a request with this Authorization header (None: none) may read this
        # module, from what the process already knows (app/auth/gate.Gate.trusts_to_read);
        # a "no" sends the request to the app, whose gate checks it.
        self.may_read = may_read
        self.small = SmallFiles()
        self.published = published
        self.accel = accel_redirect.rstrip("/")
        self.downloads = downloads

    def lookup(self, environ: dict) -> tuple[str, str, str, str, ServedFile] | None:
        """(method, module, version, kind, file) of a plain GET/HEAD of a published file
        whose version is in memory; None for anything else (the app's to answer)."""
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or any(k in environ for k in _SPECIAL):
            return None
        name = served_file(environ.get("PATH_INFO", ""))
        if name is None:
            return None
        module, version, kind = name
        if not self.may_read(environ.get("HTTP_AUTHORIZATION"), module):
            return None
        files = self.published.cached(module, version)
        if files is None:
            return None
        return method, module, version, kind, files[kind]

    def shared(self, environ: dict, module: str) -> bool:
        """Whether a caller without a token may read ``module``'s files: only then may a
        shared cache keep them (app/goproxy/published.file_headers). A request without
        one was looked up only because it may."""
        return "HTTP_AUTHORIZATION" not in environ or self.may_read(None, module)

    def in_memory(self, kind: str, served: ServedFile) -> bytes | None:
        """The bytes :meth:`__call__` answers ``served`` with from memory (held with its
        version, or a small file kept), or None when it would answer otherwise: from an
        object store, through the sidecar, or a large file read from disk."""
        if served.body is not None:
            return served.body
        if served.path is None or (kind == "zip" and self.accel):
            return None
        return self.small.get(served.path, served.size)

    def count_hit(self, method: str, module: str, version: str, kind: str, size: int) -> None:
        """A published file answered from here: a zip's GET is a download; the bytes
        and the hit go to the GOPROXY metrics."""
        if kind == "zip" and method == "GET":
            self.downloads.count(module, version)
        count_goproxy(kind, True, size if method == "GET" else 0)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        self.downloads.watch_log()  # counts what the sidecar served itself, if it logs
        found = self.lookup(environ)
        if found is None:
            return self.app(environ, start_response)
        method, module, version, kind, served = found
        headers = file_headers(served, kind, version, self.shared(environ, module))
        if served.remote:
            return self._remote(environ, start_response, module, version, kind, method,
                                headers, served.size)
        if served.body is None and served.path is None:
            return self.app(environ, start_response)
        self.count_hit(method, module, version, kind, served.size)
        if kind == "zip" and self.accel and served.path is not None:
            key = artifact_key(module, version, kind)
            headers.append(("X-Accel-Redirect", f"{self.accel}/{key}"))
            headers.append(("Content-Length", "0"))
            start_response("200 OK", headers)
            return [b""]
        headers += whole_file(served.size)
        if served.body is not None:
            start_response("200 OK", headers)
            return [b"" if method == "HEAD" else served.body]
        if served.path is None:  # a file opened for one answer (ahead.py), never cached
            return self.app(environ, start_response)
        start_response("200 OK", headers)
        if method == "HEAD":
            return [b""]
        kept = self.small.get(served.path, served.size)
        return [kept] if kept is not None else file_body(served.path, served.size, environ)

    def _remote(self, environ: dict, start_response: Callable, module: str, version: str,
                kind: str, method: str, headers: list[tuple[str, str]], size: int
                ) -> Iterable[bytes]:
        """A file in an object store: HEAD from what we know, a zip GET redirected (or
        relayed by the app, which counts it)."""
        if method == "HEAD":
            count_goproxy(kind, True)
            headers += whole_file(size)
            start_response("200 OK", headers)
            return [b""]
        location = self.published.zip_redirect(module, version) if kind == "zip" else None
        if location is None:
            return self.app(environ, start_response)  # streamed (and counted) by the app
        self.downloads.count(module, version)
        count_goproxy(kind, True, size)  # the bytes leave the object store, for this client
        start_response("302 FOUND", [("Location", location), ("Cache-Control", REDIRECT_CACHE),
                                     ("Content-Length", "0")])
        return [b""]

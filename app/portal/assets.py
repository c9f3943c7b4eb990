"""The portal's static files: fingerprinted names, gzip, cached for a year.

Each page used to revalidate 85–130 KB of CSS and JavaScript, uncompressed. Here a
file's URL carries a hash of its bytes (``depot.css`` is linked as
``depot.<hash>.css``), so a browser may keep it for a year without asking again
(``immutable``): a changed file gets a new name, and no page ever pairs with a stale
one. Files are read and compressed once, when the application starts; the plain name
still answers (revalidated each time), for links kept from before.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort, request

YEAR = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Types worth compressing; images such as the SVG favicon are tiny and stay as they are.
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
HASH_LENGTH = 12


@dataclass(frozen=True)
class Asset:
    """One static file as served: its bytes, their gzip form (when smaller) and hash."""

    name: str
    fingerprinted: str
    body: bytes
    gzipped: bytes | None
    mimetype: str
    digest: str


def fingerprinted_name(name: str, digest: str) -> str:
    """``vendor/htmx.min.js`` → ``vendor/htmx.min.<digest>.js``: the type stays last."""
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.rpartition(".")
    named = f"{stem}.{digest}.{ext}" if dot and stem else f"{base}.{digest}"
    return f"{folder}/{named}" if folder else named


_FINGERPRINT = re.compile(rf"\.[0-9a-f]{{{HASH_LENGTH}}}(?=\.[^./]+$|$)")


def _unfingerprinted(name: str) -> str:
    """``depot.0123456789ab.css`` → ``depot.css``: the name a fingerprint was put in."""
    return _FINGERPRINT.sub("", name, count=1)


def read_asset(folder: Path, path: Path) -> Asset:
    """The file at ``path`` (inside ``folder``), hashed and, when worth it, compressed."""
    body = path.read_bytes()
    name = path.relative_to(folder).as_posix()
    digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    gzipped = None
    if mimetype.startswith(COMPRESSIBLE):
        # mtime=0: the same bytes every start, so every replica sends the same ETag.
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        gzipped = packed if len(packed) < len(body) else None
    return Asset(name, fingerprinted_name(name, digest), body, gzipped, mimetype, digest)


class StaticFiles:
    """Every file under one folder, by plain and fingerprinted name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.by_name: dict[str, Asset] = {}
        self.by_fingerprint: dict[str, Asset] = {}
        self.load()

    def load(self) -> None:
        """Read the folder again (at start, and per page in debug mode)."""
        found = [read_asset(self.folder, p) for p in sorted(self.folder.rglob("*"))
                 if p.is_file() and not p.name.startswith(".")]
        self.by_name = {a.name: a for a in found}
        self.by_fingerprint = {a.fingerprinted: a for a in found}

    def url_name(self, name: str) -> str:
        """The name a page links to: fingerprinted for a file that exists."""
        asset = self.by_name.get(name)
        return asset.fingerprinted if asset else name

    def response(self, name: str) -> Response:
        """The file for either of its names; 404 for anything else.

        A fingerprint of other bytes (a page from before an upgrade, or from a replica
        a rolling deploy has not reached yet) gets today's file, revalidated each time:
        the page keeps its styles, and nothing is kept for a year under a name that
        says other bytes."""
        asset = self.by_fingerprint.get(name)
        cache = YEAR
        if asset is None:
            asset = self.by_name.get(name) or self.by_name.get(_unfingerprinted(name))
            cache = REVALIDATE
        if asset is None:
            abort(404)
        body, etag = asset.body, asset.digest
        if asset.gzipped is not None and "gzip" in request.accept_encodings:
            body, etag = asset.gzipped, f"{asset.digest}-gz"
        resp = Response(body, mimetype=asset.mimetype)
        if body is asset.gzipped:
            resp.headers["Content-Encoding"] = "gzip"
        if asset.gzipped is not None:
            resp.vary.add("Accept-Encoding")
        resp.headers["Cache-Control"] = cache
        resp.set_etag(etag)
        # In place: 304 for a matching ETag, 206 for one byte range.
        resp.make_conditional(request, accept_ranges=True, complete_length=len(body))
        return resp


def install(app: Flask, folder: Path) -> StaticFiles:
    """Serve ``folder`` at /static as the ``static`` endpoint, linked by fingerprint."""
    files = StaticFiles(folder)

    def static(filename: str) -> Response:
        return files.response(filename)

    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=static)

    @app.url_defaults
    def fingerprint(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            if app.debug:
                files.load()  # an edited file shows on the next page
            values["filename"] = files.url_name(values["filename"])

    return files

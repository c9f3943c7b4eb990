"""Checksum-database passthrough: ``/sumdb/<name>/supported|latest|lookup/…|tile/…``.

Clients behind Depot verify modules without reaching the database themselves.
Lookups and tiles never change once served, so they are cached on disk;
``latest`` (the signed tree head) moves and is always asked afresh.
"""

from __future__ import annotations

import fcntl
import os
import re
import uuid
from pathlib import Path

from flask import Blueprint, Response

from app.errors import NotFound, Unavailable
from app.fetch import ahead, upstream
from app.fetch.gotool import checksum_cache
from app.gomod.errors import GoModError
from app.gomod.paths import unescape_path
from app.resources import Services
from app.wiring import depot

bp = Blueprint("sumdb", __name__)

_REST = re.compile(
    r"^(latest|lookup/[A-Za-z0-9!._~+/-]+@[A-Za-z0-9!._~+-]+|"
    r"tile/[0-9]+/(data|[0-9]+)(/x[0-9]{3})*/[0-9]{3}(\.p/[0-9]+)?)$"
)


def _base(name: str) -> str:
    base = upstream.sumdb_base(depot().settings, name)
    if base is None:
        raise NotFound(f"checksum database {name!r} is not proxied here")
    return base


@bp.route("/sumdb/<name>/supported", methods=["GET", "HEAD"])
def supported(name: str) -> Response:
    _base(name)
    return Response("", status=200, mimetype="text/plain")


@bp.route("/sumdb/<name>/<path:rest>", methods=["GET", "HEAD"])
def passthrough(name: str, rest: str) -> Response:
    base = _base(name)
    if ".." in rest.split("/") or not _REST.match(rest):
        raise NotFound(f"{rest!r}: not a checksum database path")
    svc = depot()
    if rest.startswith("lookup/") and _private_lookup(svc, rest):
        # Passed on, the public database would ask the public proxy for the module: its
        # name would leave the company. The go command skips these paths itself when
        # GONOSUMDB names them, as Set Me Up says.
        raise NotFound("a private module (DEPOT_PRIVATE) is not in the public checksum "
                       "database; set GONOSUMDB to its path pattern (Set Me Up shows it)")
    ahead.note_walk(svc.settings)  # a client verifying what it walks: captures wait
    cacheable = rest != "latest"
    cached = _cached(svc, name, rest)
    if cacheable and cached.is_file():
        return _reply(cached.read_bytes(), immutable=True)
    fetched = _fetched_by_toolchain(svc, name, rest) if cacheable else None
    if fetched is None and cacheable:
        fetched = _prefix_of_full_tile(svc, name, rest)
    if fetched is not None:
        return _reply(fetched, immutable=True)
    try:
        status, body = upstream.sumdb_get(base, rest, svc.settings.upstream_timeout)
    except upstream.UpstreamUnavailable as exc:
        raise Unavailable(f"checksum database unreachable: {exc}") from exc
    if status in (404, 410):
        raise NotFound(f"checksum database has no {rest}")
    if status != 200:
        raise Unavailable(f"checksum database answered {status}")
    if cacheable:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{uuid.uuid4().hex}")
        tmp.write_bytes(body)
        os.replace(tmp, cached)
    return _reply(body, immutable=cacheable)


def _private_lookup(svc: Services, rest: str) -> bool:
    """Whether a ``lookup/<path>@<version>`` names a private module (its escaped path
    decoded as the database decodes it)."""
    escaped = rest.removeprefix("lookup/").rpartition("@")[0]
    try:
        module = unescape_path(escaped)
    except GoModError:
        return False  # not a path the database holds either: its own 404 says so
    return svc.settings.is_private(module)


def _fetched_by_toolchain(svc: Services, name: str, rest: str) -> bytes | None:
    """A lookup or tile the pipeline's go commands already read from the database.

    Why: a fetch-mode miss is captured by `go mod download`, which verifies the version
    against this database a moment before the client asks for the same lookup and
    tiles; reading them again cost the cold client 70–110 ms per tile (2026-12-04).
    The go command keeps them as the database served them (app/fetch/gotool.py
    share_checksum_tiles), and both kinds are immutable."""
    settings = svc.settings
    if name != settings.sumdb_name:
        return None
    found = checksum_cache(settings.checksum_tiles, settings.gosumdb) / "tiles" / name / rest
    try:
        with found.open("rb") as stream:
            # The go command writes these files under an flock: read under one too,
            # never a half-written tile.
            fcntl.flock(stream.fileno(), fcntl.LOCK_SH)
            body = stream.read()
    except OSError:
        return None
    return body or None


# A partial tile of hashes: tile/<height>/<level>/<index>.p/<width>.
_PARTIAL_HASH_TILE = re.compile(r"^tile/([0-9]+)/([0-9]+)((?:/x[0-9]{3})*/[0-9]{3})\.p/([0-9]+)$")
# Bytes of one hash in a tile (SHA-256).
HASH_SIZE = 32


def _prefix_of_full_tile(svc: Services, name: str, rest: str) -> bytes | None:
    """A partial tile of hashes cut from its full tile, when Depot or its go commands
    hold that one: a partial tile of width W is the first W hashes of the full tile
    (the transparency log's tiles only ever grow; the go command's own checksum
    client reads its cache the same way).

    Why: a client whose lookups carry an older tree size than the go command that
    fetched the same tiles a moment before asks for partial tiles the cache holds only
    whole; fetching them cost a cold walk 90 ms (two tiles, new connections)."""
    match = _PARTIAL_HASH_TILE.match(rest)
    if match is None:
        return None
    height, level, index, width = match.groups()
    full_width = 1 << int(height)
    if not 0 < int(width) < full_width:
        return None
    full = f"tile/{height}/{level}{index}"
    body = _fetched_by_toolchain(svc, name, full)
    if body is None:
        try:
            body = _cached(svc, name, full).read_bytes()
        except OSError:
            return None
    if len(body) != full_width * HASH_SIZE:
        return None
    return body[:int(width) * HASH_SIZE]


def _cached(svc: Services, name: str, rest: str) -> Path:
    """Where Depot keeps a checksum-database file it fetched itself."""
    return svc.settings.data_dir / "sumdb-cache" / name / rest


def _reply(body: bytes, immutable: bool) -> Response:
    resp = Response(body, mimetype="text/plain; charset=utf-8")
    resp.cache_control.public = True
    resp.cache_control.max_age = 365 * 24 * 3600 if immutable else 60
    return resp

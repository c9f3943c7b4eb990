"""Small direct calls to the upstream proxy and the checksum database.

Downloads go through the toolchain (it verifies); these calls only read the
mutable bits a proxy passes along: a module's version list and sumdb files.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import requests
import requests.adapters
from urllib3.util.ssl_ import create_urllib3_context

from app.config import Settings
from app.gomod import versions
from app.gomod.paths import escape_path, escape_version


class _OneTLSContext(requests.adapters.HTTPAdapter):
    """The new connections of a pool share one TLS context, its trusted certificates
    loaded once.

    Why: given a CA bundle's path (requests' own, or REQUESTS_CA_BUNDLE's), urllib3
    loads the whole bundle into a context of its own for each new connection: 19 of a
    new connection's 22 ms of CPU here (2026-12-06), where the handshake took 2. A
    cold walk opens a dozen connections at once (go.mods, checksum-database tiles,
    zips), on the cores the client walks with. A bundle replaced on disk is read again
    by the next process."""

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        bundle = getattr(conn, "ca_certs", None)
        if bundle and url.lower().startswith("https") and hasattr(conn, "conn_kw"):
            conn.conn_kw["ssl_context"] = _tls_context(bundle)
            conn.ca_certs = None  # the shared context holds them


@lru_cache(maxsize=4)
def _tls_context(bundle: str) -> ssl.SSLContext:
    context = create_urllib3_context()
    context.load_verify_locations(cafile=bundle)
    return context


def new_session() -> requests.Session:
    """A session for the upstream: one TLS context, Depot's user agent."""
    session = requests.Session()
    session.mount("https://", _OneTLSContext())
    session.headers["User-Agent"] = "depot (go module proxy)"
    return session


_session = new_session()
log = logging.getLogger("depot.upstream")

# A version list is asked on every `@v/list` in fetch mode: a slow upstream must not make
# Depot's own list slow. It gets this long, and after a failure the upstream is left
# alone for DEPOT_UPSTREAM_PAUSE seconds, Depot answering from what it holds (as the
# search does with its node).
LIST_TIMEOUT = 5.0
# The largest real version lists are a few thousand versions (tens of KiB). Reading more
# only lets an upstream make a web worker parse and sort for seconds: a 300,000-line list
# cost 40 s of CPU per request (issue 19). Past this, the list is cut at a line's end.
LIST_MAX_BYTES = 1 << 20
# The go command asks a module's list several times in one build, and every client asks
# it in fetch mode: the filtered, sorted list is held this long (a new upstream tag shows
# within it), for at most this many modules and versions in all (memory stays bounded).
LIST_TTL = 30.0
LIST_CACHE_MODULES = 1024
LIST_CACHE_VERSIONS = 250_000
_paused_until: dict[str, float] = {}
_pause_lock = threading.Lock()


def _pause(base: str, reason: str, seconds: float) -> None:
    with _pause_lock:
        first = _paused_until.get(base, 0.0) < time.monotonic()
        _paused_until[base] = time.monotonic() + seconds
    if first:
        log.warning("upstream %s failed (%s); answering from Depot alone for %.0f s",
                    base, reason, seconds)


def _is_paused(base: str) -> bool:
    with _pause_lock:
        return _paused_until.get(base, 0.0) > time.monotonic()


def paused(settings: Settings) -> bool:
    """Every upstream entry failed moments ago: a miss should not wait on it again."""
    entries = proxy_entries(settings.upstream)
    return bool(entries) and all(_is_paused(base) for base in entries)


class UpstreamUnavailable(Exception):
    """The upstream could not be asked (network, timeout, 5xx)."""


def proxy_entries(goproxy: str) -> list[str]:
    """The fetchable entries of a GOPROXY value (``direct`` and ``off`` dropped)."""
    out = []
    for part in goproxy.replace("|", ",").split(","):
        part = part.strip().rstrip("/")
        if part and part not in ("direct", "off"):
            out.append(part)
    return out


def _get(url: str, timeout: float, limit: int | None = None) -> tuple[int, bytes]:
    """Status and body of ``url``; with ``limit``, only the body's first bytes past it
    are read (one more than ``limit``, so that the caller sees it was cut)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        try:
            with path.open("rb") as f:
                return 200, f.read(-1 if limit is None else limit + 1)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return 404, b""
    try:
        resp = _session.get(url, timeout=timeout, stream=True)
        with resp:
            if resp.status_code >= 500:
                raise UpstreamUnavailable(f"upstream answered {resp.status_code}")
            return resp.status_code, read_capped(resp, limit, time.monotonic() + timeout)
    except requests.RequestException as exc:
        raise UpstreamUnavailable(f"{type(exc).__name__} reaching the upstream") from exc


def read_capped(resp: requests.Response, limit: int | None, deadline: float) -> bytes:
    """The body, stopped once past ``limit`` bytes (the rest is never downloaded); an
    upstream that trickles it past the deadline fails as a slow one does."""
    if limit is None:
        return resp.content
    body = bytearray()
    for chunk in resp.iter_content(64 << 10):
        body += chunk
        if len(body) > limit:
            break
        if time.monotonic() > deadline:
            raise UpstreamUnavailable("the upstream sent its answer too slowly")
    return bytes(body)


def _lines(module: str, body: bytes) -> list[str]:
    """The lines of a version list, cut at LIST_MAX_BYTES (the partial last line dropped)."""
    if len(body) > LIST_MAX_BYTES:
        log.warning("the upstream's version list of %s is over %d bytes: only its first "
                    "%d are read", module, LIST_MAX_BYTES, LIST_MAX_BYTES)
        body = body[: body.rfind(b"\n", 0, LIST_MAX_BYTES) + 1]
    return [line.strip() for line in body.decode(errors="replace").splitlines() if line]


def _ask_list(base: str, module: str, timeout: float) -> list[str] | None:
    """``base``'s ``@v/list`` of ``module`` (capped); None when it does not have it."""
    status, body = _get(f"{base}/{escape_path(module)}/@v/list", timeout, LIST_MAX_BYTES)
    return _lines(module, body) if status == 200 else None


def list_versions(settings: Settings, module: str) -> list[str] | None:
    """The first upstream's ``@v/list`` for ``module`` as it reads (capped at
    LIST_MAX_BYTES, not cached); None when no entry has it, and for a private module
    (DEPOT_PRIVATE), whose name the upstream never hears."""
    if settings.is_private(module):
        return None
    for base in proxy_entries(settings.upstream):
        if _is_paused(base):
            continue
        try:
            listed = _ask_list(base, module, min(settings.upstream_timeout, LIST_TIMEOUT))
        except UpstreamUnavailable as exc:
            _pause(base, str(exc), settings.upstream_pause)
            continue
        if listed is not None:
            return listed
    return None


# (upstream entry, module) -> (when it goes stale, its sorted tagged versions or None
# when the entry does not have the module); oldest first.
_lists: OrderedDict[tuple[str, str], tuple[float, tuple[str, ...] | None]] = OrderedDict()
_lists_held = 0  # versions in _lists, all entries together
_lists_lock = threading.Lock()


def tagged_list(settings: Settings, module: str) -> tuple[str, ...] | None:
    """The first upstream's tagged versions of ``module``, unique and in semver order;
    None when no entry has it. Filtered and sorted once per fetch, then held LIST_TTL
    seconds: the @v/list route would otherwise redo both on every request. None for a
    private module (DEPOT_PRIVATE): the upstream never hears its name."""
    if settings.is_private(module):
        return None
    for base in proxy_entries(settings.upstream):
        fresh, listed = _held_list(base, module)
        if not fresh:
            if _is_paused(base):
                continue
            try:
                listed = _fetch_tagged(base, module, settings)
            except UpstreamUnavailable as exc:
                _pause(base, str(exc), settings.upstream_pause)
                continue
        if listed is not None:
            return listed
    return None


def _fetch_tagged(base: str, module: str, settings: Settings) -> tuple[str, ...] | None:
    """Ask ``base`` for the list, keep its tagged versions sorted (and held)."""
    raw = _ask_list(base, module, min(settings.upstream_timeout, LIST_TIMEOUT))
    listed = None
    if raw is not None:
        listed = tuple(versions.sort_versions(dict.fromkeys(filter(versions.is_tagged, raw))))
    _hold_list(base, module, listed)
    return listed


def _held_list(base: str, module: str) -> tuple[bool, tuple[str, ...] | None]:
    """(whether a fresh answer is held for (base, module), that answer)."""
    with _lists_lock:
        held = _lists.get((base, module))
    if held is None or held[0] <= time.monotonic():
        return False, None
    return True, held[1]


def _hold_list(base: str, module: str, listed: tuple[str, ...] | None) -> None:
    """Keep ``listed`` for LIST_TTL seconds, dropping the oldest entries past the bounds."""
    global _lists_held
    with _lists_lock:
        old = _lists.pop((base, module), None)
        _lists_held -= len(old[1] or ()) if old else 0
        _lists[(base, module)] = (time.monotonic() + LIST_TTL, listed)
        _lists_held += len(listed or ())
        while len(_lists) > LIST_CACHE_MODULES or (_lists_held > LIST_CACHE_VERSIONS
                                                     and len(_lists) > 1):
            _, (_, dropped) = _lists.popitem(last=False)
            _lists_held -= len(dropped or ())


def forget_lists() -> None:
    """Drop every held version list (for tests that change an upstream's list mid-way)."""
    global _lists_held
    with _lists_lock:
        _lists.clear()
        _lists_held = 0


def fetch_zip(settings: Settings, module: str, version: str, dest: Path, limit: int) -> bool:
    """Copy the first upstream's zip of module@version to ``dest``, streamed.

    For explaining a download the go command gave up on without a clear
    reason: False when no entry serves it or it is larger than ``limit``
    (memory stays bounded either way: nothing is held whole).
    """
    return fetch_file(settings, module, version, "zip", dest, limit)


def fetch_file(settings: Settings, module: str, version: str, kind: str, dest: Path,
               limit: int) -> bool:
    """Copy the first upstream's .mod or .zip of module@version to ``dest`` (streamed,
    capped at ``limit``); False when no entry serves it. For the drift check, which
    must name the changed file when the go command refused the new bytes outright.
    False for a private module (DEPOT_PRIVATE): the upstream never hears its name."""
    if settings.is_private(module):
        return False
    rel = f"{escape_path(module)}/@v/{escape_version(version)}.{kind}"
    for base in proxy_entries(settings.upstream):
        try:
            if _copy_capped(f"{base}/{rel}", dest, limit, settings.upstream_timeout):
                return True
        except (OSError, requests.RequestException):
            continue
    return False


def connect(settings: Settings) -> None:
    """Open (or reuse) a connection to each http(s) upstream entry, kept in the pool for
    the fetches that follow. Why: a fresh connection took 65 ms before its first byte
    here (TLS; 4.5 ms since connections share one TLS context, :class:`_OneTLSContext`),
    and a graph load's threads each opened one just when the client began asking for
    zips; connected while the graph loads, that wait is gone."""
    for base in proxy_entries(settings.upstream):
        if not base.startswith(("http://", "https://")):
            continue
        try:
            _session.head(base + "/", timeout=settings.upstream_timeout).close()
        except requests.RequestException:
            pass  # the fetch that follows says what is wrong


def _chunks(url: str, timeout: float) -> Iterator[bytes] | None:
    """The body of ``url`` in 1 MiB pieces, or None when it is not there."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        source = Path(unquote(parsed.path))
        if not source.is_file():
            return None

        def read() -> Iterator[bytes]:
            with source.open("rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk

        return read()
    resp = _session.get(url, timeout=timeout, stream=True)
    if resp.status_code != 200:
        resp.close()
        return None
    return resp.iter_content(1 << 20)


def _copy_capped(url: str, dest: Path, limit: int, timeout: float) -> bool:
    chunks = _chunks(url, timeout)
    if chunks is None:
        return False
    size = 0
    with open(dest, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                return False
            out.write(chunk)
    return True


def sumdb_base(settings: Settings, name: str) -> str | None:
    """Where the checksum database ``name`` is read from, or None if not passed through."""
    if settings.sumdb_off or name != settings.sumdb_name:
        return None
    if settings.sumdb_url:
        return settings.sumdb_url
    for base in proxy_entries(settings.upstream):
        if base.startswith(("http://", "https://")):
            return f"{base}/sumdb/{name}"
    # As the go command does when GOSUMDB names a database without a URL.
    return f"https://{name}"


def sumdb_get(base: str, rest: str, timeout: float) -> tuple[int, bytes]:
    return _get(f"{base}/{rest}", timeout)


def sumdb_for_toolchain(settings: Settings) -> str:
    """A GOSUMDB value that reaches the database without the upstream in GOPROXY.

    The validator's only GOPROXY is Depot's own tree, so the go command cannot
    find the database through a proxy; name its URL explicitly instead (the go
    command accepts "name url" for a database whose key it knows).
    """
    if settings.sumdb_off or settings.sumdb_url:
        return settings.gosumdb
    base = sumdb_base(settings, settings.sumdb_name)
    return f"{settings.gosumdb.split()[0]} {base}" if base else settings.gosumdb

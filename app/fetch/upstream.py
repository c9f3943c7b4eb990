"""Small direct calls to the upstream proxy and the checksum database.

Downloads go through the toolchain (it verifies); these calls only read the
mutable bits a proxy passes along: a module's version list and sumdb files.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import requests

from app.config import Settings
from app.gomod.paths import escape_path, escape_version

_session = requests.Session()
_session.headers["User-Agent"] = "depot (go module proxy)"
log = logging.getLogger("depot.upstream")

# A version list is asked on every `@v/list` in fetch mode: a slow upstream must not make
# Depot's own list slow. It gets this long, and after a failure the upstream is left
# alone for DEPOT_UPSTREAM_PAUSE seconds, Depot answering from what it holds (as the
# search does with its node).
LIST_TIMEOUT = 5.0
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


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        try:
            return 200, path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return 404, b""
    try:
        resp = _session.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise UpstreamUnavailable(f"{type(exc).__name__} reaching the upstream") from exc
    if resp.status_code >= 500:
        raise UpstreamUnavailable(f"upstream answered {resp.status_code}")
    return resp.status_code, resp.content


def list_versions(settings: Settings, module: str) -> list[str] | None:
    """The first upstream's ``@v/list`` for ``module``; None when no entry has it."""
    for base in proxy_entries(settings.upstream):
        if _is_paused(base):
            continue
        timeout = min(settings.upstream_timeout, LIST_TIMEOUT)
        try:
            status, body = _get(f"{base}/{escape_path(module)}/@v/list", timeout)
        except UpstreamUnavailable as exc:
            _pause(base, str(exc), settings.upstream_pause)
            continue
        if status == 200:
            return [line.strip() for line in body.decode(errors="replace").splitlines() if line]
    return None


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
    must name the changed file when the go command refused the new bytes outright."""
    rel = f"{escape_path(module)}/@v/{escape_version(version)}.{kind}"
    for base in proxy_entries(settings.upstream):
        try:
            if _copy_capped(f"{base}/{rel}", dest, limit, settings.upstream_timeout):
                return True
        except (OSError, requests.RequestException):
            continue
    return False


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

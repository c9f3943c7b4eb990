"""What a go client sets to use this Depot: the one GOPROXY chain and GOSUMDB value
that every page and snippet shows (home, Set Me Up), built here and nowhere else.

Why one place: the home page and Set Me Up once carried two copies of the chain
and could disagree. The chain follows the settings: with ``DEPOT_ON_MISS=fetch``
Depot fetches a miss itself, so Depot alone is the whole chain (``direct`` is an
optional extra, explained on the page); with ``enqueue`` or ``404`` a miss is a
404, so the chain goes on to the upstream's public proxies, then ``direct``.
The URL is the one the visitor reached (ProxyFix rewrites it from
X-Forwarded-* when DEPOT_PROXY_FIX says how many proxies to trust).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from flask import request

from app.config import Settings
from app.wiring import depot

_SEPARATORS = re.compile(r"[,|]")


@dataclass(frozen=True)
class ClientSetup:
    """The values for one Depot URL; ``gosumdb`` is empty when Depot passes no
    checksum database through (``DEPOT_GOSUMDB=off``)."""

    depot_url: str
    chain: tuple[str, ...]
    gosumdb: str
    sumdb_name: str
    on_miss: str
    # DEPOT_ANONYMOUS=none: every route needs a token (docs/security.md).
    closed: bool = False
    # DEPOT_PRIVATE: paths Depot serves (with a token) that the public checksum database
    # must not be asked about: the client's GONOSUMDB.
    private: str = ""

    @property
    def needs_token(self) -> bool:
        """Whether the go command needs a token: a closed Depot, or one serving private
        modules (anonymous callers never see them)."""
        return self.closed or bool(self.private)

    @property
    def fetches_misses(self) -> bool:
        return self.on_miss == "fetch"

    @property
    def goproxy(self) -> str:
        return ",".join(self.chain)

    @property
    def goproxy_with_direct(self) -> str:
        """The chain with the optional ``direct`` fallback (the same chain if it has one)."""
        return self.goproxy if "direct" in self.chain else f"{self.goproxy},direct"

    @property
    def host(self) -> str:
        return urlsplit(self.depot_url).netloc


def public_upstreams(upstream: str) -> list[str]:
    """The http(s) proxies of a GOPROXY list, without credentials; ``direct``, ``off``
    and ``file://`` (a path on Depot's machine) mean nothing to a client and are left out."""
    found = []
    for entry in _SEPARATORS.split(upstream):
        entry = entry.strip()
        parts = urlsplit(entry)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        if clean not in found:
            found.append(clean)
    return found


def goproxy_chain(settings: Settings, depot_url: str) -> tuple[str, ...]:
    """Depot alone when it fetches misses itself; else Depot, then the proxies its
    upstream names that a client can reach, then ``direct`` (a miss is a 404 here)."""
    if settings.on_miss == "fetch":
        return (depot_url,)
    rest = [u for u in public_upstreams(settings.upstream) if u != depot_url]
    return (depot_url, *rest, "direct")


def gosumdb_through(settings: Settings, depot_url: str) -> str:
    """GOSUMDB naming Depot's passthrough (``/sumdb/<name>``) as the database's URL.

    The first word is the configured one (the toolchain's default name, or a full
    verifier key for a database the go command has no key for), never written here."""
    if settings.sumdb_off:
        return ""
    return f"{settings.gosumdb.split()[0]} {depot_url}/sumdb/{settings.sumdb_name}"


def client_setup(settings: Settings, depot_url: str) -> ClientSetup:
    depot_url = depot_url.rstrip("/")
    return ClientSetup(depot_url, goproxy_chain(settings, depot_url),
                       gosumdb_through(settings, depot_url), settings.sumdb_name,
                       settings.on_miss, settings.anonymous == "none", settings.private)


def this_depot() -> ClientSetup:
    """The setup for the URL of the request being answered."""
    return client_setup(depot().settings, request.url_root)

"""Set Me Up: how to point the go command at this Depot, with this server's own URL.

The URL is the one the visitor reached (behind a reverse proxy, ProxyFix
rewrites it from X-Forwarded-* when DEPOT_PROXY_FIX says how many proxies to
trust). The fallback chain is Depot, then the upstream Depot itself fetches
from (from configuration), then ``direct``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from flask import render_template, request

from app.portal.blueprint import bp
from app.wiring import depot

_SEPARATORS = re.compile(r"[,|]")


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


def fallback_chain(depot_url: str, upstream: str) -> list[str]:
    chain = [depot_url]
    chain += [u for u in public_upstreams(upstream) if u != depot_url]
    return chain + ["direct"]


@bp.route("/set-me-up")
def set_me_up() -> str:
    depot_url = request.url_root.rstrip("/")
    chain = fallback_chain(depot_url, depot().settings.upstream)
    return render_template(
        "portal/set_me_up.html", depot_url=depot_url, chain=chain, goproxy=",".join(chain),
        host=urlsplit(depot_url).netloc,
    )

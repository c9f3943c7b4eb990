"""Secrets out of everything Depot writes for people: logs, reasons, pages, webhooks.

Why one place: an operator's upstream may carry credentials (``DEPOT_UPSTREAM=
https://user:TOKEN@host``, or a token in its query), and so may the database, Redis,
search, S3 and webhook URLs. Any of them can come back inside an error text (a
client library quoting the URL it failed on), which then becomes a version's reason,
a log line, a page or a webhook. So the secrets of every setting this process has
seen are registered here, and :func:`redact` takes them, and any URL's userinfo, out
of a text; :func:`mask_url` shows a setting's URL without them. Text for the public
(reasons, webhooks, GOPROXY answers) also loses the server's folders (:func:`public`):
the log keeps them, for the operator.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK = "***"
# Any URL's userinfo ("scheme://user:password@host"), known to us or not. A scheme is
# tried only where a run of its characters begins: tried at every letter, a long word
# without "://" was scanned again from each of its letters (a 4,000-character GOPROXY
# path's reason took 30 ms to redact, 16,000 characters 0.5 s).
_USERINFO = re.compile(r"(?<![A-Za-z0-9+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"<>]+@")
# A registered secret shorter than this is hidden only inside URLs (by the userinfo
# rule): hiding a weak password such as "depot" wherever the word appears would mangle
# every text (module paths, logger names), and nothing prints a password bare.
_SHORTEST_SECRET = 8
# Depot's own tokens (app/auth/tokens.py: "depot_" and 43 URL-safe characters), wherever
# one appears: a token pasted into a search box, a form or a URL must not reach a log
# line, a reason or a webhook.
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])depot_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_pattern: re.Pattern[str] | None = None
# Server paths (and their file:// forms) and what a public text says instead.
_paths: dict[str, str] = {}
_path_pattern: re.Pattern[str] | None = None


def _split_list(value: str) -> list[str]:
    """The URLs of a list setting (GOPROXY's "a,b|c", webhooks' "a,b")."""
    return [part.strip() for part in re.split(r"[,|\s]+", value) if part.strip()]


def _token_like(name: str) -> bool:
    """A user name that is a credential rather than a name ("postgres", "depot" are
    not: hiding them everywhere would mangle every text)."""
    return len(name) >= 16 and any(c.isdigit() for c in name)


def secrets_in(url: str) -> set[str]:
    """The secret parts of one URL: its password (and whole userinfo), its query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return set()
    found: set[str] = set()
    if parts.password:
        found |= {parts.password, f"{parts.username or ''}:{parts.password}"}
    elif parts.username and _token_like(parts.username):
        found.add(parts.username)  # a token as the user name (https://TOKEN@host)
    try:
        query = parse_qsl(parts.query, keep_blank_values=False)
    except ValueError:
        query = []
    found |= {value for _, value in query}
    return {s for s in found if len(s) >= _SHORTEST_SECRET}


def register(urls: Iterable[str], bare: Iterable[str] = ()) -> None:
    """Remember the secrets of these settings' URLs (lists allowed), and ``bare`` secrets
    (a client secret), for :func:`redact`. Registering adds: a process that built several
    settings hides all of theirs. (A webhook's path, its credential, is kept out by the
    sender, which never prints it.)"""
    global _secrets, _pattern
    found = {value for value in bare if value and len(value) >= _SHORTEST_SECRET}
    for value in urls:
        for url in _split_list(value or ""):
            found |= secrets_in(url)
    with _lock:
        if found <= _secrets:
            return
        _secrets = _secrets | found
        # Longest first: a secret that holds another is hidden whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def register_paths(paths: dict[Path, str]) -> None:
    """Remember server folders (the data dir, a file:// store or upstream) and the label
    :func:`public` puts in their place: ``{Path("/var/lib/depot"): "<data dir>"}``."""
    global _path_pattern
    found: dict[str, str] = {}
    for path, label in paths.items():
        for form in {str(path), str(path.resolve())}:
            if len(form) > 1:  # never "/" itself
                found[Path(form).as_uri()] = label
                found[form] = label
    with _lock:
        if all(_paths.get(k) == v for k, v in found.items()):
            return
        _paths.update(found)
        ordered = sorted(_paths, key=len, reverse=True)
        # Whole path components only: a data dir of /data must not eat the "/data" of
        # github.com/x/data or /database.
        _path_pattern = re.compile(
            r"(?<![^\s'\"(=,:])(?:" + "|".join(re.escape(p) for p in ordered)
            + r")(?![^\s/'\")\],;:])")


def public(text: str) -> str:
    """``text`` for anyone to read (a reason on a page, in the API, a webhook, a
    GOPROXY answer): :func:`redact` and no folder of the server, only its label."""
    text = redact(text)
    pattern = _path_pattern
    if not text or pattern is None:
        return text
    return pattern.sub(lambda m: _paths[m.group(0)], text)


def redact(text: str) -> str:
    """``text`` with every registered secret, every URL's userinfo and every Depot
    token masked."""
    if not text:
        return text
    if "://" in text:  # the only place userinfo can be; the search costs every log line
        text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    if "depot_" in text:
        text = _TOKEN.sub("depot_" + MASK, text)
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None else text


def mask_url(value: str) -> str:
    """A URL setting (or a list of them) for display: userinfo and query values masked,
    a webhook-like path left as it is (use :func:`host_of` for those)."""

    def one(url: str) -> str:
        try:
            parts = urlsplit(url)
        except ValueError:
            return redact(url)
        if not parts.scheme or not parts.netloc:
            return redact(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
        query = "&".join(f"{key}={MASK}" for key, _ in parse_qsl(parts.query)) \
            if parts.query else ""
        return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    return re.sub(r"[^,|\s]+", lambda m: one(m.group(0)), value)


def host_of(url: str) -> str:
    """``scheme://host[:port]/…``: enough to tell webhooks apart, nothing to steal (a
    webhook's path and query are its credential)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:  # unparsable: show nothing of it rather than fail a log line
        return "<invalid URL>"
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{rest}"

"""Why a fetch failed, sorted into what a caller does about it.

Permanent failures end a request with the reason; transient ones may be retried.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.shorten import cut


class FetchError(Exception):
    """Base; ``permanent`` tells whether retrying can help."""

    permanent = True
    kind = "failed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UpstreamNotFound(FetchError):
    kind = "not_found"


class InvalidModule(FetchError):
    kind = "invalid"


class ChecksumMismatch(FetchError):
    """The upstream's bytes differ from the checksum database: a security event."""

    kind = "checksum_mismatch"


class ZipRulesBroken(FetchError):
    kind = "zip_rules"


class UpstreamWithheld(UpstreamNotFound):
    """The upstream will not give the version (the public proxy answers 403 "This module
    version is not available" for what it withholds, and some networks' proxies a bare 403
    for any path outside their allow-list, the go command's prefix probes included): not
    transient, and for Depot the same as not found, so nothing is kept of it (no empty
    module page)."""

    kind = "withheld"


class TransientFetchError(FetchError):
    permanent = False
    kind = "transient"


_CHECKSUM = re.compile(r"SECURITY ERROR|checksum mismatch|verifying .*: .*mismatch", re.I)
_NOT_FOUND = re.compile(
    r"404 Not Found|410 Gone|not found|unknown revision|no matching versions|"
    r"invalid version: unknown|no such file or directory|reading file://",
    re.I,
)
# The public proxy's 403 for a version it withholds, and any other 403: a network's module
# proxy answers hosts outside its allow-list with a bare one, which the go command prints
# without its body ("reading …/v0.6.3.info: 403 Forbidden"). HTTP says a 403 is not to be
# repeated as it was (RFC 9110, 15.5.4); tailscale.com v1.66.4 retried on one past its hour.
_WITHHELD = re.compile(r"403 Forbidden|module version is not available", re.I)
# The module@version a go command error is about ("go: M@V: reading …").
_NAMED = re.compile(r"(\S+@v[^\s:/]+):")
_INVALID = re.compile(
    r"malformed|invalid|does not match|has non-|disallowed|declares its path|"
    r"module path .* mismatch|unzip|zip: not a valid|has unexpected file",
    re.I,
)


def scrub(message: str, workdir: Path | None) -> str:
    """Drop the private work folder from the go command's text.

    Reasons are shown to users and stored; the worker's folders are nobody's
    business and differ on every run. ``unzip <cached zip>: why`` becomes ``why``.
    """
    if workdir is None:
        return message
    root = re.escape(str(workdir))
    message = re.sub(rf"unzip {root}\S*: ", "", message)
    return re.sub(rf"{root}/\S*?([^/\s]+)(?=[:\s]|$)", r"\1", message)


def classify(message: str, workdir: Path | None = None) -> FetchError:
    """Turn the go command's error text into a :class:`FetchError` (first line kept short).

    ``workdir``, the private folder the go command ran in, is left out of the reason.
    """
    text = cut(" ".join(scrub(message, workdir).split()), 600)  # the reason people read
    if _CHECKSUM.search(message):
        return ChecksumMismatch(f"checksum mismatch with the checksum database: {text}")
    if _WITHHELD.search(message):
        # Name what is withheld: in a build list's reason "it" read as the version asked.
        named = _NAMED.search(text)
        what = named.group(1) if named else "it"
        return UpstreamWithheld(f"the upstream withholds {what}: {text}")
    if _NOT_FOUND.search(message):
        return UpstreamNotFound(text)
    if _INVALID.search(message):
        return InvalidModule(text)
    return TransientFetchError(text)

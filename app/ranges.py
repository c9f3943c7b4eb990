"""Range requests Depot answers: exactly one byte range, or none at all.

werkzeug answers a Range it cannot serve as one part (several ranges such as
``bytes=0-1,2-3``, a unit other than bytes, bad syntax) with 416, which tells the client
its request can never succeed. RFC 9110 (section 14.2) lets a server ignore a Range header
field, and requires it for a unit the server does not know; so Depot drops any Range it
would not answer with a single part before anything answers the request (routes, the fast
path, bundles, static files): the client gets the whole file with a 200, as from a server
without range support. A single byte range keeps its 206 (or 416 when it starts past the
end), If-Range included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from werkzeug.http import parse_range_header


def single_byte_range(value: str) -> bool:
    """Whether a Range header value asks for one byte range: the only kind answered."""
    parsed = parse_range_header(value)
    return parsed is not None and parsed.units == "bytes" and len(parsed.ranges) == 1


class SingleRangeOnly:
    """WSGI middleware removing a Range header that asks for anything but one byte range."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        value = environ.get("HTTP_RANGE")
        if value is not None and not single_byte_range(value):
            del environ["HTTP_RANGE"]  # in place, as werkzeug's ProxyFix edits the environ
        return self.app(environ, start_response)

"""The little of htmx the server needs to know: is this request a fragment swap?

htmx marks its requests with ``HX-Request: true``. When it restores a page
from history it did not cache, it sends ``HX-History-Restore-Request`` too and
needs the whole page. Responses that differ by these headers say so in Vary,
so no cache hands a fragment to a full-page visit.
"""

from __future__ import annotations

from flask import Response, make_response, render_template, request


def is_fragment_request() -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def page_or_fragment(page: str, fragment: str, status: int = 200, **context: object) -> Response:
    """The fragment template for htmx, the full page (which includes it) otherwise."""
    template = fragment if is_fragment_request() else page
    resp = make_response(render_template(template, **context), status)
    resp.vary.add("HX-Request")
    resp.vary.add("HX-History-Restore-Request")
    return resp

"""The little of htmx the server needs to know: is this request a fragment swap?

htmx marks its requests with ``HX-Request: true``; htmx-flask (set up in
create_app) reads them into ``request.htmx``. When htmx restores a page from
history it did not cache, it sends ``HX-History-Restore-Request`` too and needs
the whole page. Responses that differ by these headers say so in Vary,
so no cache hands a fragment to a full-page visit. A fragment that stands for
a new page (it is pushed to the history) starts with that page's ``<title>``,
which htmx moves to the document, so the tab and the history entry name what
is shown (the search typed so far, the version picked).
"""

from __future__ import annotations

from flask import Response, current_app, make_response, render_template
from htmx_flask import request


def is_fragment_request() -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def page_or_fragment(
    page: str, fragment: str, status: int = 200, retitle: bool = False, **context: object
) -> Response:
    """The fragment template for htmx, the full page (which includes it) otherwise.

    ``retitle``: the fragment replaces the page in the history, so it brings the title.
    """
    if is_fragment_request():
        title = page_title(page, context) if retitle else ""
        body = title + render_template(fragment, **context)
    else:
        body = render_template(page, **context)
    resp = make_response(body, status)
    resp.vary.add("HX-Request")
    resp.vary.add("HX-History-Restore-Request")
    return resp


def page_title(page: str, context: dict[str, object]) -> str:
    """``<title>`` as the full page would have it, from its own ``title`` block."""
    template = current_app.jinja_env.get_template(page)
    block = template.blocks.get("title")
    if block is None:
        return ""
    variables = dict(context)
    current_app.update_template_context(variables)
    text = "".join(block(template.new_context(variables))).strip()
    return f"<title>{text} · Depot</title>\n"

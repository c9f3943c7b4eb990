"""Search: results as you type (htmx swaps the results, the URL follows), a
license filter, pagination; an empty result that names a module offers to
request it."""

from __future__ import annotations

from flask import Response, make_response, render_template, request

from app.inputs import whole_number
from app.portal.blueprint import bp
from app.portal.htmx import page_or_fragment
from app.search import InvalidQuery
from app.search.queries import SORTS, looks_like_module_path, split_target
from app.wiring import depot

PER_PAGE = 20
# The sort select's options, in a person's words.
SORT_LABELS = {"relevance": "Relevance", "insight": "Insight score", "used_by": "Most used",
               "published": "Recently published"}


def _page_number(raw: str | None) -> int:
    if raw in (None, ""):
        return 1
    page = whole_number(raw, 1, 10_000)
    if page is None:
        raise InvalidQuery("page must be a whole number from 1")
    return page


@bp.route("/search")
def search() -> Response:
    query = request.args.get("q", "")
    license = request.args.get("license", "")
    sort = request.args.get("sort", "") or SORTS[0]
    backend = depot().search
    context: dict = {"query": query, "license": license, "licenses": backend.licenses(),
                     "sort": sort, "sorts": [(key, SORT_LABELS[key]) for key in SORTS]}
    try:
        results = backend.search(query, license, _page_number(request.args.get("page")),
                                 PER_PAGE, sort)
    except InvalidQuery as exc:
        context.update(results=None, error=str(exc), request_target=None)
        return page_or_fragment("portal/search.html", "_partials/search_results.html", 400,
                                retitle=True, **context)
    target = None
    if results.total == 0 and looks_like_module_path(query):
        target = split_target(query)
    context.update(results=results, error=None, request_target=target)
    return page_or_fragment("portal/search.html", "_partials/search_results.html",
                            retitle=True, **context)


@bp.route("/search/suggest")
def suggest() -> Response:
    """Options for the search box's datalist (htmx fills it while typing)."""
    try:
        found = depot().search.autocomplete(request.args.get("q", ""), 8)
    except InvalidQuery:
        found = []
    resp = make_response(render_template("_partials/suggestions.html", suggestions=found))
    resp.cache_control.max_age = 30
    return resp

"""URLs of the portal: the module page's path converter and URL builders.

A module page lives at ``/<module path>`` or ``/<module path>@<version>``. Module
paths have a dot in their first element, so they never meet ``/search``,
``/static`` or ``/api``; GOPROXY URLs (``/<escaped path>/@v/…``, ``/@latest``)
have an element starting with ``@``, which this converter never matches. Tabs
are a query parameter (``?tab=versions``), which no other route uses.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import request
from werkzeug.routing import BaseConverter

# The module page's tabs, in order: the ?tab= value and the label (the page adds counts).
TAB_LABELS = (
    ("readme", "README"),
    ("doc", "Doc"),
    ("packages", "Packages"),
    ("files", "Files"),
    ("gomod", "Mod File"),
    ("dependencies", "Dependencies"),
    ("graph", "Graph"),
    ("compare", "Compare"),
    ("usedby", "Used By"),
    ("versions", "Versions"),
    ("license", "License"),
    ("licenses", "Dependency Licenses"),
    ("insight", "Insight"),
)
TABS = tuple(key for key, _label in TAB_LABELS)
# Depot's own views beyond GoCenter's tabs and the documentation's share one tab of the
# row, Insight (a second row names them when one is open): thirteen tabs took two rows
# at 1280 px.
INSIGHT_GROUP = (("insight", "Score"), ("graph", "Graph"), ("compare", "Compare"),
                 ("licenses", "Dependency Licenses"))
TAB_ROW = tuple((key, label) for key, label in TAB_LABELS
                if key not in dict(INSIGHT_GROUP)) + (("insight", "Insight"),)
DEFAULT_TAB = "readme"


class ModulePathConverter(BaseConverter):
    """``host.tld/elem/…`` optionally followed by ``@version``; no element starts with ``@``."""

    regex = r"[^/@]*\.[^/@]*(?:/[^/@]+)*(?:@[^/]+)?"
    part_isolating = False

    def to_url(self, value: str) -> str:
        return quote(value, safe="/@+~!")


def module_url(path: str, version: str | None = None, tab: str | None = None,
               **params: object) -> str:
    """``/<path>[@version][?tab=…&…]`` under the application root."""
    target = path + (f"@{version}" if version else "")
    query: dict[str, object] = {"tab": tab} if tab and tab != DEFAULT_TAB else {}
    query.update({k: v for k, v in params.items() if v not in (None, "")})
    url = request.script_root + "/" + quote(target, safe="/@+~!")
    return url + ("?" + urlencode(query) if query else "")

"""A README made safe to embed: Markdown rendered, then sanitized to an allow-list.

Markdown may carry raw HTML, so its output is untrusted: nh3 (ammonia) keeps
only the tags and attributes listed here, only http/https/mailto URLs, and no
scripts, styles, event handlers, frames, forms or SVG. Relative links and images
are pointed at the source repository (see repo.py). A README that is not
Markdown is shown as preformatted text.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

import markdown
import nh3
from markupsafe import Markup, escape

from app.content.repo import SourceRepo, rewrite

MARKDOWN_EXTENSIONS = ("fenced_code", "tables", "sane_lists", "def_list", "toc")
# Heading ids and in-page links get this prefix, so a README cannot reuse (clobber) the
# ids of the page around it.
ID_PREFIX = "readme-"
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkdn", ".mkd")

_HEADINGS = {f"h{n}" for n in range(1, 7)}
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "tt", "u", "ul", *_HEADINGS,
}
_ALIGN = {"align"}
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height", "align"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "p": _ALIGN,
    "div": _ALIGN,
    "ol": {"start"},
    "details": {"open"},
    **{h: _ALIGN | {"id"} for h in _HEADINGS},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener noreferrer"


def is_markdown(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() in MARKDOWN_SUFFIXES


def _url_filter(repo: SourceRepo | None) -> Callable[[str, str, str], str | None]:
    def keep(element: str, attribute: str, value: str) -> str | None:
        if attribute == "id":
            return value if value.startswith(ID_PREFIX) else ID_PREFIX + value
        if (element, attribute) == ("a", "href"):
            if value.startswith("#") and len(value) > 1 and not value.startswith("#" + ID_PREFIX):
                return "#" + ID_PREFIX + value[1:]
            return rewrite(value, repo, raw=False)
        if (element, attribute) == ("img", "src"):
            return rewrite(value, repo, raw=True)
        return value

    return keep


def sanitize(html: str, repo: SourceRepo | None = None) -> str:
    """Only allow-listed markup survives; URLs are rewritten, then checked once more."""
    rewritten = nh3.clean(
        html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=LINK_REL,
        attribute_filter=_url_filter(repo), strip_comments=True,
    )
    # A second pass without the filter: whatever the filter produced meets the same rules.
    return nh3.clean(
        rewritten, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=LINK_REL,
        strip_comments=True,
    )


_HEADING_TAG = re.compile(r"<(/?)h([1-6])\b", re.IGNORECASE)


def demote_headings(html: str) -> str:
    """h1→h2 … h5→h6: the page's own h1 is the module path, the README sits below it."""
    return _HEADING_TAG.sub(lambda m: f"<{m[1]}h{min(int(m[2]) + 1, 6)}", html)


def render_readme(name: str, text: str, repo: SourceRepo | None = None) -> Markup:
    """HTML for the README tab: Markdown rendered and sanitized, anything else as text."""
    if not is_markdown(name):
        return Markup('<pre class="readme-text">') + escape(text) + Markup("</pre>")
    html = markdown.markdown(text, extensions=list(MARKDOWN_EXTENSIONS), output_format="html")
    return Markup(sanitize(demote_headings(html), repo))  # noqa: S704 (sanitized here)

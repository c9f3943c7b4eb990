"""A README made safe to embed: Markdown rendered, then sanitized to an allow-list.

Real READMEs are GitHub-flavoured, so the renderer is markdown-it-py, a CommonMark
parser that is linear-time by design, with GitHub's extensions (tables,
strikethrough, autolinks, task lists, heading anchors); Python-Markdown, used
before, rendered lists without a blank line before them as text and took time
growing with the square of unmatched ``[`` (docs/portal.md). Each render also runs
under a time and memory bound (bounded.py); a README too slow to render is shown as
text, saying so.

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
from urllib.parse import quote, unquote

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markupsafe import Markup, escape
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from app.content.bounded import bounded
from app.content.repo import SourceRepo, is_absolute, rewrite

# GFM's autolinks: a URL with its scheme, a www. host, or an e-mail address. linkify-it
# also links a bare host ("github.com/o/r", and "README.md", .md being a TLD), which
# GitHub leaves as text.
_GFM_AUTOLINK = re.compile(r"(?:https?://|ftp://|www\.)", re.IGNORECASE)


def _gfm_autolinks(state: StateCore) -> None:
    """Unlink what linkify found that GitHub's autolink extension would not."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        tokens, kept, at = block.children, [], 0
        while at < len(tokens):
            token = tokens[at]
            # linkify's links are always link_open, text, link_close
            if (token.type == "link_open" and token.markup == "linkify"
                    and not str(token.attrGet("href") or "").startswith("mailto:")
                    and not _GFM_AUTOLINK.match(tokens[at + 1].content)):
                kept.append(tokens[at + 1])
                at += 3
                continue
            kept.append(token)
            at += 1
        block.children = kept


# GitHub's flavour: CommonMark, tables, strikethrough, autolinks ("linkify"), raw HTML
# (sanitized below), task lists and heading anchors as GitHub makes them.
_RENDERER = (MarkdownIt("gfm-like", {"html": True, "linkify": True, "typographer": False})
             .use(tasklists_plugin).use(anchors_plugin, max_level=6))
_RENDERER.core.ruler.after("linkify", "gfm_autolinks", _gfm_autolinks)
# GFM's strikethrough is <del> (markdown-it writes <s>).
_RENDERER.add_render_rule("s_open", lambda self, tokens, idx, options, env: "<del>")
_RENDERER.add_render_rule("s_close", lambda self, tokens, idx, options, env: "</del>")
# The one class a README may set: its fenced code's language.
_LANGUAGE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
# A table cell's alignment as GitHub writes it (the sanitizer keeps no style attribute).
_ALIGNED = re.compile(r'<(th|td) style="text-align:(left|center|right)">')
# A task list's checkbox (an <input>, which the sanitizer drops) becomes its character.
_TASK_BOX = re.compile(r'<input class="task-list-item-checkbox"( checked="checked")?'
                       r' disabled="disabled" type="checkbox"\s*/?>')
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
    "code": {"class"},  # a fenced block's language, "language-go" only (see _url_filter)
    "details": {"open"},
    **{h: _ALIGN | {"id"} for h in _HEADINGS},
}
# An image the README shows that is in the version's zip: ``depot-file:<path in the
# zip>``, made a URL of Depot's own at page time (app/portal/contents.py), so the README
# shows its pictures without reaching the repository host (an air-gapped network).
ZIP_FILE_SCHEME = "depot-file"
URL_SCHEMES = {"http", "https", "mailto", ZIP_FILE_SCHEME}
# What Depot shows of a zip's files as images (app/portal/zip_images.py serves them).
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".webp": "image/webp", ".svg": "image/svg+xml",
               ".avif": "image/avif", ".bmp": "image/bmp", ".ico": "image/x-icon"}
LINK_REL = "nofollow noopener noreferrer"


def is_markdown(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() in MARKDOWN_SUFFIXES


def image_in_zip(src: str, images: frozenset[str], repo: SourceRepo | None) -> str | None:
    """The zip path of a README image written as a relative URL, when the zip holds it."""
    value = src.strip()
    if not value or value.startswith("#") or is_absolute(value):
        return None
    path = unquote(value.split("#", 1)[0].split("?", 1)[0])
    if path.startswith("/"):  # the repository's root, as the hosts read it
        path = path.lstrip("/")
        subdir = repo.subdir + "/" if repo is not None and repo.subdir else ""
        if subdir:
            if not path.startswith(subdir):
                return None
            path = path[len(subdir):]
    path = posixpath.normpath(path)
    if path.startswith("..") or path == ".":
        return None
    if posixpath.splitext(path)[1].lower() not in IMAGE_TYPES:
        return None
    return path if path in images else None


def _url_filter(repo: SourceRepo | None, images: frozenset[str] = frozenset()
                ) -> Callable[[str, str, str], str | None]:
    def keep(element: str, attribute: str, value: str) -> str | None:
        if attribute == "id":
            return value if value.startswith(ID_PREFIX) else ID_PREFIX + value
        if attribute == "class":
            return value if _LANGUAGE.fullmatch(value) else None
        if (element, attribute) == ("a", "href"):
            if value.startswith("#") and len(value) > 1 and not value.startswith("#" + ID_PREFIX):
                return "#" + ID_PREFIX + value[1:]
            return rewrite(value, repo, raw=False)
        if (element, attribute) == ("img", "src"):
            held = image_in_zip(value, images, repo)
            if held is not None:
                return f"{ZIP_FILE_SCHEME}:{quote(held)}"
            return rewrite(value, repo, raw=True)
        return value

    return keep


def sanitize(html: str, repo: SourceRepo | None = None,
             images: frozenset[str] = frozenset()) -> str:
    """Only allow-listed markup survives; URLs are rewritten, then checked once more."""
    rewritten = nh3.clean(
        html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=LINK_REL,
        attribute_filter=_url_filter(repo, images), strip_comments=True,
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


def markdown_html(text: str) -> str:
    """Markdown to (unsanitized) HTML, GitHub's flavour, in this process: callers with
    untrusted text use :func:`render_markdown`, which bounds it."""
    html = _RENDERER.render(text)
    html = _ALIGNED.sub(r'<\1 align="\2">', html)
    return _TASK_BOX.sub(lambda m: "\u2611" if m[1] else "\u2610", html)


def render_markdown(text: str,
                    finish: Callable[[str], str] = lambda html: html) -> str | None:
    """:func:`markdown_html`, then ``finish`` (sanitizing: html5ever on 50,000 nested
    tags took seconds too), under the time and memory bounds; None when too slow or
    too big."""
    return bounded(lambda source: finish(markdown_html(source)), text)


TOO_SLOW = ("This README took too long to render, so it is shown as plain text.")


def render_readme(name: str, text: str, repo: SourceRepo | None = None,
                  images: frozenset[str] = frozenset()) -> Markup:
    """HTML for the README tab: Markdown rendered and sanitized, anything else (and a
    Markdown README too slow to render) as text. ``images``: the zip's image files; a
    relative image among them is shown from Depot (ZIP_FILE_SCHEME)."""
    as_text = Markup('<pre class="readme-text">') + escape(text) + Markup("</pre>")
    if not is_markdown(name):
        return as_text
    html = render_markdown(text, finish=lambda html: sanitize(demote_headings(html), repo,
                                                              images))
    if html is None:
        return Markup('<p class="readme-note">') + escape(TOO_SLOW) + Markup("</p>") + as_text
    return Markup(html)  # sanitized in render_markdown's finish

"""Documentation as HTML: declarations with their names linked, doc comments with their
doc links resolved to Depot's pages.

The helper marks where a name in a declaration points (a package and a symbol); which
URL that is depends on what Depot holds, so it is decided here, per page: a package of
the same module links to the same version; one of another module that Depot holds, to
the version this module requires; the standard library and modules Depot lacks are
not linked (Depot has no pages for them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape


def is_standard(import_path: str) -> bool:
    """The go command's rule: a standard library path has no dot in its first element."""
    return "." not in import_path.split("/", 1)[0]


def _quoted(target: str) -> str:
    return quote(target, safe="/@+~!")


@dataclass(frozen=True)
class Linker:
    """Where links of one version's documentation go (see the module's docstring).

    ``held``: module paths this version requires that Depot holds, with the version
    required; ``root``: the application's URL root; ``pinned``: whether links within
    the module name the version (the page's URL did)."""

    module: str
    version: str
    held: Mapping[str, str]
    root: str = ""
    pinned: bool = True

    def package_url(self, import_path: str) -> str | None:
        if import_path == self.module or import_path.startswith(self.module + "/"):
            at = f"@{self.version}" if self.pinned else ""
            return f"{self.root}/{_quoted(import_path + at)}"
        if is_standard(import_path):
            return None
        owner = max((m for m in self.held
                     if import_path == m or import_path.startswith(m + "/")),
                    key=len, default=None)
        if owner is None:
            return None
        return f"{self.root}/{_quoted(import_path + '@' + self.held[owner])}"

    def url(self, import_path: str, name: str) -> str | None:
        """The URL of ``name`` in the package ``import_path`` ("": the page's own)."""
        if not import_path:
            return f"#{name}" if name else None
        page = self.package_url(import_path)
        if page is None:
            return None
        if not name:
            return page
        # A module's root package is documented on its page's Doc tab, not the README.
        if import_path == self.module or import_path in self.held:
            return f"{page}?tab=doc#{name}"
        return f"{page}#{name}"


def decl_html(decl: Mapping[str, Any], linker: Linker) -> Markup:
    """A declaration's text, escaped, with its marked names as links."""
    text: str = decl.get("text", "")
    out: list[str] = []
    at = 0
    for link in sorted(decl.get("links") or [], key=lambda lk: lk["start"]):
        start, end = int(link["start"]), int(link["end"])
        if start < at or end > len(text) or start >= end:
            continue  # overlapping or out of range: never from the helper, but text stays whole
        url = linker.url(link.get("path", ""), link.get("name", ""))
        if url is None:
            continue
        out.append(str(escape(text[at:start])))
        title = link.get("path") or ""
        out.append(f'<a href="{escape(url)}"'
                   + (f' title="{escape(title)}"' if title else "")
                   + f">{escape(text[start:end])}</a>")
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


# What go/doc/comment's printer made of a doc link to another package (helper/main.go's
# docLinkURL); its printer escapes the text and the URL, so a plain pattern is exact.
_PACKAGE_LINK = re.compile(r'<a href="depot-pkg:([^"#]*)(?:#([^"]*))?">(.*?)</a>', re.S)


def doc_html(html: str, linker: Linker) -> Markup:
    """A doc comment's HTML (made by the Go toolchain's own comment printer, so
    escaped) with its links to other packages resolved, or unlinked where Depot has no
    page for them."""

    def resolve(match: re.Match[str]) -> str:
        url = linker.url(match.group(1), match.group(2) or "")
        if url is None:
            return f'<span class="doc-ref">{match.group(3)}</span>'
        return f'<a href="{escape(url)}">{match.group(3)}</a>'

    return Markup(_PACKAGE_LINK.sub(resolve, html))


def anchor(func: Mapping[str, Any]) -> str:
    """``Name``, or ``Type.Method`` for a method (pkg.go.dev's anchors)."""
    recv = str(func.get("recv") or "").lstrip("*").split("[", 1)[0]
    return f"{recv}.{func['name']}" if recv else str(func["name"])


def example_anchor(owner: str, example: Mapping[str, Any]) -> str:
    """``example-Name_suffix`` as pkg.go.dev names them (``example-package`` for the
    package's own)."""
    name = owner or "package"
    suffix = example.get("suffix") or ""
    return f"example-{name}" + (f"-{suffix}" if suffix else "")

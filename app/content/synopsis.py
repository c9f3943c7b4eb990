"""A module's synopsis: the first paragraph of its README, as plain text.

Headings, badges (image-only paragraphs), HTML blocks and code are skipped, so
the synopsis says what the module is rather than what its CI status is.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from app.content.readme import is_markdown, render_markdown

MAX_LENGTH = 240
_SPACE = re.compile(r"\s+")
_RULE = re.compile(r"^[=\-*#~_ ]+$")


class _FirstParagraph(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # inside a top-level <p>
        self.current: list[str] = []
        self.found = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "p":
            self.depth += 1
            if self.depth == 1:
                self.current = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self.depth:
            self.depth -= 1
            if self.depth == 0 and not self.found:
                self.found = _SPACE.sub(" ", "".join(self.current)).strip()

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.current.append(data)


def _shorten(text: str) -> str:
    if len(text) <= MAX_LENGTH:
        return text
    cut = text[:MAX_LENGTH].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


def synopsis(name: str, text: str) -> str:
    """The first paragraph with words in it, shortened to about MAX_LENGTH characters."""
    html = render_markdown(text[:65536]) if is_markdown(name) else None
    if html is not None:
        parser = _FirstParagraph()
        parser.feed(html)
        parser.close()
        return _shorten(parser.found)
    # Not Markdown, or too slow to render as such: its first paragraph as text.
    for block in re.split(r"\n\s*\n", text[:65536]):
        lines = [line.strip() for line in block.strip().splitlines()]
        if len(lines) <= 2 and lines and _RULE.match(lines[-1]):
            continue  # a title with its underline, or a ruler
        words = _SPACE.sub(" ", block).strip()
        if words:
            return _shorten(words)
    return ""

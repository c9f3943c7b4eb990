"""README rendering: Markdown in, sanitized HTML out, nothing executable survives."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from app.content.readme import render_readme, sanitize
from app.content.repo import source_repo
from tests.fixtures.catalog import XSS_README

ALLOWED_SCHEMES = ("http:", "https:", "mailto:")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        self.tags.append(tag)
        self.attrs += [(tag, name, value or "") for name, value in attrs]


def parse(html: str) -> _Collect:
    found = _Collect()
    found.feed(html)
    found.close()
    return found


def assert_inert(html: str) -> None:
    """No element, attribute or URL through which a browser would run script or load a frame."""
    found = parse(html)
    forbidden = {"script", "style", "iframe", "object", "embed", "svg", "math", "form", "input",
                 "button", "link", "meta", "base", "video", "audio", "source", "marquee",
                 "body", "frame", "frameset", "noscript", "template", "textarea", "select"}
    assert not forbidden & set(found.tags), forbidden & set(found.tags)
    for tag, name, value in found.attrs:
        assert not name.startswith("on"), (tag, name, value)
        assert name not in ("style", "srcset", "srcdoc", "formaction", "action", "name"), name
        if name in ("href", "src"):
            cleaned = re.sub(r"[\x00-\x20]", "", value).lower()
            assert cleaned.startswith(ALLOWED_SCHEMES) or cleaned.startswith("#"), (tag, value)
        if name == "id":
            assert value.startswith("readme-"), value


def test_the_xss_corpus_renders_inert_and_keeps_the_text():
    html = render_readme("README.md", XSS_README)
    assert_inert(html)
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "The end." in html
    assert "alert" not in re.sub(r">[^<]*<", "><", html)  # only as escaped text, never markup


@pytest.mark.parametrize("vector", [line for line in XSS_README.splitlines() if "<" in line
                                    or "](" in line])
def test_each_vector_alone_is_inert(vector: str):
    assert_inert(render_readme("README.md", vector))
    assert_inert(sanitize(vector))


def test_plain_text_readme_is_escaped_in_pre():
    html = render_readme("README", "<script>alert(1)</script>\n**not bold**")
    assert html.startswith('<pre class="readme-text">')
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "**not bold**" in html


def test_relative_links_and_images_point_at_the_repository_tag():
    text = "[guide](docs/guide.md) [root](/CHANGELOG.md) ![logo](img/logo.png) [up](../x.md)"
    html = render_readme("README.md", text, source_repo("github.com/o/r/sub", "v1.2.0"))
    assert 'href="https://github.com/o/r/blob/sub/v1.2.0/sub/docs/guide.md"' in html
    assert 'href="https://github.com/o/r/blob/sub/v1.2.0/CHANGELOG.md"' in html
    assert 'src="https://github.com/o/r/raw/sub/v1.2.0/sub/img/logo.png"' in html
    assert 'href="https://github.com/o/r/blob/sub/v1.2.0/x.md"' in html
    assert 'rel="nofollow noopener noreferrer"' in html


def test_images_the_zip_holds_are_marked_to_be_shown_from_depot():
    """An air-gapped Depot cannot reach the repository host; it holds the zip's files."""
    images = frozenset({"img/logo.png", "docs/a b.svg"})
    text = ("![logo](img/logo.png) ![also](./img/../img/logo.png?raw=true) "
            "![space](docs/a%20b.svg) ![missing](img/other.png) ![up](../img/logo.png) "
            "![root](/sub/img/logo.png) ![text](img/logo.txt)")
    html = render_readme("README.md", text, source_repo("github.com/o/r/sub", "v1.2.0"), images)
    assert html.count('src="depot-file:img/logo.png"') == 3  # the root-relative one too
    assert 'src="depot-file:docs/a%20b.svg"' in html
    assert 'src="https://github.com/o/r/raw/sub/v1.2.0/sub/img/other.png"' in html
    assert "depot-file:../" not in html and "depot-file:img/logo.txt" not in html
    # Without a known host, a held image still shows; an unknown one is dropped.
    bare = render_readme("README.md", "![a](img/logo.png) ![b](img/x.png)", None, images)
    assert 'src="depot-file:img/logo.png"' in bare and "img/x.png" not in bare


def test_relative_links_are_dropped_when_the_repository_is_unknown():
    html = render_readme("README.md", "[guide](docs/guide.md) ![logo](img/logo.png) "
                                      "[abs](https://example.com/x)", None)
    assert "docs/guide.md" not in html and "img/logo.png" not in html
    assert 'href="https://example.com/x"' in html


def test_headings_get_prefixed_ids_and_anchors_follow():
    html = render_readme("README.md", "# Install It\n\n[go](#install-it)\n\n<h2 id='main'>x</h2>")
    assert 'id="readme-install-it"' in html and 'href="#readme-install-it"' in html
    assert 'id="readme-main"' in html and 'id="main"' not in html


def test_headings_move_one_level_down_below_the_pages_h1():
    html = render_readme("README.md", "# One\n\n## Two\n\n###### Six\n\n<H1>raw</H1>")
    assert "<h1" not in html.lower()
    assert html.count("<h2") == 2 and "<h3" in html and "<h6" in html

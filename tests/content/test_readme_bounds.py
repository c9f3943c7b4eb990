"""README rendering under attack and on GitHub's flavour (issue 19, defect 2).

Python-Markdown took time growing with the square of unmatched ``[`` (4,000: 16 s;
200,000: never), in the web worker answering the page. Each pathological input here is
timed on the render function itself, not on a page."""

from __future__ import annotations

import time

import pytest

from app.content.bounded import SECONDS, bounded
from app.content.readme import TOO_SLOW, render_readme
from app.content.synopsis import synopsis

PATHOLOGICAL = {
    "unmatched brackets": "Small README.\n\n" + "[" * 200_000,
    "nested brackets": "[" * 50_000 + "]" * 50_000,
    "link openers": "[a](" * 50_000,
    "emphasis runs": "*a " * 100_000,
    "underscores": "_" * 200_000,
    "deep lists": "".join("  " * i + "- x\n" for i in range(3_000)),
    "deep quotes": ">" * 100_000 + " x",
    "huge table": "|a|b|\n|-|-|\n" + "|x|y|\n" * 50_000,
    "long line": "x" * 1_000_000,
    "backticks": "`" * 100_000,
    "raw html": "<div>" * 50_000,
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_a_pathological_readme_renders_within_its_bound(name: str) -> None:
    began = time.monotonic()
    html = render_readme("README.md", PATHOLOGICAL[name])
    took = time.monotonic() - began
    assert took < SECONDS + 2, (name, took)
    assert html  # rendered, or shown as text with the note


@pytest.mark.parametrize("name", ["unmatched brackets", "deep lists", "emphasis runs"])
def test_a_pathological_synopsis_is_bounded_too(name: str) -> None:
    began = time.monotonic()
    synopsis("README.md", PATHOLOGICAL[name])
    assert time.monotonic() - began < SECONDS + 2


def _spin(_text: str) -> str:
    while True:
        pass


def _hog(_text: str) -> str:
    return "x" * (4 * 2**30)


def test_a_render_too_slow_or_too_big_is_cut_off() -> None:
    began = time.monotonic()
    assert bounded(_spin, "x", seconds=1.0) is None
    assert time.monotonic() - began < 3
    assert bounded(_hog, "x", memory=256 * 2**20) is None
    assert bounded(str.upper, "réadme ✓") == "RÉADME ✓"


def test_a_readme_too_slow_to_render_is_shown_as_text_saying_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from app.content import readme

    monkeypatch.setattr(readme, "render_markdown", lambda text, finish=None: None)
    html = str(render_readme("README.md", "# Title\n\n<b>bold</b>"))
    assert TOO_SLOW in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "<h2" not in html


# GitHub's flavour: what github.com renders for each construct (the fragments are the
# HTML GitHub serves for them, ids prefixed and headings demoted as Depot's pages do).
GFM = [
    ("a list without a blank line before it (cobra's README)",
     "Cobra provides:\n* Easy subcommand-based CLIs\n* Fully POSIX-compliant flags\n",
     ["<p>Cobra provides:</p>", "<li>Easy subcommand-based CLIs</li>",
      "<li>Fully POSIX-compliant flags</li>"]),
    ("a table with alignment", "| a | b |\n|---|:-:|\n| 1 | 2 |\n",
     ["<th>a</th>", '<th align="center">b</th>', '<td align="center">2</td>']),
    ("fenced code with a language", "```go\nfmt.Println(\"hi\")\n```\n",
     ['<pre><code class="language-go">fmt.Println("hi")']),
    ("a task list", "- [x] done\n- [ ] to do\n", ["<li>\u2611 done</li>", "<li>\u2610 to do</li>"]),
    ("an autolink", "See https://pkg.go.dev/fmt for more.",
     ['<a href="https://pkg.go.dev/fmt" rel="nofollow noopener noreferrer">'
      "https://pkg.go.dev/fmt</a>"]),
    ("strikethrough", "~~old~~ new", ["<del>old</del> new"]),
    ("heading anchors", "## Getting Started\n\n[start](#getting-started)",
     ['<h3 id="readme-getting-started">Getting Started</h3>',
      '<a href="#readme-getting-started" rel="nofollow noopener noreferrer">start</a>']),
]


@pytest.mark.parametrize("what, text, fragments", GFM, ids=[g[0] for g in GFM])
def test_readmes_render_as_github_flavoured_markdown(what: str, text: str,
                                                     fragments: list[str]) -> None:
    html = str(render_readme("README.md", text))
    for fragment in fragments:
        assert fragment in html, (what, html)

"""READMEs of real modules render as GitHub renders them (GitHub-flavoured Markdown).

tests/data/readmes/ holds, for each module, an excerpt of its README (``<name>.md``,
its first line saying which module, version and license) and the HTML fragments that
GitHub's renderer produces for the constructs in it (``<name>.json``): written from
the GFM spec (CommonMark with the tables, strikethrough, autolink and task-list
extensions), then adapted to what Depot does on purpose: headings one level down, ids
prefixed ``readme-`` (and in-page links with them), task boxes as ☑/☐, a table cell's
alignment as ``align``, links with ``rel="nofollow noopener noreferrer"``, relative
links to the source repository at the version's tag, and the sanitizer's allow-list.

The network test renders each whole README, from the module's zip on the Go module
proxy, and finds the same fragments: the excerpts are faithful.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
import requests

from app.config import toolchain_default
from app.content.readme import render_readme
from app.content.repo import source_repo
from tests.conftest import GO

DATA = Path(__file__).resolve().parent.parent / "data" / "readmes"
_HEADER = re.compile(r"<!-- excerpt of (\S+)@(\S+) README\.md, ([^ ]+) -->")
# Only the whitespace between two tags is normalised: text, and the tags themselves,
# must match exactly.
_BETWEEN_TAGS = re.compile(r">\s+<")


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for excerpt in sorted(DATA.glob("*.md")):
        header = _HEADER.match(excerpt.read_text(encoding="utf-8").splitlines()[0])
        assert header, f"{excerpt.name}: first line names the module, version and license"
        cases.append((excerpt.stem, header[1], header[2]))
    return cases


CASES = _cases()


def _normal(html: str) -> str:
    return _BETWEEN_TAGS.sub("><", html)


def _expected(name: str) -> list[dict[str, str]]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def _assert_fragments(name: str, html: str) -> None:
    rendered = _normal(html)
    missing = [(e["feature"], e["html"]) for e in _expected(name)
               if _normal(e["html"]) not in rendered]
    assert not missing, f"{name}: not rendered as GitHub does: {missing}\n\n{html}"


def test_twenty_modules_cover_every_construct():
    assert len(CASES) == 20
    features = " ".join(e["feature"] for name, _, _ in CASES for e in _expected(name))
    for construct in ("list right after a paragraph line", "table", "alignment",
                      "fenced code with language", "task list", "bare URL autolink",
                      "strikethrough", "heading anchor", "raw HTML", "relative link"):
        assert construct in features, construct


@pytest.mark.parametrize("name, module, version", CASES, ids=[c[0] for c in CASES])
def test_the_excerpt_renders_as_github_does(name: str, module: str, version: str):
    text = (DATA / f"{name}.md").read_text(encoding="utf-8")
    _assert_fragments(name, str(render_readme("README.md", text,
                                              source_repo(module, version))))


def test_the_checks_fail_on_markdown_left_as_text():
    """A list as inline asterisks, a table as pipes or a task box as brackets fails."""
    def rendered(name: str, old: str, new: str) -> str:
        text = (DATA / f"{name}.md").read_text(encoding="utf-8").replace(old, new)
        module, version = next((m, v) for n, m, v in CASES if n == name)
        return str(render_readme("README.md", text, source_repo(module, version)))

    for name, old, new in (("cobra", "Cobra provides:\n*", "Cobra provides:\n\\*"),
                           ("zerolog", "| :--", "| ::--"),
                           ("swag", "- [x] Basic Structure", "- \\[x] Basic Structure"),
                           ("circl", "~~[SIDH", "\\~~[SIDH")):
        with pytest.raises(AssertionError):
            _assert_fragments(name, rendered(name, old, new))


def _readme_from_proxy(module: str, version: str) -> str:
    escaped = re.sub(r"[A-Z]", lambda m: "!" + m[0].lower(), module)
    # The toolchain's own default proxy: no registry's host name written here.
    proxy = toolchain_default(GO, "GOPROXY").split(",")[0].rstrip("/")
    try:
        answer = requests.get(f"{proxy}/{escaped}/@v/{version}.zip", timeout=60)
    except requests.RequestException as error:
        pytest.skip(f"the Go module proxy is unreachable: {error}")
    if answer.status_code != 200:
        pytest.skip(f"the Go module proxy answered {answer.status_code} for {module}@{version}")
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        return archive.read(f"{module}@{version}/README.md").decode("utf-8")


@pytest.mark.network
@pytest.mark.parametrize("name, module, version", CASES, ids=[c[0] for c in CASES])
def test_the_whole_readme_renders_the_same_fragments(name: str, module: str, version: str):
    text = _readme_from_proxy(module, version)
    _assert_fragments(name, str(render_readme("README.md", text,
                                              source_repo(module, version))))

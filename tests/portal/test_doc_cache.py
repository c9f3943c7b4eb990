"""The rendered-documentation cache: bounded by bytes, least recently used out first,
small renderings not kept, and a package page the same from the cache as made anew."""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup

from app.portal.doc_cache import RENDERED, RenderedDocs
from tests.fixtures.docs_module import DOCS, DOCS_VERSION
from tests.portal.test_packages import page


def _made(text: str, calls: list[str]):  # type: ignore[no-untyped-def]
    def render() -> Markup:
        calls.append(text)
        return Markup(text)
    return render


def test_a_kept_rendering_is_not_made_again() -> None:
    cache, calls = RenderedDocs(max_bytes=1000, min_bytes=10), []
    assert cache.get("a", _made("x" * 100, calls)) == "x" * 100
    assert cache.get("a", _made("y" * 100, calls)) == "x" * 100
    assert calls == ["x" * 100] and (cache.hits, cache.misses) == (1, 1)


def test_small_and_huge_renderings_are_not_kept() -> None:
    cache, calls = RenderedDocs(max_bytes=1000, min_bytes=10), []
    cache.get("small", _made("tiny", calls))
    cache.get("huge", _made("z" * 400, calls))  # over a quarter of the whole
    cache.get("small", _made("tiny", calls))
    cache.get("huge", _made("z" * 400, calls))
    assert len(calls) == 4 and cache.size == 0


def test_the_least_recently_used_goes_first_within_the_bound() -> None:
    cache, calls = RenderedDocs(max_bytes=1000, min_bytes=10), []
    for key in "abcd":
        cache.get(key, _made(key * 240, calls))
    cache.get("a", _made("?", calls))  # a is now the most recent
    cache.get("e", _made("e" * 240, calls))  # 1200 > 1000: b goes
    assert list(cache.held) == ["c", "d", "a", "e"] and cache.size == 960


def test_a_package_page_is_the_same_from_the_cache(docs_app: Flask) -> None:
    RENDERED.held.clear()
    RENDERED.size = 0
    saved = RENDERED.min_bytes
    RENDERED.min_bytes = 0  # the fixture's packages are small
    try:
        first = page(docs_app, f"/{DOCS}/gears")
        hits = RENDERED.hits
        assert page(docs_app, f"/{DOCS}/gears") == first
        assert RENDERED.hits == hits + 1
        pinned = page(docs_app, f"/{DOCS}/gears@{DOCS_VERSION}")  # links name the version: its own
        assert pinned != first and RENDERED.hits == hits + 1
    finally:
        RENDERED.min_bytes = saved

"""The rendered-documentation cache: bounded by bytes, least recently used out first,
small renderings not kept, and a package page the same from the cache as made anew."""

from __future__ import annotations

import pytest
from flask import Flask
from markupsafe import Markup

from app.content.cache import LRU
from app.portal import doc_cache
from tests.fixtures.docs_module import DOCS, DOCS_VERSION
from tests.portal.test_packages import page


def _made(text: str, calls: list[str]):  # type: ignore[no-untyped-def]
    def render() -> Markup:
        calls.append(text)
        return Markup(text)
    return render


@pytest.fixture
def small_cache(monkeypatch: pytest.MonkeyPatch) -> LRU[Markup]:
    cache: LRU[Markup] = LRU(4096, weigh=len, budget=1000)
    monkeypatch.setattr(doc_cache, "RENDERED", cache)
    monkeypatch.setattr(doc_cache, "MIN_BYTES", 10)
    return cache


def test_a_kept_rendering_is_not_made_again(small_cache: LRU[Markup]) -> None:
    calls: list[str] = []
    assert doc_cache.rendered("a", _made("x" * 100, calls)) == "x" * 100
    assert doc_cache.rendered("a", _made("y" * 100, calls)) == "x" * 100
    assert calls == ["x" * 100] and (small_cache.hits, small_cache.misses) == (1, 1)


def test_small_and_huge_renderings_are_not_kept(small_cache: LRU[Markup]) -> None:
    calls: list[str] = []
    doc_cache.rendered("small", _made("tiny", calls))
    doc_cache.rendered("huge", _made("z" * 400, calls))  # over a quarter of the whole
    doc_cache.rendered("small", _made("tiny", calls))
    doc_cache.rendered("huge", _made("z" * 400, calls))
    assert len(calls) == 4 and small_cache.weight == 0


def test_the_least_recently_used_goes_first_within_the_bound(small_cache: LRU[Markup]) -> None:
    calls: list[str] = []
    for key in "abcd":
        doc_cache.rendered(key, _made(key * 240, calls))
    doc_cache.rendered("a", _made("?", calls))  # a is now the most recent
    doc_cache.rendered("e", _made("e" * 240, calls))  # 1200 > 1000: b goes
    assert small_cache.keys() == ["c", "d", "a", "e"] and small_cache.weight == 960


def test_a_package_page_is_the_same_from_the_cache(
        docs_app: Flask, small_cache: LRU[Markup], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doc_cache, "MIN_BYTES", 0)  # the fixture's packages are small
    small_cache.budget = 1 << 30
    first = page(docs_app, f"/{DOCS}/gears")
    hits = small_cache.hits
    assert page(docs_app, f"/{DOCS}/gears") == first
    assert small_cache.hits == hits + 1
    pinned = page(docs_app, f"/{DOCS}/gears@{DOCS_VERSION}")  # links name the version: its own
    assert pinned != first and small_cache.hits == hits + 1

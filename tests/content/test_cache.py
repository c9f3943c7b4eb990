"""The small caches: LRU bounds and keeps, ForAWhile recomputes once its value is old."""

from __future__ import annotations

from dataclasses import dataclass

from app.content.cache import LRU, ForAWhile, text_weight


def test_lru_keeps_the_most_recent_and_only_what_keep_allows():
    lru: LRU[int] = LRU(2)
    assert lru.get_or_make("a", lambda: 1) == 1
    assert lru.get_or_make("b", lambda: 2) == 2
    assert lru.get_or_make("a", lambda: 99) == 1  # kept, and now the most recent
    lru.get_or_make("c", lambda: 3)  # pushes out b
    assert lru.get_or_make("b", lambda: 20) == 20
    assert lru.get_or_make("x", lambda: 0, keep=bool) == 0
    assert lru.get_or_make("x", lambda: 5, keep=bool) == 5  # a refused value is not kept


def test_a_weighed_lru_keeps_within_its_budget_the_most_recent_first():
    lru: LRU[str] = LRU(100, weigh=len, budget=10)
    lru.get_or_make("a", lambda: "aaaa")
    lru.get_or_make("b", lambda: "bbbb")
    lru.get_or_make("a", lambda: "?")  # a is now the most recent
    lru.get_or_make("c", lambda: "cccc")  # 12 > 10: b, the least recent, leaves
    assert lru.keys() == ["a", "c"] and lru.weight == 8
    assert lru.get_or_make("big", lambda: "x" * 11) == "x" * 11  # over the budget: not kept
    assert lru.keys() == ["a", "c"] and lru.weight == 8
    assert (lru.hits, lru.misses) == (1, 4)
    lru.clear()
    assert lru.keys() == [] and lru.weight == 0


def test_a_weighed_lru_also_keeps_its_count_bound():
    lru: LRU[str] = LRU(2, weigh=len, budget=1000)
    for key in "abc":
        lru.get_or_make(key, lambda: "x")
    assert lru.keys() == ["b", "c"] and lru.weight == 2


@dataclass(frozen=True)
class _Shown:
    html: str | None
    note: str = ""


def test_text_weight_counts_the_text_kept_in_what_the_portal_keeps():
    assert text_weight("x" * 1000) == 1000
    assert text_weight(b"12345") == 5
    assert text_weight(_Shown("x" * 1000, "why")) == 64 + 1000 + 3
    assert text_weight(("x" * 500, "")) == 64 + 500
    assert text_weight([_Shown(None)]) == 64 + 64 + 64 + 0


def test_for_a_while_recomputes_after_its_time():
    now = [0.0]
    held: ForAWhile[int] = ForAWhile(60, clock=lambda: now[0])
    calls = iter(range(10))
    assert held.get(lambda: next(calls)) == 0
    now[0] = 59.9
    assert held.get(lambda: next(calls)) == 0
    now[0] = 60.0
    assert held.get(lambda: next(calls)) == 1
    held.forget()
    assert held.get(lambda: next(calls)) == 2

"""The small caches: LRU bounds and keeps, ForAWhile recomputes once its value is old."""

from __future__ import annotations

from app.content.cache import LRU, ForAWhile


def test_lru_keeps_the_most_recent_and_only_what_keep_allows():
    lru: LRU[int] = LRU(2)
    assert lru.get_or_make("a", lambda: 1) == 1
    assert lru.get_or_make("b", lambda: 2) == 2
    assert lru.get_or_make("a", lambda: 99) == 1  # kept, and now the most recent
    lru.get_or_make("c", lambda: 3)  # pushes out b
    assert lru.get_or_make("b", lambda: 20) == 20
    assert lru.get_or_make("x", lambda: 0, keep=bool) == 0
    assert lru.get_or_make("x", lambda: 5, keep=bool) == 5  # a refused value is not kept


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

"""The per-client limiter on a real Redis."""

from __future__ import annotations

import time

from redis import Redis

from app.ratelimit import FixedWindowLimiter


def test_allows_the_limit_then_says_how_long_to_wait(redis_url: str):
    limiter = FixedWindowLimiter(Redis.from_url(redis_url), limit=3, window=60)
    assert [limiter.hit("client-a") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("client-a")
    assert wait is not None and 1 <= wait <= 60
    assert limiter.hit("client-b") is None  # counted per key


def test_a_new_window_starts_afresh(redis_url: str):
    limiter = FixedWindowLimiter(Redis.from_url(redis_url), limit=1, window=1)
    limiter.hit("k")
    time.sleep(1.05 - time.time() % 1)  # into the next one-second window
    assert limiter.hit("k") is None


def test_zero_means_no_limit(redis_url: str):
    limiter = FixedWindowLimiter(Redis.from_url(redis_url), limit=0)
    assert all(limiter.hit("k") is None for _ in range(50))
    assert not Redis.from_url(redis_url).keys("depot:ratelimit:*")

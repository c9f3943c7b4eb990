"""A per-client rate limit in Redis: fixed windows, shared by every web process.

Counting in Redis (not in process memory) means gunicorn's several workers and
several pods enforce one limit together.
"""

from __future__ import annotations

import time

from redis import Redis


class FixedWindowLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key."""

    def __init__(self, redis: Redis, limit: int, window: int = 60,
                 prefix: str = "depot:ratelimit:") -> None:
        self.redis = redis
        self.limit = limit
        self.window = window
        self.prefix = prefix

    def _counter(self, key: str, now: float) -> tuple[str, int]:
        """(Redis key, window number) of ``key``'s count in the window holding ``now``."""
        bucket = int(now // self.window)
        return f"{self.prefix}{key}:{bucket}", bucket

    def count(self, key: str) -> int:
        """Hits counted for ``key`` in the current window (this adds none)."""
        found = self.redis.get(self._counter(key, time.time())[0])
        return int(found) if found is not None else 0

    def hit(self, key: str) -> int | None:
        """Count one hit; None when allowed, else the seconds until the window ends."""
        if self.limit <= 0:
            return None
        now = time.time()
        name, bucket = self._counter(key, now)
        pipe = self.redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, self.window + 1)
        count, _ = pipe.execute()
        if int(count) <= self.limit:
            return None
        return max(1, int((bucket + 1) * self.window - now + 0.999))

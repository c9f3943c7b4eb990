"""Download counts into the search ranking: the documents of modules whose counts moved
are queued for rewriting, each at most once an hour per process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from threading import Lock

from redis import Redis

from app.config import Settings
from app.queue import RQDispatcher


class DownloadsReindexer:
    """Queues the documents of modules whose download counts moved, each at most once per
    ``every`` seconds in this process: ranking uses the log of downloads, so an hourly
    refresh is plenty, and a busy proxy does not rebuild its popular documents every few
    seconds. With no queue to reach (Redis away) the modules wait for the next hour."""

    def __init__(self, settings: Settings, every: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.every = every
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = Lock()
        self._dispatcher: RQDispatcher | None = None

    def due(self, paths: Iterable[str]) -> list[str]:
        now = self._clock()
        with self._lock:
            due = [p for p in paths if now - self._last.get(p, -self.every) >= self.every]
            for path in due:
                self._last[path] = now
        return due

    def __call__(self, paths: list[str]) -> None:
        due = self.due(paths)
        if due:
            if self._dispatcher is None:
                # Short timeouts: this runs on the download counter's thread, which must
                # not hang on an unreachable Redis.
                connection = Redis.from_url(self.settings.queue_url, socket_connect_timeout=1,
                                            socket_timeout=2)
                self._dispatcher = RQDispatcher(self.settings, connection)
            self._dispatcher.enqueue("index", *due)

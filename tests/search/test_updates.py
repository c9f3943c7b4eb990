"""Download counts reach the search index at most once per interval per module (a fake
clock stands in for time)."""

from __future__ import annotations

from app.config import Settings
from app.search.updates import DownloadsReindexer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_module_is_due_again_only_after_the_interval(settings: Settings):
    clock = Clock()
    reindexer = DownloadsReindexer(settings, every=60, clock=clock)
    assert reindexer.due(["a.test/x", "a.test/y"]) == ["a.test/x", "a.test/y"]
    clock.now += 30
    assert reindexer.due(["a.test/x", "a.test/z"]) == ["a.test/z"]
    clock.now += 31
    assert reindexer.due(["a.test/x", "a.test/z"]) == ["a.test/x"]

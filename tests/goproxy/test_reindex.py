"""Download counts reach the search index at most once per interval per module (a fake
clock stands in for time)."""

from __future__ import annotations

from app.config import Settings
from app.goproxy.reindex import DownloadsReindexer


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


def test_moved_downloads_queue_one_index_job_where_there_is_an_index(
        queued_settings: Settings):
    from rq import Queue

    from app.queue import connect
    from app.search.dirty import DIRTY, QUEUED

    connection = connect(queued_settings)
    connection.delete(DIRTY, QUEUED)
    queue = Queue("index", connection=connection)
    queue.empty()
    try:
        DownloadsReindexer(queued_settings)(["depot.test/x", "depot.test/y"])
        if queued_settings.search_kind == "fts5":  # SQLite: its FTS5 index ranks by downloads
            assert queue.count == 1
            assert {p.decode() for p in connection.smembers(DIRTY)} == {"depot.test/x",
                                                                         "depot.test/y"}
        else:  # PostgreSQL without a node: the path search reads the catalogue itself
            assert queue.count == 0 and not connection.exists(DIRTY)
    finally:
        queue.empty()
        connection.delete(DIRTY, QUEUED)


def test_a_hung_queue_is_given_up_quickly(settings: Settings):
    """A socket that accepts and never answers stands for a Redis that hangs."""
    import socket
    import time
    from dataclasses import replace

    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        port = hung.getsockname()[1]
        reindexer = DownloadsReindexer(replace(settings, redis_url=f"redis://127.0.0.1:{port}/0"))
        began = time.monotonic()
        try:
            reindexer(["depot.test/x"])
        except Exception:  # the download counter logs it and counts on
            pass
        assert time.monotonic() - began < 5

"""Downloads served are counted per module: every GET of a whole zip (or of its first
part), never a HEAD, a 304 or a later part; counts survive a database outage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from app.db import Database
from app.goproxy.downloads import DownloadCounter
from app.ingest import ingest
from app.migrate import upgrade
from app.models import DownloadDay, Module

ZIP = "/depot.test/chain/c/@v/v1.0.0.zip"


def downloads(app: Flask, path: str) -> int:
    with app.extensions["depot"].db.session() as session:
        return session.scalar(select(Module.downloads).where(Module.path == path))


def test_zip_gets_are_counted_once_each(app: Flask):
    assert ingest(app.extensions["depot"], "depot.test/chain/c", "v1.0.0").ok
    client = app.test_client()
    first = client.get(ZIP)  # through Flask's route (the fast path learns the version)
    assert first.status_code == 200
    assert client.get(ZIP).status_code == 200  # through the fast path
    assert client.head(ZIP).status_code == 200
    assert client.get(ZIP, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert client.get(ZIP, headers={"Range": "bytes=0-99"}).status_code == 206
    assert client.get(ZIP, headers={"Range": "bytes=100-199"}).status_code == 206
    assert client.get("/depot.test/chain/c/@v/v1.0.0.mod").status_code == 200

    written = app.extensions["depot"].downloads.flush()

    assert written == 3
    assert downloads(app, "depot.test/chain/c") == 3
    with app.extensions["depot"].db.session() as session:
        days = session.execute(select(DownloadDay.version, DownloadDay.day, DownloadDay.count)
                               ).all()
    assert days == [("v1.0.0", datetime.now(UTC).date(), 3)]  # per version and day too


def test_counts_per_version_and_day_add_up_across_flushes(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'days.sqlite3'}")
    upgrade(db.engine)
    with db.session() as session:
        session.add(Module(path="depot.test/x"))
    counter = DownloadCounter(db, interval=3600)
    for version in ("v1.0.0", "v1.0.0", "v1.1.0", ""):  # "": the sidecar's log, no version
        counter.count("depot.test/x", version)
    counter.count("depot.test/unknown", "v1.0.0")  # not in Depot: not written
    assert counter.flush() == 5
    counter.count("depot.test/x", "v1.0.0")
    counter.flush()
    with db.session() as session:
        rows = sorted(session.execute(select(DownloadDay.version, DownloadDay.count)).all())
        total = session.scalar(select(Module.downloads))
    assert rows == [("", 1), ("v1.0.0", 3), ("v1.1.0", 1)]
    assert total == 5
    db.dispose()


def test_counts_wait_for_the_database_to_come_back(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'later.sqlite3'}")  # no tables yet
    counter = DownloadCounter(db, interval=3600)
    for _ in range(4):
        counter.count("depot.test/x")
    assert counter.flush() == 0  # fails, keeps the counts
    upgrade(db.engine)
    with db.session() as session:
        session.add(Module(path="depot.test/x"))
    counter.count("depot.test/x")
    assert counter.flush() == 5
    with db.session() as session:
        assert session.scalar(select(Module.downloads)) == 5
    db.dispose()


def test_the_last_flush_at_exit_drops_what_it_cannot_write(tmp_path: Path, caplog):
    db = Database(f"sqlite:///{tmp_path / 'gone.sqlite3'}")  # no tables: writes fail
    counter = DownloadCounter(db, interval=3600)
    counter.count("depot.test/x")
    assert counter.flush(final=True) == 0
    assert "will retry" not in caplog.text  # nothing is left to retry it
    assert counter.flush() == 0 and "will retry" not in caplog.text  # nothing was kept
    db.dispose()


def test_counts_for_a_disposed_database_are_dropped_not_retried(tmp_path: Path, caplog):
    """An app whose database is done with (a test's end) leaves no thread retrying
    against a database that is gone: once it logged "will retry" for good."""
    db = Database(f"sqlite:///{tmp_path / 'done.sqlite3'}")  # no tables: writes would fail
    counter = DownloadCounter(db, interval=0.01)
    db.dispose()
    counter.count("depot.test/x")  # starts the flushing thread
    assert counter._thread is not None
    counter._thread.join(5)
    assert not counter._thread.is_alive()
    assert counter.flush() == 0
    assert "will retry" not in caplog.text


def test_written_counts_are_passed_on_and_a_failing_listener_changes_nothing(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'told.sqlite3'}")
    upgrade(db.engine)
    with db.session() as session:
        session.add_all([Module(path="depot.test/x"), Module(path="depot.test/y")])
    told: list[list[str]] = []
    counter = DownloadCounter(db, interval=3600, on_written=told.append)
    counter.count("depot.test/y")
    counter.count("depot.test/x")
    assert counter.flush() == 2 and told == [["depot.test/x", "depot.test/y"]]

    def broken(_paths: list[str]) -> None:
        raise ConnectionError("redis is away")

    counter.on_written = broken
    counter.count("depot.test/x")
    assert counter.flush() == 1  # counted all the same
    db.dispose()


def test_a_stopped_counter_writes_what_it_holds_and_its_thread_is_gone(tmp_path: Path):
    """An app done with (a test's end) stops its counter: the counts it holds are written
    once, its thread ends, and nothing flushes after; counting again starts it again."""
    import gc
    import weakref

    db = Database(f"sqlite:///{tmp_path / 'stop.sqlite3'}")
    upgrade(db.engine)
    with db.session() as session:
        session.add(Module(path="depot.test/x"))
    counter = DownloadCounter(db, interval=3600)
    counter.count("depot.test/x")
    counter.count("depot.test/x")
    thread = counter._thread
    assert thread is not None and thread.is_alive() and counter.running
    counter.stop()
    assert not thread.is_alive() and not counter.running
    with db.session() as session:
        assert session.scalar(select(Module.downloads)) == 2
    counter.stop()  # twice is harmless
    counter.count("depot.test/x")
    assert counter.running and counter._thread is not thread
    counter.stop()
    with db.session() as session:
        assert session.scalar(select(Module.downloads)) == 3
    # Nothing holds a stopped counter (its exit hook is gone with its thread).
    gone = weakref.ref(counter)
    del counter
    gc.collect()
    assert gone() is None
    db.dispose()

"""Counting zips served, without a database write per download.

Each serving process adds up downloads per module in memory and a background
thread flushes them every few seconds with one UPDATE per module (and once
more at exit, or at :meth:`DownloadCounter.stop`). A count is a statistic for the
portal and search ranking: a process killed hard loses at most its last few seconds
of counts, never bytes.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.db import Database
from app.goproxy.ziplog import ZipLog
from app.models import DownloadDay, Module

log = logging.getLogger("depot.downloads")


def add_days(session: Session, counts: Mapping[tuple[str, str], int], day: date) -> None:
    """Add ``counts`` per (module, version) to their rows of ``day`` (made if missing):
    one upsert each, as both database backends write it."""
    ids = {path: id_ for path, id_ in session.execute(select(Module.path, Module.id).where(
        Module.path.in_({module for module, _v in counts})))}
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    for (module, version), n in sorted(counts.items()):
        if module not in ids:
            continue
        statement = insert(DownloadDay).values(module_id=ids[module], version=version[:255],
                                               day=day, count=n)
        session.execute(statement.on_conflict_do_update(
            index_elements=["module_id", "version", "day"],
            set_={"count": DownloadDay.count + statement.excluded.count}))


class DownloadCounter:
    def __init__(self, db: Database, interval: float = 5.0, ziplog: ZipLog | None = None,
                 on_written: Callable[[list[str]], None] | None = None) -> None:
        self.db = db
        self.interval = interval
        # Told which modules' counts moved (the search index ranks by them).
        self.on_written = on_written
        # Zips the nginx sidecar served without asking Depot, counted from its log.
        self.ziplog = ziplog
        self._pending: Counter[tuple[str, str]] = Counter()  # (module, version) -> zips
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._wake = threading.Event()
        self._stop = threading.Event()

    def count(self, module: str, version: str = "") -> None:
        """One zip of ``module`` (at ``version``, "" when unknown) went out."""
        with self._lock:
            self._pending[(module, version)] += 1
        self.ensure_running()

    def watch_log(self) -> None:
        """With a sidecar zip log, flush (and so read the log) even if Depot serves no zip."""
        if self.ziplog is not None:
            self.ensure_running()

    def ensure_running(self) -> None:
        """Start the flushing thread in this process (after a fork: again, in the child)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._start()

    @property
    def running(self) -> bool:
        """Whether this process has a flushing thread (started by a count, ended by
        :meth:`stop` or by the database's disposal)."""
        thread = self._thread
        return thread is not None and self._pid == os.getpid() and thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is counted and end the flushing thread: the app is done with (a
        test's end). Why: a thread left running flushed into a database dropped meanwhile
        every few seconds ("could not record N downloads"), and its exit hook kept the
        counter and its database engine alive. A later count starts it again."""
        with self._lock:
            thread, stop, wake = self._thread, self._stop, self._wake
            mine = self._pid == os.getpid()
            self._thread, self._pid = None, 0
        if thread is None or not mine:
            return
        stop.set()
        wake.set()
        if thread is not threading.current_thread():
            thread.join(timeout)
        atexit.unregister(self._at_exit)
        self.flush(final=True)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(self._wake, self._stop),
                                        name="download-counter", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    def _at_exit(self) -> None:
        self.flush(final=True)

    def _loop(self, wake: threading.Event, stop: threading.Event) -> None:
        while not self.db.closed and not stop.is_set():
            wake.wait(self.interval)
            wake.clear()
            if stop.is_set():
                return  # stop() writes what is left
            self.flush()

    def flush(self, final: bool = False) -> int:
        """Write the counts gathered so far; returns how many downloads were written.

        ``final``: the process is exiting, so counts that cannot be written are dropped.
        """
        if self.ziplog is not None:
            try:
                served = self.ziplog.read_new()
            except OSError:
                log.warning("could not read the sidecar's zip log", exc_info=True)
            else:
                with self._lock:
                    self._pending.update({(module, ""): n for module, n in served.items()})
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending or self.db.closed:
            return 0
        totals: Counter[str] = Counter()
        for (module, _version), n in pending.items():
            totals[module] += n
        try:
            with self.db.session() as session:
                for module, n in sorted(totals.items()):
                    session.execute(
                        update(Module).where(Module.path == module)
                        .values(downloads=Module.downloads + n)
                    )
                add_days(session, pending, datetime.now(UTC).date())
        except Exception as exc:  # the database is away: keep the counts for the next flush
            if final:
                log.info("at exit, %d downloads could not be recorded (%s)",
                         sum(pending.values()), type(exc).__name__)
                return 0
            log.warning("could not record %d downloads (%s); will retry",
                        sum(pending.values()), type(exc).__name__)
            with self._lock:
                self._pending.update(pending)
            return 0
        if self.on_written is not None:
            try:
                self.on_written(sorted(totals))
            except Exception as exc:  # a statistic's follow-up must never break counting
                log.warning("could not pass on the modules whose downloads moved (%s: %s)",
                            type(exc).__name__, exc)
        return sum(pending.values())

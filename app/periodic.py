"""Work done a few times a second by a thread of its own, and once more at exit.

Why: on a GOPROXY hit, writing an access line or a metric count one at a time cost
more than the hit itself (a lock, a system call or an mmap write each); added up in
memory and written in batches, the request's thread only appends (docs/bench.md).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import threading
import time
from collections.abc import Callable

log = logging.getLogger("depot")


class Periodic:
    """Calls ``flush`` every ``interval`` seconds once started, and at the process's
    exit. A child of a fork starts stopped: what its parent held is the parent's."""

    def __init__(self, flush: Callable[[], None], name: str, interval: float = 0.1) -> None:
        self.flush = flush
        self.name = name
        self.interval = interval
        self.on = False
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def start(self) -> None:
        """Flush every interval from now on, in this process."""
        with self._guard:
            self.on = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
                # The last flush happens at exit: by atexit in a plain process, by
                # multiprocessing's finalizers in a granian worker (which leaves through
                # os._exit, and forgets the finalizers of its parent).
                atexit.register(self.flush)
                multiprocessing.util.Finalize(self, self.flush, exitpriority=100)

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # said, and tried again next time: the thread must live on
                log.exception("%s: a flush failed", self.name)

    def forked(self) -> None:
        """In a forked child: stopped, with no thread (threads do not survive a fork)."""
        self.on, self._thread = False, None
        self._guard = threading.Lock()

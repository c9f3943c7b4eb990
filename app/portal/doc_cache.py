"""Package documentation rendered once and kept in memory, a few megabytes per process.

A big package (x/tools' internal/stdlib, an SDK client) renders to a megabyte of HTML:
its JSON parsed and every declaration linked on each request, 240–320 ms (docs/bench.md).
What a rendering depends on is all in its key: the version's documentation (its row's
time), the package, whether links name the version, the URL root and the modules the
version's links may point to. A change of any of them is a new key, so nothing is ever
stale; old keys fall out by least recent use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from markupsafe import Markup

MAX_BYTES = 24 << 20  # of HTML, per process
# A rendering smaller than this is cheap to make again: not worth the memory.
MIN_BYTES = 64 << 10


class RenderedDocs:
    """A least-recently-used map of rendered documentation, bounded by bytes."""

    def __init__(self, max_bytes: int = MAX_BYTES, min_bytes: int = MIN_BYTES) -> None:
        self.max_bytes = max_bytes
        self.min_bytes = min_bytes
        self.held: OrderedDict[Hashable, Markup] = OrderedDict()
        self.size = 0
        self.hits = 0
        self.misses = 0
        self.lock = threading.Lock()

    def get(self, key: Hashable, render: Callable[[], Markup]) -> Markup:
        """The rendering under ``key``, made by ``render`` when not held (outside the
        lock: two requests at once may both render; the second keeps its own)."""
        with self.lock:
            found = self.held.get(key)
            if found is not None:
                self.held.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        made = render()
        size = len(made)
        if self.min_bytes <= size <= self.max_bytes // 4:
            with self.lock:
                old = self.held.pop(key, None)
                if old is not None:
                    self.size -= len(old)
                self.held[key] = made
                self.size += size
                while self.size > self.max_bytes:
                    _key, dropped = self.held.popitem(last=False)
                    self.size -= len(dropped)
        return made


RENDERED = RenderedDocs()

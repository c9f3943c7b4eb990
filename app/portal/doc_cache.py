"""Package documentation rendered once and kept in memory, a few megabytes per process.

A big package (x/tools' internal/stdlib, an SDK client) renders to a megabyte of HTML:
its JSON parsed and every declaration linked on each request, 240–320 ms (docs/bench.md).
What a rendering depends on is all in its key: the version's documentation (its row's
time), the package, whether links name the version, the URL root and the modules the
version's links may point to. A change of any of them is a new key, so nothing is ever
stale; old keys fall out by least recent use.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from markupsafe import Markup

from app.content.cache import LRU

MAX_BYTES = 24 << 20  # of HTML, per process
# A rendering smaller than this is cheap to make again: not worth the memory.
MIN_BYTES = 64 << 10

# Bounded by bytes; the count bound only keeps the map itself small.
RENDERED: LRU[Markup] = LRU(4096, weigh=len, budget=MAX_BYTES)


def rendered(key: Hashable, render: Callable[[], Markup]) -> Markup:
    """The rendering under ``key``, made by ``render`` when not held (two requests at
    once may both render; the later one is kept)."""
    return RENDERED.get_or_make(key, render, keep=_worth_keeping)


def _worth_keeping(made: Markup) -> bool:
    """Not a small rendering (cheap to make again), nor one that would push out a
    quarter of the others."""
    return MIN_BYTES <= len(made) <= RENDERED.budget // 4

"""One typed container for everything ``create_app`` builds: the resources of
app/resources.py plus the web process's parts (download counter, published-file cache,
ahead loads, search backend, queue dispatcher, rate limiter and the caches the portal and
the API share). Views reach it with :func:`depot`; it is one ``app.extensions`` key.

It is a :class:`~app.resources.Services`, so it goes wherever one is wanted. The parts
that talk to Redis are made on first use: Redis may start after the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from flask import current_app

from app.catalog.insight_facts import InsightFactsCache
from app.content.cache import LRU, UntilChanged, text_weight
from app.queue import RQDispatcher, connect
from app.ratelimit import FixedWindowLimiter
from app.resources import Services

if TYPE_CHECKING:
    from app.goproxy.ahead import AheadLoads
    from app.goproxy.downloads import DownloadCounter
    from app.goproxy.early import EarlyMods
    from app.goproxy.published import PublishedFiles
    from app.search import SearchBackend

EXTENSION = "depot"
# Rendered READMEs, licenses and sources kept per process (app/portal/contents.py):
# at most this many, and this many bytes of text (a Files-view source may be megabytes).
RENDERED_KEPT = 256
RENDERED_BYTES = 32 << 20


@dataclass
class Depot(Services):
    """What one application holds; its parts are set by create_app right after it is made."""

    downloads: DownloadCounter = field(init=False)
    published: PublishedFiles = field(init=False)
    early: EarlyMods = field(init=False)
    ahead: AheadLoads = field(init=False)
    search: SearchBackend = field(init=False)
    # Rendered file contents by (module, version, file), shared by the portal's tabs.
    rendered: LRU[Any] = field(init=False, default_factory=lambda: LRU(
        RENDERED_KEPT, weigh=text_weight, budget=RENDERED_BYTES))
    # Values kept until a publication changes the catalogue, by name (the home page's).
    kept: dict[str, UntilChanged[Any]] = field(init=False, default_factory=dict)

    @cached_property
    def dispatcher(self) -> RQDispatcher:
        """The queue dispatcher of requests, forms and misses."""
        return RQDispatcher(self.settings, connect(self.settings))

    @cached_property
    def request_limiter(self) -> FixedWindowLimiter:
        """Module requests (and drift checks) per client per minute, form and API
        together, counted in the queue's Redis so every process shares the budget."""
        return FixedWindowLimiter(connect(self.settings), self.settings.request_limit, 60,
                                  prefix="depot:ratelimit:request:")

    @cached_property
    def auth_failures(self) -> FixedWindowLimiter:
        """Wrong tokens per client per minute (app/auth/gate.py), in the queue's Redis so
        every process shares the count."""
        return FixedWindowLimiter(connect(self.settings), self.settings.auth_failure_limit,
                                  60, prefix="depot:ratelimit:auth:")

    @cached_property
    def insight_facts(self) -> InsightFactsCache:
        """Insight facts by module and catalogue mark, one cache for portal and API."""
        return InsightFactsCache(self.aggregates)


def depot() -> Depot:
    """The current application's container."""
    return current_app.extensions[EXTENSION]

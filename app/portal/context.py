"""The application's shared parts as the portal's views reach them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from flask import current_app

from app.ratelimit import FixedWindowLimiter
from app.search import SearchBackend, open_backend
from app.services import Services


def services() -> Services:
    return current_app.extensions["depot"]


V = TypeVar("V")


def until_published(name: str, compute: Callable[[], V]) -> V:
    """``compute()``'s value, kept in this process until a publication changes the catalogue."""
    cache = current_app.extensions.get(name)
    if cache is None:
        cache = current_app.extensions[name] = services().aggregates.keep(compute)
    return cache.get()


def used_by_counts() -> Mapping[str, int]:
    """Modules using each path: an aggregate over the whole graph, so kept, not recounted."""
    return services().aggregates.used_by()


def search_backend() -> SearchBackend:
    found = current_app.extensions.get("depot.search")
    if found is None:
        svc = services()
        found = open_backend(svc)
        current_app.extensions["depot.search"] = found
    return found


def request_limiter() -> FixedWindowLimiter:
    """Module requests per client per minute, counted in the queue's Redis."""
    found = current_app.extensions.get("depot.request_limiter")
    if found is None:
        from app.queue import connect

        settings = services().settings
        found = FixedWindowLimiter(connect(settings), settings.request_limit, 60,
                                   prefix="depot:ratelimit:request:")
        current_app.extensions["depot.request_limiter"] = found
    return found

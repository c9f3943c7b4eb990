"""The application's shared parts as the portal's views reach them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from flask import current_app

from app.ratelimit import request_limiter
from app.resources import Services
from app.search import SearchBackend, open_backend

__all__ = ["request_limiter", "search_backend", "services", "until_published", "used_by_counts"]


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

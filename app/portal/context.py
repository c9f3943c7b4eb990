"""The application's shared parts as the portal's views reach them."""

from __future__ import annotations

from flask import current_app

from app.ratelimit import FixedWindowLimiter
from app.search import SearchBackend, open_backend
from app.services import Services


def services() -> Services:
    return current_app.extensions["depot"]


def search_backend() -> SearchBackend:
    found = current_app.extensions.get("depot.search")
    if found is None:
        svc = services()
        found = open_backend(svc.db, svc.store)
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

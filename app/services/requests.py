"""Requests for modules: the one submit behind POST /api/v1/requests, the portal's form
and a GOPROXY miss in ``enqueue`` mode, and the app's queue dispatcher they use."""

from __future__ import annotations

from flask import current_app
from redis.exceptions import RedisError

from app.errors import Unavailable
from app.models import RequestSource
from app.pipeline.requests import Submitted, submit
from app.queue import RQDispatcher, connect
from app.resources import Services


def dispatcher() -> RQDispatcher:
    """The app's queue dispatcher, connected on first use (Redis may start later)."""
    found = current_app.extensions.get("depot.dispatcher")
    if found is None:
        settings = current_app.extensions["depot"].settings
        found = RQDispatcher(settings, connect(settings))
        current_app.extensions["depot.dispatcher"] = found
    return found


def request_wish(svc: Services, module: str, query: str, source: RequestSource) -> Submitted:
    """Submit a wish; queue trouble is Unavailable (a 503), never a 500."""
    try:
        return submit(svc, dispatcher(), module, query, source)
    except RedisError as exc:
        raise Unavailable(f"the job queue is unreachable: {type(exc).__name__}") from exc

"""Requests for modules: the one submit behind POST /api/v1/requests, the portal's form
and a GOPROXY miss in ``enqueue`` mode."""

from __future__ import annotations

from redis.exceptions import RedisError

from app.errors import Unavailable
from app.models import RequestSource
from app.pipeline.requests import Submitted, submit
from app.pipeline.stages import Dispatcher
from app.resources import Services


def request_wish(svc: Services, dispatcher: Dispatcher, module: str, query: str,
                 source: RequestSource) -> Submitted:
    """Submit a wish; queue trouble is Unavailable (a 503), never a 500."""
    try:
        return submit(svc, dispatcher, module, query, source)
    except RedisError as exc:
        raise Unavailable(f"the job queue is unreachable: {type(exc).__name__}") from exc

"""Requests for modules: the one submit behind POST /api/v1/requests, the portal's form
and a GOPROXY miss in ``enqueue`` mode."""

from __future__ import annotations

from redis.exceptions import RedisError

from app import audit, hidden
from app.db import Database
from app.errors import Forbidden, Unavailable
from app.gomod import patterns
from app.models import RequestSource
from app.pipeline.requests import Submitted, submit
from app.pipeline.stages import Dispatcher
from app.resources import Services


def refuse_hidden(db: Database, module: str) -> None:
    """Forbidden for a module the caller may not see (DEPOT_PATH_RULES), before anything
    else is looked at or counted: the same answer whether Depot holds it or not. The
    refusal is in the audit trail."""
    if patterns.matches(hidden.caller_hides(), module):
        audit.record(db, audit.ACCESS_REFUSED, module,
                     "a request under a path rule that names none of the caller's groups "
                     "(403)")
        raise Forbidden(f"{module} is under a path rule (DEPOT_PATH_RULES) that names none "
                        "of this caller's groups")


def request_wish(svc: Services, dispatcher: Dispatcher, module: str, query: str,
                 source: RequestSource) -> Submitted:
    """Submit a wish; queue trouble is Unavailable (a 503), never a 500. A module the
    caller may not see (DEPOT_PATH_RULES) is Forbidden, whether Depot holds it or not."""
    refuse_hidden(svc.db, module)
    try:
        return submit(svc, dispatcher, module, query, source)
    except RedisError as exc:
        raise Unavailable(f"the job queue is unreachable: {type(exc).__name__}") from exc

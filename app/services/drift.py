"""Checking a module against its upstream now: the one queue_check behind the JSON API's
POST …/drift-checks and the module page's "Check upstream now" button."""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis
from redis.exceptions import RedisError

from app import audit, hidden
from app.drift.queueing import Queued, enqueue_module_check
from app.drift.sweep import pick
from app.errors import BadRequest, NotFound, TooManyRequests, Unavailable
from app.gomod import versions
from app.ratelimit import FixedWindowLimiter
from app.resources import Services
from app.services.modules import check_path, known_module


def queue_check(svc: Services, connection_of: Callable[[], Redis], limiter: FixedWindowLimiter,
                module: str, version: str | None, trigger: str, client: str) -> Queued:
    """Validate, count against DEPOT_REQUEST_LIMIT (``limiter``), and queue one module's
    check.

    Raises BadRequest / NotFound / TooManyRequests / Unavailable (the portal maps them
    to pages, the API to JSON).
    """
    check_path(module)
    if version is not None and not versions.is_canonical(version):
        raise BadRequest(f"{version!r} is not a canonical version such as v1.2.3")
    # A module the caller may not see (DEPOT_PATH_RULES) is one Depot does not hold.
    with hidden.hiding(hidden.caller_hides() or None), svc.db.session() as session:
        known_module(session, module)
        if not pick(session, 1, module, version):
            target = f"{module}@{version}" if version else module
            raise NotFound(f"Depot publishes no version of {target}: nothing to compare")
    try:
        retry_after = limiter.hit(client)
        if retry_after is not None:
            raise TooManyRequests(f"too many requests; try again in {retry_after} seconds",
                                  retry_after)
        queued = enqueue_module_check(svc.settings, connection_of(), module, version,
                                      trigger)
    except RedisError as exc:
        raise Unavailable(f"the job queue is unreachable: {type(exc).__name__}") from exc
    audit.record(svc.db, audit.DRIFT_CHECK, f"{module}@{version}" if version else module,
                 f"from {trigger}; job {queued.job_id}"
                 + (" (already queued)" if queued.already else ""))
    return queued

"""The notifier: Slack-compatible webhooks for what people should know about.

Jobs call :func:`notify` on state changes and failures; it never raises, so a
dead webhook or a database hiccup cannot fail the pipeline. While a deployment
is marked in progress (:mod:`app.notify.quiet`) only critical events go out.

Configuration (read by the caller, e.g. from Settings):
``DEPOT_NOTIFY_WEBHOOKS`` comma-separated http(s) URLs (unset = no notifications);
``DEPOT_BACKLOG_ALERT`` queue depth above which a backlog alert is raised (0/unset = off).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from app.db import Database
from app.notify.events import (
    Event,
    checksum_mismatch,
    queue_backlog,
    request_failed,
    request_rejected,
    upstream_drift,
    version_published,
)
from app.notify.quiet import (
    QUIET_CAP,
    deployment_in_progress,
    end_deployment,
    start_deployment,
)
from app.notify.sender import Delivery, redact_webhook, send

__all__ = [
    "QUIET_CAP",
    "Delivery",
    "Event",
    "backlog_alert",
    "checksum_mismatch",
    "deployment_in_progress",
    "end_deployment",
    "notify",
    "queue_backlog",
    "redact_webhook",
    "request_failed",
    "request_rejected",
    "send",
    "start_deployment",
    "upstream_drift",
    "version_published",
]

log = logging.getLogger("depot.notify")


def _quiet(db: Database, cap: timedelta) -> bool:
    # Fail open: if the database cannot say, an alert is better than silence.
    try:
        with db.session() as session:
            return deployment_in_progress(session, cap=cap)
    except Exception as exc:  # the notifier must never fail the caller
        log.warning("cannot read the deployment window, notifying anyway: %s", exc)
        return False


def notify(
    db: Database,
    event: Event,
    webhooks: list[str],
    timeout: float = 5,
    quiet_cap: timedelta = QUIET_CAP,
) -> list[Delivery]:
    """Send event to the webhooks unless a deployment holds it back; never raises.

    Returns [] when nothing was sent (no webhooks, or quiet window and not critical).
    """
    if not webhooks:
        return []
    if event.silenceable and _quiet(db, quiet_cap):
        log.info("deployment in progress: %s %s not sent", event.kind, event.subject)
        return []
    return send(event, webhooks, timeout=timeout)


def backlog_alert(depths: dict[str, int], threshold: int) -> list[Event]:
    """A backlog event for each queue deeper than threshold (0 or less = alerts off).

    Pure: the caller measures the queues and decides how often to ask, so one
    lasting backlog is not re-announced on every check.
    """
    if threshold <= 0:
        return []
    return [
        queue_backlog(queue, depth, threshold)
        for queue, depth in sorted(depths.items())
        if depth > threshold
    ]

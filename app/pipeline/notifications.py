"""Stage events become webhook notifications (the notify queue's work)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from app.notify import events, notify
from app.resources import Services

log = logging.getLogger("depot.notify")

# Each takes the event's fields (the queued JSON payload) as keyword arguments.
EVENTS: dict[str, Callable[..., events.Event]] = {
    "version_published": events.version_published,
    "request_rejected": events.request_rejected,
    "request_failed": events.request_failed,
    "checksum_mismatch": events.checksum_mismatch,
    "upstream_drift": events.upstream_drift,
    "queue_backlog": events.queue_backlog,
}


def deliver(services: Services, kind: str, payload: str) -> int:
    """Send one event to the webhooks that may hear of its module; returns how many
    accepted it.

    Never raises for a webhook's sake: a failing receiver must not fail the pipeline.
    """
    make = EVENTS.get(kind)
    if make is None:
        log.warning("unknown notification %r dropped", kind)
        return 0
    event = make(**json.loads(payload))
    # A private module's name is told only to the company's own webhooks.
    webhooks = list(services.settings.webhooks_for(event.module))
    if not webhooks:
        return 0
    deliveries = notify(services.db, event, webhooks)
    return sum(1 for d in deliveries if d.ok)

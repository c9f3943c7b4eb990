"""Deliver an event to every configured webhook, never letting a webhook break the caller.

A notification is a side effect of the pipeline, not part of it: a receiver that
is down, slow or misconfigured yields a failed :class:`Delivery` and one log line,
and the job that sent it carries on. Webhook URLs carry secrets (Slack's token is
the path), so only :func:`redact`-ed forms are ever logged or printed.
"""

from __future__ import annotations

import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from app.notify.events import Event
from app.notify.slack import payload
from app.redact import host_of, public

# The name callers knew for hiding a webhook's secret part.
redact_webhook = host_of

log = logging.getLogger("depot.notify")

# Pause before the single retry: long enough for a restarting receiver, short for a job.
RETRY_DELAY = 0.5
USER_AGENT = "Depot-notifier/1"


@dataclass(frozen=True)
class Delivery:
    """The outcome of posting one event to one webhook."""

    url: str
    ok: bool
    # HTTP status of the last attempt; None when no answer came (refused, timeout).
    status: int | None = None
    error: str = ""
    attempts: int = 1

    @property
    def target(self) -> str:
        """The URL without its secret part, for logs and terminals."""
        return host_of(self.url)


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
_KNOWN = ("certificate verify failed", "Read timed out", "Remote end closed connection")


def _reason(exc: BaseException) -> str:
    """Why a post failed, without the URL that requests puts into its messages."""
    text = str(exc)
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip()
    for known in _KNOWN:
        if known in text:
            return known
    return type(exc).__name__


def _post_once(url: str, body: bytes, timeout: float) -> requests.Response:
    return requests.post(
        url,
        data=body,
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        timeout=timeout,
        # A redirected POST turns into a GET and is lost; report it instead.
        allow_redirects=False,
    )


def deliver(url: str, body: bytes, timeout: float = 5) -> Delivery:
    """POST body to url; retry once on a connection error or a 5xx. Never raises.

    A read timeout is not retried: the receiver may have the message already,
    and a job should not wait twice the timeout for a notification.
    """
    attempts = 0
    status: int | None = None
    error = ""
    while attempts < 2:
        attempts += 1
        retry = False
        try:
            resp = _post_once(url, body, timeout)
            status = resp.status_code
            if 200 <= status < 300:
                return Delivery(url, True, status, "", attempts)
            error = f"HTTP {status}: {resp.text[:200].strip()}".rstrip(": ")
            retry = status >= 500
        except requests.ConnectionError as exc:
            # Includes a connect timeout: nothing reached the receiver.
            status, error, retry = None, f"connection failed: {_reason(exc)}", True
        except requests.Timeout:
            status, error = None, f"no answer within {timeout:g}s"
        except Exception as exc:  # a notification must never break a job
            status, error = None, f"{type(exc).__name__}: {_reason(exc)}"
        if not retry:
            break
        if attempts < 2:
            time.sleep(RETRY_DELAY)
    return Delivery(url, False, status, error, attempts)


def send(event: Event, webhooks: list[str], timeout: float = 5) -> list[Delivery]:
    """Post event to every webhook (in parallel), one Delivery per webhook, in order.

    Never raises; each failed webhook is logged once, at warning level.
    """
    if not webhooks:
        return []
    try:
        body = public(json.dumps(payload(event))).encode()
    except Exception as exc:  # a bad event must not break the job either
        log.warning("notification %s not sent: cannot encode it: %s", event.kind, exc)
        return [Delivery(url, False, None, f"cannot encode: {exc}", 0) for url in webhooks]
    if len(webhooks) == 1:
        deliveries = [deliver(webhooks[0], body, timeout)]
    else:
        # One slow receiver must not hold back the others (nor the job beyond one timeout).
        with ThreadPoolExecutor(max_workers=min(8, len(webhooks))) as pool:
            deliveries = list(pool.map(lambda u: deliver(u, body, timeout), webhooks))
    for d in deliveries:
        if not d.ok:
            log.warning(
                "notification %s to %s failed after %d attempt(s): %s",
                event.kind, d.target, d.attempts, d.error,
            )
    return deliveries

"""Delivery to a real HTTP receiver: every kind arrives, and no webhook failure escapes."""

from __future__ import annotations

import logging
import time

import pytest

from app.notify import send, version_published
from app.notify.slack import payload
from tests.conftest import free_port
from tests.notify.conftest import Receiver
from tests.notify.events import EVENTS, MODULE
from tests.notify.test_events import assert_slack_json


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_each_kind_reaches_two_webhooks(receiver: Receiver, kind: str) -> None:
    event = EVENTS[kind]
    hooks = [receiver.url("/hook-a"), receiver.url("/services/T0/B0/hook-b")]
    deliveries = send(event, hooks)
    assert [(d.url, d.ok, d.status, d.attempts) for d in deliveries] == [
        (hooks[0], True, 200, 1),
        (hooks[1], True, 200, 1),
    ]
    for path in ("/hook-a", "/services/T0/B0/hook-b"):
        (body,) = receiver.bodies(path)
        assert_slack_json(body)
        assert body == payload(event)
    hit = receiver.hits[0]
    assert hit.headers["Content-Type"] == "application/json"


def test_a_500_and_a_closed_port_do_not_stop_the_others(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/gone"
    hooks = [receiver.url("/status/500"), closed, receiver.url("/good")]
    with caplog.at_level(logging.WARNING, logger="depot.notify"):
        deliveries = send(version_published(MODULE, "v1.0.0"), hooks)
    bad500, refused, good = deliveries
    assert (bad500.ok, bad500.status, bad500.attempts) == (False, 500, 2)
    assert "HTTP 500" in bad500.error
    assert (refused.ok, refused.status, refused.attempts) == (False, None, 2)
    assert refused.error.startswith("connection failed")
    assert "/gone" not in refused.error  # the URL's secret part is never shown
    assert (good.ok, good.status) == (True, 200)
    assert len(receiver.bodies("/good")) == 1
    assert receiver.count("/status/500") == 2  # one short retry
    # Logged once per failed webhook, with the URL redacted.
    failures = [r.getMessage() for r in caplog.records if r.name == "depot.notify"]
    assert len(failures) == 2
    assert all("/status/500" not in m and "/gone" not in m for m in failures)


def test_a_5xx_once_is_retried_and_delivered(receiver: Receiver) -> None:
    (d,) = send(EVENTS["queue_backlog"], [receiver.url("/flaky/x")])
    assert (d.ok, d.status, d.attempts) == (True, 200, 2)
    assert receiver.count("/flaky/x") == 2


def test_a_4xx_is_not_retried(receiver: Receiver) -> None:
    (d,) = send(EVENTS["queue_backlog"], [receiver.url("/status/404")])
    assert (d.ok, d.status, d.attempts) == (False, 404, 1)
    assert "receiver says no" in d.error


def test_a_slow_webhook_times_out_without_holding_the_others(receiver: Receiver) -> None:
    started = time.monotonic()
    slow, fast = send(
        EVENTS["version_published"], [receiver.url("/slow/x"), receiver.url("/fast")], timeout=0.5
    )
    assert time.monotonic() - started < 1.8
    assert (slow.ok, slow.status, slow.attempts) == (False, None, 1)
    assert "no answer within 0.5s" in slow.error
    assert fast.ok and len(receiver.bodies("/fast")) == 1


def test_no_webhooks_sends_nothing() -> None:
    assert send(EVENTS["checksum_mismatch"], []) == []


def test_unusable_url_is_a_failed_delivery_not_an_exception() -> None:
    (d,) = send(EVENTS["version_published"], ["http://[::1"])
    assert not d.ok and d.status is None and d.error

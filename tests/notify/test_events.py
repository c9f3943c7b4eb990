"""Events, their Slack JSON, and the notifier's settings: pure and fast."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app.notify import backlog_alert
from app.notify.events import Event
from app.notify.slack import COLORS, MAX_FIELD, payload
from app.redact import host_of as redact
from tests.notify.events import EVENTS, MODULE


def assert_slack_json(body: Any) -> None:
    """The shape Slack, Mattermost and Discord's /slack endpoint all render."""
    assert isinstance(body, dict)
    json.dumps(body)  # serialisable as-is
    assert isinstance(body["text"], str) and body["text"]
    (att,) = body["attachments"]
    assert re.fullmatch(r"#[0-9a-f]{6}", att["color"])
    for key in ("fallback", "title", "text", "footer"):
        assert isinstance(att[key], str) and att[key], key
    assert att["fields"], "fields"
    for f in att["fields"]:
        assert set(f) == {"title", "value", "short"}
        assert isinstance(f["title"], str) and isinstance(f["value"], str)
        assert isinstance(f["short"], bool)


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_every_kind_is_valid_slack_json(kind: str) -> None:
    event = EVENTS[kind]
    body = payload(event)
    assert_slack_json(body)
    assert event.kind == kind
    att = body["attachments"][0]
    assert att["color"] == COLORS[event.severity]
    assert kind in att["footer"]
    fields = {f["title"]: f["value"] for f in att["fields"]}
    assert fields["Severity"] == event.severity
    if kind != "queue_backlog":
        assert fields["Module"] == MODULE and MODULE in body["text"]


def test_severities() -> None:
    assert EVENTS["checksum_mismatch"].severity == "critical"
    assert not EVENTS["checksum_mismatch"].silenceable
    assert EVENTS["upstream_drift"].severity == "warning"
    assert EVENTS["queue_backlog"].severity == "warning"
    assert EVENTS["version_published"].severity == "info"
    assert all(e.silenceable for k, e in EVENTS.items() if k != "checksum_mismatch")
    assert payload(EVENTS["checksum_mismatch"])["text"].startswith("[CRITICAL] ")
    with pytest.raises(ValueError):
        Event(kind="x", title="x", text="x", severity="fatal")  # type: ignore[arg-type]


def test_drift_fields_name_both_hashes() -> None:
    att = payload(EVENTS["upstream_drift"])["attachments"][0]
    fields = {f["title"]: f["value"] for f in att["fields"]}
    assert fields["File"] == ".zip"
    assert fields["Stored sha256"] == "a" * 64 and fields["Upstream sha256"] == "b" * 64


def test_control_characters_are_escaped_and_long_reasons_clipped() -> None:
    body = payload(EVENTS["request_failed"])
    assert "&lt;nil&gt;" in body["attachments"][0]["text"]
    assert "<nil>" not in json.dumps(body)
    long = EVENTS["request_failed"].__class__(
        kind="request_failed", title="t", text="x" * 10_000, fields={"Reason": "y" * 10_000}
    )
    att = payload(long)["attachments"][0]
    assert len(att["text"]) <= 3000 and att["text"].endswith("…")
    assert len(att["fields"][0]["value"]) <= MAX_FIELD


def test_backlog_alert() -> None:
    depths = {"validator": 150, "processor": 101, "discovery": 100, "indexer": 0}
    events = backlog_alert(depths, 100)
    assert [e.fields["Queue"] for e in events] == ["processor", "validator"]
    assert events[0].fields == {"Queue": "processor", "Depth": "101", "Threshold": "100"}
    assert backlog_alert(depths, 0) == []
    assert backlog_alert({}, 10) == []


def test_redact_hides_the_token() -> None:
    assert redact("http://[::1") == "<invalid URL>"
    assert redact("https://hooks.slack.com/services/T0/B0/s3cr3t") == "https://hooks.slack.com/…"
    assert redact("http://127.0.0.1:8065/hooks/abc?x=1") == "http://127.0.0.1:8065/…"
    assert redact("https://chat.example") == "https://chat.example"

"""Events as Slack incoming-webhook JSON.

Uses the ``text`` + ``attachments`` form (colour bar, title, fields) rather than
Block Kit only: Slack renders it, and so do the Slack-compatible endpoints of
Mattermost and Discord (``…/slack``), which ignore ``blocks``.
"""

from __future__ import annotations

from typing import Any

from app.notify.events import Event

# Hex colours: Mattermost and Discord do not know Slack's "good"/"warning"/"danger".
COLORS: dict[str, str] = {"info": "#2eb886", "warning": "#daa038", "critical": "#d50200"}

# Slack truncates or refuses very long messages; go's output in a reason can be long.
MAX_TEXT = 3000
MAX_FIELD = 1000
# Fields that are short enough to sit two to a row.
_LONG_FIELDS = {"Reason", "Stored sha256", "Upstream sha256"}


def escape(s: str) -> str:
    """Slack's three control characters, so `<nil>` is not read as a link."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def fallback_text(event: Event) -> str:
    """The one line shown in notifications and by clients that ignore attachments."""
    prefix = "" if event.severity == "info" else f"[{event.severity.upper()}] "
    return escape(_clip(prefix + event.title, MAX_TEXT))


def payload(event: Event) -> dict[str, Any]:
    """The JSON body to POST to a Slack-compatible webhook."""
    fields = [
        {
            "title": name,
            "value": escape(_clip(value, MAX_FIELD)),
            "short": name not in _LONG_FIELDS and len(value) <= 40,
        }
        for name, value in event.fields.items()
    ]
    fields.append({"title": "Severity", "value": event.severity, "short": True})
    attachment = {
        "fallback": fallback_text(event),
        "color": COLORS[event.severity],
        "title": escape(_clip(event.title, 250)),
        "text": escape(_clip(event.text, MAX_TEXT)),
        "fields": fields,
        "footer": f"Depot · {event.kind}",
        "mrkdwn_in": [],
    }
    return {"username": "Depot", "text": fallback_text(event), "attachments": [attachment]}

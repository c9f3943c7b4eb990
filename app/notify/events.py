"""The notifier's vocabulary: what happened, how bad it is, and the facts that go with it.

Callers build events with the constructors below rather than free-form text, so
every webhook sees the same titles and fields for the same kind of thing, and the
quiet window can decide by severity alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")

# Event kinds (stable strings: receivers may filter on them).
VERSION_PUBLISHED = "version_published"
REQUEST_REJECTED = "request_rejected"
REQUEST_FAILED = "request_failed"
CHECKSUM_MISMATCH = "checksum_mismatch"
UPSTREAM_DRIFT = "upstream_drift"
QUEUE_BACKLOG = "queue_backlog"
TEST = "test"


@dataclass(frozen=True)
class Event:
    """One thing worth telling people about.

    ``critical`` events are never silenced by a deployment's quiet window: a
    checksum mismatch during a redeploy is still a possible attack.
    """

    kind: str
    title: str
    text: str
    module: str | None = None
    version: str | None = None
    severity: Severity = "info"
    fields: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")

    @property
    def silenceable(self) -> bool:
        """Whether a deployment in progress may hold this event back."""
        return self.severity != "critical"

    @property
    def subject(self) -> str:
        """``module@version``, ``module`` or "" — what the event is about."""
        if self.module and self.version:
            return f"{self.module}@{self.version}"
        return self.module or ""


def _value(v: object) -> str:
    # Accepts enums (ArtifactKind.zip) as well as plain strings.
    return str(v.value) if isinstance(v, enum.Enum) else str(v)


def version_published(module: str, version: str) -> Event:
    """A version passed every gate and is now served by the GOPROXY."""
    return Event(
        kind=VERSION_PUBLISHED,
        title=f"Published {module}@{version}",
        text=f"{module}@{version} is now served and shown in the portal.",
        module=module,
        version=version,
        fields={"Module": module, "Version": version},
    )


def _request_ended(kind: str, outcome: str, module: str, query: str, reason: str) -> Event:
    return Event(
        kind=kind,
        title=f"Request {outcome}: {module}@{query}",
        text=reason,
        module=module,
        version=query,
        severity="warning",
        fields={"Module": module, "Query": query, "Reason": reason},
    )


def request_rejected(module: str, query: str, reason: str) -> Event:
    """A request was refused for good (license, zip rules, unknown module)."""
    return _request_ended(REQUEST_REJECTED, "rejected", module, query, reason)


def request_failed(module: str, query: str, reason: str) -> Event:
    """A request ended in a transient failure (upstream down, timeout); it may be retried."""
    return _request_ended(REQUEST_FAILED, "failed", module, query, reason)


def checksum_mismatch(module: str, version: str, reason: str) -> Event:
    """Bytes disagree with the checksum database or with what Depot stored.

    Critical, so never silenced: it is what a tampered upstream looks like.
    """
    return Event(
        kind=CHECKSUM_MISMATCH,
        title=f"Checksum mismatch: {module}@{version}",
        text=reason,
        module=module,
        version=version,
        severity="critical",
        fields={"Module": module, "Version": version, "Reason": reason},
    )


def upstream_drift(
    module: str, version: str, kind: object, stored_sha256: str, upstream_sha256: str,
    stored_h1: str = "", upstream_h1: str = "",
) -> Event:
    """The upstream now offers other bytes for a version Depot holds, or (kind ``gone``)
    no longer has it at all; either way Depot keeps serving its own."""
    kind_s = _value(kind)
    if kind_s == "gone":
        return Event(
            kind=UPSTREAM_DRIFT,
            title=f"Upstream gone: {module}@{version}",
            text=(
                f"The upstream no longer serves {module}@{version} (a deleted repository "
                "or tag); Depot keeps serving the bytes it captured."
            ),
            module=module,
            version=version,
            severity="warning",
            fields={"Module": module, "Version": version, "File": "(all: gone upstream)",
                    "Stored sha256": stored_sha256},
        )
    fields = {
        "Module": module,
        "Version": version,
        "File": f".{kind_s}",
        "Stored sha256": stored_sha256,
        "Upstream sha256": upstream_sha256 or "(refused by the checksum database)",
    }
    if stored_h1 or upstream_h1:
        fields.update({"Stored h1": stored_h1 or "-", "Upstream h1": upstream_h1 or "-"})
    return Event(
        kind=UPSTREAM_DRIFT,
        title=f"Upstream drift: {module}@{version} .{kind_s}",
        text=(
            f"The upstream now serves different .{kind_s} bytes for {module}@{version}; "
            "Depot keeps serving the bytes it captured first."
        ),
        module=module,
        version=version,
        severity="warning",
        fields=fields,
    )


def queue_backlog(queue: str, depth: int, threshold: int) -> Event:
    """A queue holds more jobs than DEPOT_BACKLOG_ALERT allows: workers are behind."""
    return Event(
        kind=QUEUE_BACKLOG,
        title=f"Queue backlog: {queue} has {depth} jobs",
        text=f"The {queue} queue holds {depth} jobs, over the alert threshold of {threshold}.",
        severity="warning",
        fields={"Queue": queue, "Depth": str(depth), "Threshold": str(threshold)},
    )


def trial_event(note: str = "") -> Event:
    """What `flask --app app notify-test` sends: proves the webhooks are wired up."""
    return Event(
        kind=TEST,
        title="Depot notification test",
        text=note or "If you can read this, Depot can reach this webhook.",
    )

"""One event of every kind, shared by the tests."""

from __future__ import annotations

from app.models import ArtifactKind
from app.notify import (
    Event,
    checksum_mismatch,
    queue_backlog,
    request_failed,
    request_rejected,
    upstream_drift,
    version_published,
)

MODULE = "depot.test/notify/m"

EVENTS: dict[str, Event] = {
    "version_published": version_published(MODULE, "v1.2.3"),
    "request_rejected": request_rejected(
        MODULE, "v2.0.0", "license GPL-3.0 is not redistributable"
    ),
    "request_failed": request_failed(MODULE, "latest", "upstream answered 502 <nil>"),
    "checksum_mismatch": checksum_mismatch(
        MODULE, "v1.2.3", "verifying module: checksum mismatch\n\tdownloaded: h1:abc=\n"
        "\tsum.golang.org: h1:def="
    ),
    "upstream_drift": upstream_drift(MODULE, "v1.2.3", ArtifactKind.zip, "a" * 64, "b" * 64),
    "queue_backlog": queue_backlog("processor", 512, 100),
}

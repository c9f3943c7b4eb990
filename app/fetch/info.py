"""A version's ``.info`` as Depot reads it (its Time), in a module of its own: the
load's zip-checks process imports it, and its start is on a cold walk's way
(app/pipeline/zipjudge.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from app.fetch.errors import InvalidModule

# How far past the capture an upstream .info's Time may lie. A commit time comes from
# the committer's clock and its zone, so a little ahead of ours is honest skew; a
# version "made" later than that (9999-12-31T23:59:59-23:59 was served) is refused: it
# would stand as the newest release for ever (its date on the portal, insight's
# recency) and is past what PostgreSQL can store.
CLOCK_SKEW = timedelta(hours=24)


def info_time(module: str, version: str, info: bytes, now: datetime) -> datetime | None:
    """The Time of a version's .info, None when it has none Depot can read.

    Raises :class:`InvalidModule`, naming the version and the time, when the Time is
    more than :data:`CLOCK_SKEW` past ``now`` (the capture)."""
    try:
        raw = json.loads(info).get("Time")
        when = datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None
    except (ValueError, AttributeError):
        return None
    if when is None:
        return None
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    # Compared as a difference: a time past 9999 in UTC cannot be converted to UTC.
    if aware - now > CLOCK_SKEW:
        raise InvalidModule(
            f"{module}@{version}: the upstream's .info dates it {raw}, more than "
            f"{CLOCK_SKEW.total_seconds() / 3600:.0f} hours after its capture "
            f"({now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}): refused")
    try:
        aware.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00: before the year 1 in UTC
        raise InvalidModule(f"{module}@{version}: the upstream's .info dates it {raw}, "
                            "before the year 1 in UTC: refused") from None
    return when

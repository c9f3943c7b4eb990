"""Reading the audit trail: the one set of filters behind the admin page
(``/admin/audit``) and ``GET /api/v1/audit``, so both refuse the same bad input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from app.audit import ACTIONS, Filters
from app.errors import BadRequest
from app.inputs import whole_number
from app.models import AuditEvent
from app.resources import Services

PER_PAGE = 50
MOST = 200
# Longest filter texts: an actor's name and a target's (the columns' widths).
LONGEST = {"actor": 120, "target": 600}


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    filters: Filters
    limit: int
    older: int | None  # the cursor of the next (older) page; None on the last


def _text(args: Mapping[str, str], name: str) -> str:
    value = args.get(name, "").strip()
    if len(value) > LONGEST[name] or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise BadRequest(f"{name!r} must be at most {LONGEST[name]} printable characters")
    return value


def _moment(args: Mapping[str, str], name: str, end: bool) -> datetime | None:
    """A day (``2026-12-07``: from its start, or for ``until`` through its end) or an
    ISO 8601 time, naive ones taken as UTC."""
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(),
                                      tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name!r} must be a day (2026-12-07) or an ISO 8601 time, "
                         f"not {raw[:40]!r}") from None
    if not 1970 <= moment.year <= 9998:
        raise BadRequest(f"{name!r} must be a time between 1970 and 9998")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _whole(args: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    value = whole_number(raw, low, high)
    if value is None:
        raise BadRequest(f"{name!r} must be a whole number from {low} to {high}")
    return value


def filters_from(args: Mapping[str, str]) -> tuple[Filters, int]:
    """The filters and page size a query string asks for; BadRequest says what is wrong."""
    action = args.get("action", "").strip()
    if action and action not in ACTIONS:
        raise BadRequest(f"'action' must be one of {', '.join(ACTIONS)}")
    filters = Filters(action=action, actor=_text(args, "actor"),
                      target=_text(args, "target"),
                      since=_moment(args, "since", end=False),
                      until=_moment(args, "until", end=True),
                      before=_whole(args, "before", 1, 2**62))
    return filters, _whole(args, "limit", 1, MOST) or PER_PAGE


def page(svc: Services, filters: Filters, limit: int) -> AuditPage:
    """The newest ``limit`` events that match, and where the next page starts."""
    with svc.db.session() as session:
        found = filters.matching(session, limit + 1)
        session.expunge_all()
    older = found[limit - 1].id if len(found) > limit else None
    return AuditPage(found[:limit], filters, limit, older)


def query_args(filters: Filters, limit: int, before: int | None) -> dict[str, str]:
    """The query string of a page of the same filters (the "older" link)."""
    shown = replace(filters, before=before)
    args = {"action": shown.action, "actor": shown.actor, "target": shown.target,
            "since": shown.since.isoformat() if shown.since else "",
            "until": shown.until.isoformat() if shown.until else "",
            "before": str(shown.before) if shown.before else "",
            "limit": str(limit) if limit != PER_PAGE else ""}
    return {k: v for k, v in args.items() if v}

"""The quiet window: while a deployment is marked in progress, routine alerts wait.

A redeploy restarts workers, drains queues and briefly fails fetches; GoCenter
marked its deployments so that such noise was not mistaken for an incident.
`flask --app app deploy start` opens a window, `deploy end` closes it.

Safety cap: a window counts as open only for :data:`QUIET_CAP` (2 hours) after
its start. A forgotten `deploy end` (a crashed CI job) therefore cannot silence
alerts forever; after the cap, alerts flow again even though the row is still open,
and `deploy status` says so. Critical events ignore the window altogether.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Deployment

QUIET_CAP = timedelta(hours=2)


def _open_rows(session: Session) -> list[Deployment]:
    stmt = (
        select(Deployment)
        .where(Deployment.ended_at.is_(None))
        .order_by(Deployment.started_at.desc(), Deployment.id.desc())
    )
    return list(session.scalars(stmt))


def current_deployment(session: Session) -> Deployment | None:
    """The latest deployment not yet ended, however old (None when there is none)."""
    rows = _open_rows(session)
    return rows[0] if rows else None


def start_deployment(session: Session, note: str = "", now: datetime | None = None) -> Deployment:
    """Open a quiet window now.

    Any window still open is closed first, so a re-run `deploy start` (a retried
    CI job) restarts the window and its cap instead of stacking rows.
    """
    now = now or datetime.now(UTC)
    for row in _open_rows(session):
        row.ended_at = now
    row = Deployment(started_at=now, note=note)
    session.add(row)
    session.flush()
    return row


def end_deployment(session: Session, now: datetime | None = None) -> Deployment | None:
    """Close every open window; returns the latest one, or None if none was open.

    Ending when nothing is open is not an error: deploy scripts may call it twice.
    """
    now = now or datetime.now(UTC)
    rows = _open_rows(session)
    for row in rows:
        row.ended_at = now
    session.flush()
    return rows[0] if rows else None


def deployment_in_progress(
    session: Session, now: datetime | None = None, cap: timedelta = QUIET_CAP
) -> bool:
    """Whether a window is open and younger than the safety cap (see module doc)."""
    row = current_deployment(session)
    if row is None:
        return False
    now = now or datetime.now(UTC)
    return now - row.started_at < cap

"""The quiet window on each database backend, and the migration that adds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, inspect, select

from app.db import Database, make_engine
from app.migrate import current, downgrade, upgrade
from app.models import Deployment
from app.notify import (
    QUIET_CAP,
    deployment_in_progress,
    end_deployment,
    notify,
    start_deployment,
)
from tests.notify.conftest import Receiver
from tests.notify.events import EVENTS


def _hooks(receiver: Receiver) -> list[str]:
    return [receiver.url("/a"), receiver.url("/b")]


def test_migration_adds_and_removes_deployments(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0002")
        assert current(engine) == "0002"
        columns = {c["name"]: c for c in inspect(engine).get_columns("deployments")}
        assert set(columns) == {"id", "started_at", "ended_at", "note"}
        assert columns["ended_at"]["nullable"] and not columns["started_at"]["nullable"]
        downgrade(engine, "0001")
        assert current(engine) == "0001"
        tables = set(inspect(engine).get_table_names())
        assert "deployments" not in tables and "modules" in tables
        upgrade(engine, "0002")
        assert "deployments" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_start_end_and_status(db: Database) -> None:
    with db.session() as s:
        assert not deployment_in_progress(s)
        assert end_deployment(s) is None  # ending nothing is fine
        first = start_deployment(s, note="release 41")
    with db.session() as s:
        assert deployment_in_progress(s)
        again = start_deployment(s, note="release 42")  # a retried deploy restarts the window
        assert again.id != first.id
    with db.session() as s:
        open_rows = s.scalar(
            select(func.count()).select_from(Deployment).where(Deployment.ended_at.is_(None))
        )
        assert open_rows == 1
        ended = end_deployment(s)
        assert ended is not None and ended.id == again.id and ended.note == "release 42"
    with db.session() as s:
        assert not deployment_in_progress(s)
        assert end_deployment(s) is None
        assert s.scalar(select(func.count()).select_from(Deployment)) == 2


def test_routine_events_are_quiet_during_a_deployment(db: Database, receiver: Receiver) -> None:
    hooks = _hooks(receiver)
    with db.session() as s:
        start_deployment(s, note="redeploy")
    for kind, event in EVENTS.items():
        if kind != "checksum_mismatch":
            assert notify(db, event, hooks) == [], kind
    assert receiver.hits == []

    # A checksum mismatch is a security event: it goes out even now.
    deliveries = notify(db, EVENTS["checksum_mismatch"], hooks)
    assert [d.ok for d in deliveries] == [True, True]
    assert [b["text"] for b in receiver.bodies("/a")] == [
        "[CRITICAL] Checksum mismatch: depot.test/notify/m@v1.2.3"
    ]

    with db.session() as s:
        end_deployment(s)
    deliveries = notify(db, EVENTS["version_published"], hooks)
    assert [d.ok for d in deliveries] == [True, True]
    assert len(receiver.bodies("/b")) == 2


def test_safety_cap_ends_the_quiet(db: Database, receiver: Receiver) -> None:
    with db.session() as s:
        row = start_deployment(s, note="forgotten")
        row.started_at = datetime.now(UTC) - QUIET_CAP - timedelta(minutes=1)
    with db.session() as s:
        assert not deployment_in_progress(s)
        assert deployment_in_progress(s, cap=QUIET_CAP + timedelta(hours=1))
    deliveries = notify(db, EVENTS["request_failed"], _hooks(receiver))
    assert [d.ok for d in deliveries] == [True, True]
    # A shorter cap given to notify applies too.
    with db.session() as s:
        start_deployment(s)
    assert notify(db, EVENTS["request_failed"], _hooks(receiver)) == []
    assert notify(db, EVENTS["request_failed"], _hooks(receiver), quiet_cap=timedelta(0))


def test_cap_boundary(db: Database) -> None:
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    with db.session() as s:
        start_deployment(s, now=start)
    with db.session() as s:
        assert deployment_in_progress(s, now=start + QUIET_CAP - timedelta(seconds=1))
        assert not deployment_in_progress(s, now=start + QUIET_CAP)


def test_notify_fails_open_without_the_table(empty_database_url: str, receiver: Receiver
                                             ) -> None:
    """A database that cannot answer must neither raise nor swallow the alert."""
    db = Database(empty_database_url)  # never migrated: no deployments table
    try:
        deliveries = notify(db, EVENTS["version_published"], _hooks(receiver))
        assert [d.ok for d in deliveries] == [True, True]
    finally:
        db.dispose()


def test_no_webhooks_is_a_no_op(db: Database) -> None:
    assert notify(db, EVENTS["checksum_mismatch"], []) == []

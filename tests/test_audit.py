"""The audit trail's own logic: what a row says (secrets out, request id in), the
filters an admin narrows it with, the cursor of older pages, retention, and the
operators' commands recorded as who ran them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app import audit
from app.errors import BadRequest
from app.logs import request_id_scope
from app.models import AuditEvent
from app.redact import register
from app.services.audit import filters_from, page
from app.wiring import Services

WHO = audit.Actor("ci-bot", "requester", "10.0.0.7")


def _rows(services: Services) -> list[AuditEvent]:
    with services.db.session() as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        session.expunge_all()
    return rows


def test_a_row_says_who_what_where_and_under_which_request(services: Services) -> None:
    secret = "s3cr3t-upstream-password"
    register([f"https://user:{secret}@proxy.test/"])
    token = "depot_" + "A" * 43
    with audit.acting_as(WHO), request_id_scope("abc123"):
        audit.record(services.db, audit.REQUESTED, "depot.test/a@v1.0.0",
                     f"failed at https://user:{secret}@proxy.test/ with {token}")
    audit.record(services.db, audit.PUBLISHED, "depot.test/a@v1.0.0")  # the pipeline
    first, second = _rows(services)
    assert (first.actor, first.role, first.source, first.request_id) == (
        "ci-bot", "requester", "10.0.0.7", "abc123")
    assert secret not in first.detail and token not in first.detail
    assert "***" in first.detail
    assert (second.actor, second.role, second.source) == ("depot", "system", "worker")
    assert second.at.tzinfo is not None


def test_recording_never_fails_the_work(services: Services,
                                        caplog: pytest.LogCaptureFixture) -> None:
    services.db.engine.dispose()
    with services.db.session() as session:
        session.execute(AuditEvent.__table__.delete())
    # A target longer than its column is cut, not refused.
    audit.record(services.db, audit.REQUESTED, "x" * 5000, "y" * 10_000)
    row, = _rows(services)
    assert len(row.target) <= 600 and len(row.detail) <= audit.DETAIL_LIMIT

    class Broken:
        def session(self) -> object:
            raise RuntimeError("database down")

    audit.record(Broken(), audit.REQUESTED, "depot.test/a@v1.0.0")  # type: ignore[arg-type]
    assert "could not record module.requested" in caplog.text


def test_filters_and_older_pages(services: Services) -> None:
    base = datetime(2026, 12, 1, tzinfo=UTC)
    with services.db.session() as session:
        for i in range(7):
            actor = WHO if i % 2 else audit.PIPELINE
            session.add(audit.event(audit.PUBLISHED if i % 2 else audit.REQUESTED,
                                    f"depot.test/m{i}@v1.0.0", f"n{i}", actor,
                                    at=base + timedelta(days=i)))
    everything, _ = filters_from({})
    first = page(services, everything, 3)
    assert [e.target for e in first.events] == [f"depot.test/m{i}@v1.0.0" for i in (6, 5, 4)]
    assert first.older == first.events[-1].id
    second = page(services, audit.Filters(before=first.older), 3)
    last = page(services, audit.Filters(before=second.older), 3)
    assert [e.detail for e in second.events + last.events] == ["n3", "n2", "n1", "n0"]
    assert last.older is None

    by_actor, _ = filters_from({"actor": "ci-bot"})
    assert {e.actor for e in page(services, by_actor, 50).events} == {"ci-bot"}
    by_action, _ = filters_from({"action": audit.REQUESTED})
    assert len(page(services, by_action, 50).events) == 4
    by_target, _ = filters_from({"target": "depot.test/m3"})
    assert [e.detail for e in page(services, by_target, 50).events] == ["n3"]
    days, _ = filters_from({"since": "2026-12-02", "until": "2026-12-03"})
    assert [e.detail for e in page(services, days, 50).events] == ["n2", "n1"]
    # "_" and "%" are letters in a target, not patterns.
    assert page(services, audit.Filters(target="depot_test"), 50).events == []


@pytest.mark.parametrize("args", [
    {"action": "module.deleted"}, {"actor": "a\x00b"}, {"target": "x" * 601},
    {"since": "yesterday"}, {"until": "2026-13-01"}, {"since": "0001-01-01"},
    {"before": "-1"}, {"before": "1e9"}, {"limit": "0"}, {"limit": "201"},
])
def test_bad_filters_say_what_is_wrong(args: dict[str, str]) -> None:
    with pytest.raises(BadRequest) as refused:
        filters_from(args)
    assert repr(next(iter(args))) in refused.value.reason


def test_retention(services: Services) -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    with services.db.session() as session:
        for age in (0, 10, 400, 800):
            session.add(audit.event(audit.REQUESTED, f"age{age}", at=now - timedelta(days=age)))
    assert audit.prune(services.db, 0, now) == 0  # 0 keeps everything
    assert audit.prune(services.db, 365, now) == 2
    assert [r.target for r in _rows(services)] == ["age0", "age10"]


def test_retention_deletes_in_batches(services: Services,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "PRUNE_BATCH", 3)
    old = datetime(2020, 1, 1, tzinfo=UTC)
    with services.db.session() as session:
        session.add_all(audit.event(audit.REQUESTED, f"m{i}", at=old) for i in range(8))
    assert audit.prune(services.db, 30) == 8
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_operators_commands_are_recorded_as_who_ran_them(services: Services) -> None:
    seen: list[audit.Actor] = []

    @click.group()
    def root() -> None: ...

    @root.group("tokens")
    def tokens() -> None: ...

    @tokens.command("revoke")
    @click.argument("name")
    def revoke(name: str) -> None:
        seen.append(audit.current_actor())
        if name == "nobody":
            raise click.ClickException("no token named 'nobody'")

    @tokens.command("list")
    def listing() -> None: ...

    @root.command("fsck")
    @click.option("--repair", is_flag=True)
    def fsck(repair: bool) -> None:
        raise SystemExit(1)

    audit.audit_commands(root, lambda: services.db)
    audit.audit_commands(root, lambda: services.db)  # a second app: not wrapped twice
    runner = CliRunner()
    assert runner.invoke(root, ["tokens", "revoke", "ci"]).exit_code == 0
    assert runner.invoke(root, ["tokens", "revoke", "nobody"]).exit_code == 1
    assert runner.invoke(root, ["tokens", "list"]).exit_code == 0
    assert runner.invoke(root, ["fsck", "--repair"]).exit_code == 1
    assert seen[0].name.startswith("cli:") and seen[0].source == "cli"
    assert audit.current_actor() == audit.PIPELINE  # only while the command ran
    rows = [(r.action, r.target, r.detail) for r in _rows(services)]
    assert rows == [
        (audit.COMMAND, "tokens revoke", "name=ci; done"),
        (audit.COMMAND, "tokens revoke", "name=nobody; refused: no token named 'nobody'"),
        (audit.COMMAND, "fsck", "repair=True; exit status 1"),
    ]

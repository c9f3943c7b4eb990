"""`flask --app app deploy start|end|status` and `flask --app app notify-test`.

Deploy scripts wrap a rollout in `deploy start` / `deploy end` so that the
restarts it causes are not reported as incidents; `notify-test` proves the
webhooks are reachable before an incident depends on them.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import click
from flask.cli import AppGroup, with_appcontext

from app.config import Settings
from app.db import Database
from app.notify.events import trial_event
from app.notify.quiet import (
    QUIET_CAP,
    current_deployment,
    end_deployment,
    start_deployment,
)
from app.notify.sender import redact_webhook, send
from app.resources import current_services


def _db() -> Database:
    return current_services().db


def _settings() -> Settings:
    return current_services().settings


def _when(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _config_lines() -> list[str]:
    """The notifier's settings as an operator should see them (URLs redacted)."""
    webhooks = _settings().webhooks
    threshold = _settings().backlog_alert
    hooks = (", ".join(redact_webhook(u) for u in webhooks) if webhooks
             else "none (DEPOT_NOTIFY_WEBHOOKS unset)")
    backlog = f"over {threshold} jobs" if threshold else "off (DEPOT_BACKLOG_ALERT unset or 0)"
    return [f"webhooks: {hooks}", f"backlog alert: {backlog}"]


"""Add the `deploy` group and `notify-test` to the app's CLI."""

@click.group("deploy", cls=AppGroup)
def deploy() -> None:
    """Mark a deployment so routine notifications stay quiet while it runs."""

@deploy.command("start")
@click.option("--note", default="", help="What is being deployed (shown by `status`).")
def deploy_start(note: str) -> None:
    """Open a quiet window (ends with `deploy end`, or by itself after the cap)."""
    with _db().session() as session:
        row = start_deployment(session, note=note)
        click.echo(
            f"deployment {row.id} started {_when(row.started_at)}"
            f"{f' ({note})' if note else ''}: non-critical notifications are quiet "
            f"until `deploy end` or for at most {_duration(QUIET_CAP)}"
        )

@deploy.command("end")
def deploy_end() -> None:
    """Close the quiet window; notifications flow again."""
    with _db().session() as session:
        row = end_deployment(session)
        if row is None:
            click.echo("no deployment in progress")
            return
        took = (row.ended_at or datetime.now(UTC)) - row.started_at
        click.echo(f"deployment {row.id} ended after {_duration(took)}")

@deploy.command("status")
def deploy_status() -> None:
    """Say whether notifications are quiet now, and how the notifier is configured."""
    now = datetime.now(UTC)
    with _db().session() as session:
        row = current_deployment(session)
        if row is None:
            click.echo("no deployment in progress: notifications are sent")
        else:
            started = row.started_at
            note = f" ({row.note})" if row.note else ""
            if now - started < QUIET_CAP:
                click.echo(
                    f"deployment {row.id} in progress since {_when(started)}{note}: "
                    f"non-critical notifications are quiet until `deploy end` "
                    f"or {_when(started + QUIET_CAP)}"
                )
            else:
                click.echo(
                    f"deployment {row.id} started {_when(started)}{note} was never ended; "
                    f"past the {_duration(QUIET_CAP)} safety cap notifications are sent "
                    "again (run `deploy end` to close it)"
                )
    for line in _config_lines():
        click.echo(line)

@click.command("notify-test")
@click.option("--note", default="", help="Text of the test message.")
@with_appcontext
def notify_test(note: str) -> None:
    """Send a test message to every DEPOT_NOTIFY_WEBHOOKS URL; exit 1 if any fails."""
    webhooks = list(_settings().webhooks)
    if not webhooks:
        click.echo("error: DEPOT_NOTIFY_WEBHOOKS is not set: no webhook to test", err=True)
        sys.exit(2)
    # The test ignores the quiet window on purpose: it checks wiring, not policy.
    deliveries = send(trial_event(note), webhooks)
    for d in deliveries:
        status = str(d.status) if d.status is not None else "-"
        verdict = "ok" if d.ok else "FAILED"
        detail = "" if d.ok else f"  {d.error}"
        click.echo(f"{verdict:>6}  {status:>3}  {d.target}{detail}")
    failed = sum(not d.ok for d in deliveries)
    click.echo(f"{len(deliveries) - failed}/{len(deliveries)} webhooks reached", err=True)
    if failed:
        sys.exit(1)



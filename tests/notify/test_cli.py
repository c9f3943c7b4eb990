"""`flask --app app deploy start|end|status` and `notify-test`, through the app's CLI runner."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from app.config import REPO_ROOT, Settings
from app.notify import QUIET_CAP, deployment_in_progress, notify
from app.notify.quiet import current_deployment
from tests.conftest import free_port, make_app, settings_env
from tests.notify.conftest import Receiver
from tests.notify.events import EVENTS


@pytest.fixture
def notify_app(settings: Settings) -> Iterator[Flask]:
    app = make_app(settings)
    yield app
    app.extensions["depot"].db.dispose()


def run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def configure(app: Flask, **changes: object) -> None:
    """What the app would have read from the environment at its start."""
    settings = app.extensions["depot"].settings
    for name, value in changes.items():
        setattr(settings, name, value)


def test_deploy_start_status_end(notify_app: Flask, receiver: Receiver) -> None:
    db = notify_app.extensions["depot"].db
    result = run(notify_app, "deploy", "status")
    assert result.exit_code == 0, result.output
    assert "no deployment in progress" in result.output
    assert "webhooks: none" in result.output and "backlog alert: off" in result.output

    result = run(notify_app, "deploy", "start", "--note", "release 42")
    assert result.exit_code == 0, result.output
    assert "started" in result.output and "release 42" in result.output
    with db.session() as s:
        assert deployment_in_progress(s)
    assert notify(db, EVENTS["request_failed"], [receiver.url("/a")]) == []

    result = run(notify_app, "deploy", "status")
    assert result.exit_code == 0
    assert "in progress since" in result.output and "release 42" in result.output

    result = run(notify_app, "deploy", "end")
    assert result.exit_code == 0
    assert "ended after" in result.output
    with db.session() as s:
        assert not deployment_in_progress(s)
    assert notify(db, EVENTS["request_failed"], [receiver.url("/a")])[0].ok

    result = run(notify_app, "deploy", "end")
    assert result.exit_code == 0 and "no deployment in progress" in result.output


def test_status_says_when_the_cap_has_passed(
    notify_app: Flask
) -> None:
    assert run(notify_app, "deploy", "start").exit_code == 0
    with notify_app.extensions["depot"].db.session() as s:
        row = current_deployment(s)
        assert row is not None
        row.started_at = datetime.now(UTC) - QUIET_CAP - timedelta(minutes=5)
    configure(notify_app, notify_webhooks="https://hooks.example/services/T/B/secret",
              backlog_alert=100)
    result = run(notify_app, "deploy", "status")
    assert result.exit_code == 0, result.output
    assert "never ended" in result.output and "safety cap" in result.output
    assert "webhooks: https://hooks.example/…" in result.output
    assert "secret" not in result.output
    assert "backlog alert: over 100 jobs" in result.output


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("DEPOT_BACKLOG_ALERT", "lots", "DEPOT_BACKLOG_ALERT must be a whole number"),
     ("DEPOT_BACKLOG_ALERT", "-1", "DEPOT_BACKLOG_ALERT must be at least 0"),
     ("DEPOT_NOTIFY_WEBHOOKS", "smtp://mail.example/x",
      "DEPOT_NOTIFY_WEBHOOKS entry 1 is not an http(s) URL")],
)
def test_a_bad_notifier_setting_stops_the_command_at_start(
    settings: Settings, name: str, value: str, message: str
) -> None:
    """Before, a bad DEPOT_NOTIFY_WEBHOOKS passed start-up and failed the first notify
    job; a negative DEPOT_BACKLOG_ALERT passed the settings and failed later."""
    env = {**settings_env(settings), name: value}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "deploy", "status"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and f"Error: {message}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_notify_test_reaches_every_webhook(
    notify_app: Flask, receiver: Receiver
) -> None:
    configure(notify_app, notify_webhooks=f"{receiver.url('/one')}, {receiver.url('/two')}")
    # Sent even during a deployment: it tests the wiring, not the policy.
    assert run(notify_app, "deploy", "start").exit_code == 0
    result = run(notify_app, "notify-test", "--note", "hello from the tests")
    assert result.exit_code == 0, result.output
    assert result.output.count("    ok  200") == 2
    assert "2/2 webhooks reached" in result.output
    for path in ("/one", "/two"):
        (body,) = receiver.bodies(path)
        assert body["attachments"][0]["text"] == "hello from the tests"


def test_notify_test_exits_1_when_a_webhook_fails(
    notify_app: Flask, receiver: Receiver
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/closed-secret"
    configure(notify_app,
              notify_webhooks=f"{receiver.url('/status/500')},{closed},{receiver.url('/fine')}")
    result = run(notify_app, "notify-test")
    assert result.exit_code == 1, result.output
    assert result.output.count("FAILED") == 2
    assert "    ok  200" in result.output and "1/3 webhooks reached" in result.output
    assert "closed-secret" not in result.output
    assert len(receiver.bodies("/fine")) == 1


def test_notify_test_without_webhooks_exits_2(notify_app: Flask) -> None:
    result = run(notify_app, "notify-test")
    assert result.exit_code == 2
    assert "DEPOT_NOTIFY_WEBHOOKS is not set" in result.output

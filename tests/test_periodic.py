"""The thread behind batched access lines and metric counts (app/periodic.py)."""

from __future__ import annotations

import time

import pytest

from app.periodic import Periodic


def test_a_failed_flush_is_said_and_the_next_ones_still_happen(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[float] = []

    def flush() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise OSError("disk full")

    every = Periodic(flush, "test-flush", interval=0.01)
    assert not every.on
    every.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert every.on and len(calls) >= 3
    assert "test-flush: a flush failed" in caplog.text and "disk full" in caplog.text
    every.forked()  # as in a forked child: stopped, its thread not its own
    assert not every.on

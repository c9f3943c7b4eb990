"""The first-use costs a process pays before anyone waits (app/pipeline/warm.py)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.models import Module
from app.pipeline.warm import warm_up
from tests.conftest import make_app


def test_warming_up_leaves_nothing_behind(settings: Settings,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="depot.pipeline")
    app = make_app(settings)
    services = app.extensions["depot"]
    try:
        warm_up(services)
        assert "warmed up for captures" in caplog.text
        with services.db.session() as session:  # its throw-away row was rolled back
            assert session.scalar(select(func.count()).select_from(Module)) == 0
    finally:
        services.db.dispose()


def test_a_failing_warm_up_is_said_and_never_fatal(settings: Settings,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(replace(settings, go_bin="/nonexistent/go"))
    services = app.extensions["depot"]
    try:
        warm_up(services)  # the toolchain's version cannot be asked: logged, not raised
        assert "warm-up incomplete" in caplog.text
    finally:
        services.db.dispose()

"""`flask --app app ingest`: progress lines, clear errors, non-zero exits."""

from __future__ import annotations

from dataclasses import replace

from app.config import Settings
from tests.conftest import make_app


def test_ingest_prints_progress_and_exits_zero(app):
    result = app.test_cli_runner().invoke(args=["ingest", "depot.test/chain/a@v1.0.0", "--deps"])
    assert result.exit_code == 0, result.output
    assert "published  depot.test/chain/c@v1.0.0" in result.output
    assert "3/3 module versions available" in result.output
    again = app.test_cli_runner().invoke(args=["ingest", "depot.test/chain/a@v1.0.0"])
    assert "present" in again.output and "no upstream call" in again.output


def test_bad_input_exits_2_with_the_reason(app):
    result = app.test_cli_runner().invoke(args=["ingest", "Not/A/Module@v1.0.0"])
    assert result.exit_code == 2
    assert "malformed module path" in result.output
    result = app.test_cli_runner().invoke(args=["ingest", "depot.test/x@yesterday"])
    assert result.exit_code == 2 and "not a canonical version" in result.output


def test_missing_module_exits_1(app):
    result = app.test_cli_runner().invoke(args=["ingest", "depot.test/missing@v1.0.0"])
    assert result.exit_code == 1
    assert "not_found" in result.output


def test_sumdb_off_warns(settings: Settings):
    app = make_app(replace(settings, gosumdb="off"))
    result = app.test_cli_runner().invoke(args=["ingest", "depot.test/chain/c@v1.0.0"])
    assert result.exit_code == 0
    assert "NOT verified" in result.output
    app.extensions["depot"].db.dispose()

"""The doc helper's build: once per revision, and ahead of use by the image's command."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.pkgdoc.helper_binary import main
from tests.conftest import SHARED_TOOLS


def test_the_command_finds_a_built_helper_and_says_where(godoc_helper: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    """What the Dockerfile runs: a helper of this revision is there, so nothing is built."""
    before = godoc_helper.stat().st_mtime_ns
    assert main([str(SHARED_TOOLS)]) == 0
    assert capsys.readouterr().out.strip() == str(godoc_helper)
    assert godoc_helper.stat().st_mtime_ns == before


def test_the_command_says_how_to_call_it(capsys: pytest.CaptureFixture) -> None:
    assert main([]) == 2
    assert "usage: python -m app.pkgdoc.helper_binary TOOLS_DIR" in capsys.readouterr().err

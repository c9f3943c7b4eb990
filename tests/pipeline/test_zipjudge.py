"""The load's zip-checks process starts with only what its checks use."""

from __future__ import annotations

import json
import subprocess
import sys

# What the checks never use, and what a start once spent most of its 0.22 s of CPU
# importing while a client walked a graph beside it.
HEAVY = ("requests", "urllib3", "flask", "sqlalchemy", "app.config", "app.fetch.download",
         "app.fetch.upstream")


def test_the_checks_process_imports_nothing_heavy() -> None:
    code = ("import json, sys; import app.pipeline.zipjudge; "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == []


def test_the_gate_judges_with_the_checks_own_functions() -> None:
    """The web processes' judgement (judge_ahead) and the checks' (judge_fetched) share
    their verdict: one Servable, one license check."""
    from app.pipeline import gate, zipjudge

    assert gate.Servable is zipjudge.Servable
    assert gate._servable is zipjudge._servable

"""The load's zip-checks process starts with only what its checks use."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from tests.gomod._zips import write_zip

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


def test_private_modules_pass_the_license_gate_only_when_the_operator_exempts_them(
    tmp_path: Path,
) -> None:
    from app.config import Settings
    from app.pipeline import gate

    prefix = "corp.example/tool@v1.0.0/"
    zip_path = write_zip(tmp_path / "m.zip", [(prefix + "go.mod", b"module corp.example/tool\n"),
                                              (prefix + "LICENSE", b"All rights reserved.\n")])
    checked = Settings.from_env({"DEPOT_PRIVATE": "corp.example"})
    exempt = replace(checked, private_license="exempt")
    refused = gate.license_verdict(checked, zip_path, "corp.example/tool", "v1.0.0", ["LICENSE"])
    assert not refused.redistributable and refused.reason
    served = gate.license_verdict(exempt, zip_path, "corp.example/tool", "v1.0.0", ["LICENSE"])
    assert served.redistributable and served.reason == ""
    assert served.licenses == refused.licenses  # still read, and shown
    # A public module is judged as ever, whatever the private ones' exemption.
    public = "example.com/tool"
    zip_public = write_zip(tmp_path / "p.zip", [(f"{public}@v1.0.0/LICENSE",
                                                 b"All rights reserved.\n")])
    assert not gate.license_verdict(exempt, zip_public, public, "v1.0.0",
                                    ["LICENSE"]).redistributable

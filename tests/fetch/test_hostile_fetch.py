"""The fetch step against hostile bytes: non-UTF-8 output, oversize go.mod, lying zips."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.config import Settings
from app.fetch.download import _read_capped, diagnose_zip
from app.fetch.errors import ZipRulesBroken
from app.fetch.gotool import run_go
from app.gomod.errors import GoModError
from tests.security.hostile import write_case


def test_run_go_survives_output_that_is_not_utf8(tmp_path: Path) -> None:
    # A zip entry named with bytes \xff\xfe is echoed by go in its error text.
    code = "import sys; sys.stdout.buffer.write(b'bad-\\xff\\xfe.go')"
    run = run_go(sys.executable, ["-c", code], {}, tmp_path, 30)
    assert run.stdout == "bad-\ufffd\ufffd.go"


def test_read_capped_refuses_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "go.mod"
    big.write_bytes(b"x" * 101)
    with pytest.raises(GoModError, match="too large"):
        _read_capped(big, 100)
    assert _read_capped(big, 101) == b"x" * 101


def test_diagnose_explains_a_zip_that_lies_about_its_size(tmp_path: Path) -> None:
    root = tmp_path / "proxy"
    case = write_case(root, "claimed")
    settings = Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path / "data"),
                                  "DEPOT_UPSTREAM": root.as_uri(), "DEPOT_GOSUMDB": "off"})
    error = diagnose_zip(settings, tmp_path, case.path, "v1.0.0")
    assert isinstance(error, ZipRulesBroken) and "too large" in error.reason
    assert not (tmp_path / "diagnose.zip").exists()
    assert diagnose_zip(settings, tmp_path, "depot.test/absent", "v1.0.0") is None


def test_diagnose_names_the_entry_of_a_lying_bomb(tmp_path: Path) -> None:
    root = tmp_path / "proxy"
    case = write_case(root, "bomblying")
    settings = Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path / "data"),
                                  "DEPOT_UPSTREAM": root.as_uri(), "DEPOT_GOSUMDB": "off"})
    error = diagnose_zip(settings, tmp_path, case.path, "v1.0.0")
    assert isinstance(error, ZipRulesBroken) and "zeros.bin" in error.reason
    assert "larger than declared" in error.reason


def test_the_toolchain_leaves_nothing_behind_in_its_work_folder(tmp_path: Path) -> None:
    import shutil
    import time

    from app.fetch.gotool import isolated_env
    from tests.conftest import GO

    work = tmp_path / "work"
    env = isolated_env(work, "off", "off")
    assert run_go(GO, ["env", "GOTELEMETRY"], env, work, 60).stdout.strip() == "off"
    shutil.rmtree(work)
    time.sleep(1)  # a detached telemetry child would have recreated it by now
    assert not work.exists()

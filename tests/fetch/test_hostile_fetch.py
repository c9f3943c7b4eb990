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


ABSURD_TIME = "9999-12-31T23:59:59-23:59"  # past the year 9999 once in UTC


def test_an_info_time_far_in_the_future_is_refused_naming_it(tmp_path: Path) -> None:
    """The go command passes the upstream's .info Time through into its module cache, and
    describe() reads it there: a capture of a version "made" in the year 9999 is refused
    (it earned full release recency in the insight score before), with a reason that
    names the module, the version and the time."""
    from app.fetch.download import Failed, download
    from app.fetch.errors import InvalidModule
    from tests.conftest import GO
    from tests.fixtures.upstream import fixture_module, module_dir, upstream_of

    module = "depot.test/future/info"
    future = fixture_module(module, "v1.0.0")
    future.info_time = ABSURD_TIME
    up = upstream_of(tmp_path / "proxy", [future])
    assert ABSURD_TIME in (module_dir(up.root, module) / "v1.0.0.info").read_text()
    settings = Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path / "data"), "DEPOT_GO": GO,
                                  "DEPOT_UPSTREAM": up.url, "DEPOT_GOSUMDB": "off"})
    work = tmp_path / "work"
    work.mkdir()
    got = download(settings, work, module, "v1.0.0")
    # The path the .info takes: the toolchain's module cache, its Time unchanged.
    cached = module_dir(work / "modcache" / "cache" / "download", module) / "v1.0.0.info"
    assert ABSURD_TIME in cached.read_text()
    assert isinstance(got, Failed), got
    assert isinstance(got.error, InvalidModule) and got.error.permanent
    reason = got.error.reason
    assert f"{module}@v1.0.0" in reason and ABSURD_TIME in reason, reason
    assert str(work) not in reason


def test_an_info_time_is_taken_up_to_a_day_ahead_of_the_capture() -> None:
    """Clocks disagree (the upstream's, the committer's, ours): a day ahead of the capture
    is taken as it is, more is refused; an unreadable Time stays unknown, as before."""
    from datetime import UTC, datetime, timedelta

    from app.fetch.errors import InvalidModule
    from app.fetch.info import CLOCK_SKEW, info_time

    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    def info(when: str) -> bytes:
        return f'{{"Version":"v1.0.0","Time":"{when}"}}'.encode()

    assert CLOCK_SKEW == timedelta(hours=24)
    soon = (now + CLOCK_SKEW - timedelta(minutes=1)).isoformat()
    assert info_time("depot.test/m", "v1.0.0", info(soon), now) == datetime.fromisoformat(soon)
    assert info_time("depot.test/m", "v1.0.0", info("2019-01-02T03:04:05Z"), now) == datetime(
        2019, 1, 2, 3, 4, 5, tzinfo=UTC)
    late = (now + CLOCK_SKEW + timedelta(minutes=1)).isoformat()
    with pytest.raises(InvalidModule, match="depot.test/m@v1.0.0"):
        info_time("depot.test/m", "v1.0.0", info(late), now)
    with pytest.raises(InvalidModule) as refused:
        info_time("depot.test/m", "v1.0.0", info(ABSURD_TIME), now)
    assert ABSURD_TIME in refused.value.reason
    with pytest.raises(InvalidModule, match="before the year 1"):
        info_time("depot.test/m", "v1.0.0", info("0001-01-01T00:00:00+01:00"), now)
    assert info_time("depot.test/m", "v1.0.0", info("yesterday"), now) is None
    assert info_time("depot.test/m", "v1.0.0", b'{"Version":"v1.0.0"}', now) is None

"""Zip checks in a process of their own, and which zips go there
(app/fetch/zipchecker.py)."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest

from app.fetch import zipchecker
from app.gomod.h1 import hash_zip
from tests.fixtures.upstream import fixture_module

MODULE = "depot.test/checked"


def _zip(tmp_path: Path, name: str, files: dict[str, bytes] | None = None) -> Path:
    mod = fixture_module(MODULE, "v1.0.0")
    if files:
        mod.files.update(files)
    path = tmp_path / name
    path.write_bytes(mod.zip_bytes())
    return path


def _request(path: Path) -> dict:
    return {"path": str(path), "module": MODULE, "version": "v1.0.0", "info": ""}


def test_the_child_answers_each_zip_with_its_hash_or_the_rule_it_breaks(
    tmp_path: Path
) -> None:
    good = _zip(tmp_path, "good.zip")
    vendored = _zip(tmp_path, "vendored.zip", {"vendor/x/x.go": b"package x\n"})
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"not a zip")
    checks = zipchecker.ZipChecks()
    try:
        asked = [checks.ask(_request(p)) for p in (good, vendored, garbage, good)]
        answers = [done.result(timeout=60) for done in asked]
    finally:
        checks.close()
    assert answers[0] == answers[3] == {"h1": hash_zip(io.BytesIO(good.read_bytes()))}
    assert "vendor directory" in answers[1]["error"]
    assert "not a valid zip file" in answers[2]["error"]
    assert checks._proc.returncode == 0  # ended when asked to, not killed


def test_asking_a_child_that_is_gone_says_so(tmp_path: Path) -> None:
    checks = zipchecker.ZipChecks()
    checks._proc.kill()
    checks._proc.wait()
    with pytest.raises(OSError, match="zip checks"):
        checks.ask(_request(_zip(tmp_path, "good.zip"))).result(timeout=30)
    checks.close()


def test_a_small_build_list_is_checked_here_and_a_big_zip_starts_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = _zip(tmp_path, "small.zip")
    big = _zip(tmp_path, "big.zip", {"data.bin": os.urandom(4096)})
    monkeypatch.setattr(zipchecker, "IN_PROCESS_MAX", small.stat().st_size)
    here: list[str] = []
    lock = threading.Lock()

    def checked_here(request: dict) -> dict:
        with lock:
            here.append(Path(request["path"]).name)
        assert request["color"] == "blue"  # the context goes with every request
        return zipchecker.check_rules_and_hash(request)

    checker = zipchecker.Checker(zipchecker.Checks(here=checked_here,
                                                   context={"color": "blue"}))
    try:
        assert checker(_request(small))["h1"] == hash_zip(small)
        assert checker._child is None, "a small zip started a process"
        assert checker(_request(big))["h1"] == hash_zip(big)
        assert checker._child is not None
        # Once the child runs, every zip goes there.
        assert checker(_request(small))["h1"] == hash_zip(small)
    finally:
        checker.close()
    assert here == ["small.zip"]


def test_a_big_build_list_sends_every_zip_to_the_child(tmp_path: Path) -> None:
    small = _zip(tmp_path, "small.zip")

    def never_here(request: dict) -> dict:
        raise AssertionError("checked in the web process")

    checker = zipchecker.Checker(zipchecker.Checks(here=never_here))
    try:
        checker.start()
        assert checker(_request(small)) == {"h1": hash_zip(small)}
    finally:
        checker.close()
    checker.close()  # twice is harmless

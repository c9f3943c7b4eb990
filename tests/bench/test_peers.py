"""The peers benchmark's arguments and what it loads: each target is asked only for what it
can serve, and a wrong Athens is refused before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import peers
from bench.peers import NGINX, SIDECAR, files, parse_args, serves


def test_the_loaded_files_are_the_goproxy_paths_of_real_modules() -> None:
    paths = files()
    assert paths[".info"] == "/github.com/spf13/cobra/@v/v1.8.1.info"
    assert paths["@latest"] == "/github.com/spf13/cobra/@latest"
    assert paths["32 KB .zip"] == "/github.com/google/uuid/@v/v1.6.0.zip"


def test_a_static_tree_is_not_asked_for_latest() -> None:
    assert not serves(NGINX, "@latest")
    assert serves(NGINX, "@v/list") and serves(SIDECAR, "@latest")


def test_an_athens_binary_that_cannot_run_is_refused(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "athens"
    with pytest.raises(SystemExit) as stop:
        parse_args(["--athens-bin", str(missing)])
    assert stop.value.code == 2
    assert "not an executable file" in capsys.readouterr().err


def test_one_athens_at_a_time(tmp_path: Path) -> None:
    binary = tmp_path / "athens"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert parse_args(["--athens-bin", str(binary)]).athens_bin == str(binary)
    with pytest.raises(SystemExit):
        parse_args(["--athens-bin", str(binary), "--athens", "http://127.0.0.1:1"])


def test_the_loads_wait_for_a_quiet_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The targets' dependencies are validated after the targets are published; the
    loads start once nothing waits or runs (or say they did not)."""
    answers = iter([{}, {"validate": (2, 1)}, {"validate": (0, 1)},
                    {"validate": (0, 0), "process": (0, 0)}])
    monkeypatch.setattr(peers, "queue_depths", lambda base: next(answers))
    monkeypatch.setattr(peers.time, "sleep", lambda seconds: None)
    assert peers.wait_quiet("http://depot", cap=60) is not None
    monkeypatch.setattr(peers, "queue_depths", lambda base: {"validate": (0, 1)})
    assert peers.wait_quiet("http://depot", cap=0.01) is None


def test_the_cold_walks_are_of_cobra_and_gin_unless_told(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    args = parse_args([])
    assert args.cold_modules == ["github.com/spf13/cobra@v1.8.1",
                                 "github.com/gin-gonic/gin@v1.10.0"]
    assert args.cold_rounds == 3
    assert parse_args(["--cold-modules", "example.com/a@v1.0.0"]).cold_modules == [
        "example.com/a@v1.0.0"]
    for bad in (["--cold-modules", "example.com/a"], ["--cold-rounds", "0"]):
        with pytest.raises(SystemExit) as stop:
            parse_args(bad)
        assert stop.value.code == 2
    assert "MODULE@VERSION" in capsys.readouterr().err

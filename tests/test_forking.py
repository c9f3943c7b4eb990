"""app/forking.py: a forked child of serve behaves as a started program would, for the
supervisor (exit status, signals, waiting) and for whoever looks at it (ps, environ)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import forking
from app.config import REPO_ROOT
from app.forking import fork_child


@pytest.fixture(autouse=True)
def exit_handlers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A child runs the exit handlers of a normal exit; here those are pytest's and the
    suite's (one drops a test database): the children of these tests note the call in a
    file instead."""
    ran = tmp_path / "exit-handlers-ran"

    def note() -> None:
        with open(ran, "a") as out:
            out.write(f"{os.getpid()}\n")

    monkeypatch.setattr(forking, "atexit", SimpleNamespace(_run_exitfuncs=note))
    return ran


def test_a_child_exits_with_what_its_run_returns_or_raises(exit_handlers: Path) -> None:
    children = [fork_child(lambda: 3, ["three"]), fork_child(lambda: None, ["none"])]
    assert [child.wait(timeout=10) for child in children] == [3, 0]

    def clicks() -> int:
        raise SystemExit(4)

    children.append(fork_child(clicks, ["click"]))
    assert children[-1].wait(timeout=10) == 4
    # Each ran the exit handlers, as a program's normal exit does.
    assert sorted(exit_handlers.read_text().split()) == sorted(str(c.pid) for c in children)


def test_a_failing_child_exits_with_1_and_its_traceback_and_never_returns_here(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "returned"

    def fails() -> int:
        raise RuntimeError("the child broke")

    child = fork_child(fails, ["fails"])
    marker.write_text(str(os.getpid()))  # only this process gets here
    assert child.wait(timeout=10) == 1
    assert "RuntimeError: the child broke" in capfd.readouterr().err
    assert marker.read_text() == str(os.getpid())


def test_signals_end_it_as_popen_reports_them_and_serve_s_handlers_are_not_kept() -> None:
    def ignore(_signum: int, _frame: object) -> None:
        pass

    before = signal.signal(signal.SIGTERM, ignore)
    try:
        child = fork_child(lambda: time.sleep(60) or 0, ["sleeps"])
    finally:
        signal.signal(signal.SIGTERM, before)
    assert child.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(timeout=0.2)
    child.terminate()
    assert child.wait(timeout=10) == -signal.SIGTERM
    child.kill()  # gone already: no error
    assert child.poll() == -signal.SIGTERM


def test_prepare_cwd_and_env_come_before_run(tmp_path: Path) -> None:
    seen = tmp_path / "seen"

    def run() -> int:
        seen.write_text(f"{os.getcwd()}|{os.environ['DEPOT_FORK_TEST']}|"
                        f"{os.getpgid(0) == os.getpid()}")
        return 0

    child = fork_child(run, ["run"], prepare=os.setsid, env={"DEPOT_FORK_TEST": "yes"},
                       cwd=tmp_path)
    assert child.wait(timeout=10) == 0
    assert seen.read_text() == f"{tmp_path}|yes|True"
    assert "DEPOT_FORK_TEST" not in os.environ


# Run in a fresh interpreter, as serve is: the suite's own process has had its title set
# already (pytest-xdist), which decides where setproctitle writes.
LOOKED_AT = """
import json, sys, time
from pathlib import Path
from app.forking import fork_child
child = fork_child(lambda: time.sleep(60) or 0, [sys.executable, "-m", "app.served"])
cmdline = Path(f"/proc/{child.pid}/cmdline")
deadline = time.monotonic() + 10
title = " ".join(child.args).encode()  # not spelled out: this script is in cmdline
while title not in cmdline.read_bytes() and time.monotonic() < deadline:
    time.sleep(0.02)
seen = {"cmdline": cmdline.read_bytes().decode(),
        "environ": Path(f"/proc/{child.pid}/environ").read_bytes().decode().split("\\0")}
child.kill()
child.wait(timeout=10)
print(json.dumps(seen))
"""


def test_ps_shows_the_command_it_stands_for_and_its_environment_stays_readable() -> None:
    env = os.environ | {"DEPOT_FORK_MARK": "marked"}
    done = subprocess.run([sys.executable, "-c", LOOKED_AT, "--workers", "1"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["cmdline"].rstrip("\0") == f"{sys.executable} -m app.served"
    assert "DEPOT_FORK_MARK=marked" in seen["environ"]

"""app/cpu.py: background work runs below the work a client waits on."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from app.cpu import (
    BACKGROUND_NICENESS,
    LOWEST,
    lower_process,
    lower_self_at_fork,
    lower_this_thread,
)


def _nice(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


def test_a_thread_is_lowered_alone_and_what_it_starts_inherits_it() -> None:
    own = _nice(threading.get_native_id())
    seen: dict[str, int] = {}

    def background() -> None:
        lower_this_thread()
        seen["lowered"] = _nice(threading.get_native_id())
        child = threading.Thread(target=lambda: seen.update(
            child=_nice(threading.get_native_id())))
        child.start()
        child.join()

    worker = threading.Thread(target=background)
    worker.start()
    worker.join()
    below = min(own + BACKGROUND_NICENESS, LOWEST)
    assert seen == {"lowered": below, "child": below}
    assert _nice(threading.get_native_id()) == own  # the caller's thread is untouched


def test_a_process_is_lowered_and_never_past_the_floor() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        own = _nice(proc.pid)
        lower_process(proc.pid)
        assert _nice(proc.pid) == min(own + BACKGROUND_NICENESS, LOWEST)
        lower_process(proc.pid, by=LOWEST)
        assert _nice(proc.pid) == LOWEST
    finally:
        proc.kill()
        proc.wait()


def test_a_child_lowered_at_fork_runs_below_its_parent() -> None:
    out = subprocess.run([sys.executable, "-c", "import os; print(os.nice(0))"],
                         preexec_fn=lower_self_at_fork, capture_output=True, text=True,
                         check=True).stdout
    assert int(out) == min(os.nice(0) + BACKGROUND_NICENESS, LOWEST)


def test_a_process_that_is_gone_is_no_error() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    lower_process(proc.pid)  # ESRCH: nothing to lower, nothing raised


def _group_nice(pid: int | str) -> int | None:
    """The nice of ``pid``'s session group; None for the kernel's default group, whose
    file is empty (a session inherited from init, as in many containers: CI's is)."""
    with open(f"/proc/{pid}/autogroup") as group:
        text = group.read()
    return int(text.rsplit("nice", 1)[1]) if "nice" in text else None


needs_autogroups = pytest.mark.skipif(not os.path.exists("/proc/self/autogroup"),
                                      reason="the kernel has no autogroup scheduling")


@needs_autogroups
def test_a_session_leader_has_its_sessions_group_lowered_too() -> None:
    """With autogroups, a nice orders a process within its session only: a background
    process leading its own session gets its session's group lowered as well."""
    own_group = _group_nice("self")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                            start_new_session=True)
    try:
        lower_process(proc.pid)
        # A new session's group starts at nice 0.
        assert _group_nice(proc.pid) == BACKGROUND_NICENESS
    finally:
        proc.kill()
        proc.wait()
    assert _group_nice("self") == own_group  # the caller's session is untouched


@needs_autogroups
def test_a_process_in_its_parents_session_leaves_the_group_alone() -> None:
    own_group = _group_nice("self")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lower_process(proc.pid)
        assert _group_nice(proc.pid) == own_group  # the group it shares with us
    finally:
        proc.kill()
        proc.wait()
    assert _group_nice("self") == own_group


@needs_autogroups
def test_a_child_making_its_own_session_at_fork_lowers_its_group() -> None:
    def prepare() -> None:
        os.setsid()
        lower_self_at_fork()

    out = subprocess.run(
        [sys.executable, "-c", "print(open('/proc/self/autogroup').read().rsplit('nice', 1)[1])"],
        preexec_fn=prepare, capture_output=True, text=True, check=True).stdout
    assert int(out) == BACKGROUND_NICENESS

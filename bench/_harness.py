"""What every benchmark script here shares: errors, progress, clean-up on any exit.

A benchmark starts servers and workers; whatever happens (an error, Ctrl-C, SIGTERM),
it must stop them and remove its temp dir, and say why it stopped.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


def without_store_dir(text: str) -> str:
    """A Depot reason without the run's temp data dir, fit for a committed page."""
    return re.sub(r"file:///\S*?/data/store/", "file:///…/data/store/", text)


def say(message: str) -> None:
    """Progress on stderr, so stdout stays pasteable Markdown."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def remove_tree(path: Path) -> None:
    """rmtree that also copes with read-only dirs (Go marks its module cache so)."""
    for dirpath, _dirs, _files in os.walk(path):
        try:
            os.chmod(dirpath, os.stat(dirpath).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)


def guarded_main(
    run: Callable[[Any, Path, Any], None], args: Any, procs: Any, prefix: str
) -> int:
    """Run ``run(args, tmp, procs)`` with signals routed to a clean stop.

    ``procs`` must have ``stop_all()``; ``args.keep`` keeps the temp dir.
    """
    # A shell's background job inherits SIGINT ignored: listen to Ctrl-C regardless.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # SIGTERM and SIGHUP take the same path as Ctrl-C, through the finally below.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        run(args, tmp, procs)
        return 0
    except BenchError as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop_all()
        if args.keep:
            say(f"kept {tmp}")
        else:
            remove_tree(tmp)


def machine_line() -> str:
    """The `- machine:` line of a report: cores, CPU model, memory, kernel."""
    cpu, memory = "unknown CPU", "unknown RAM"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                      .splitlines() if line.startswith("MemTotal:"))
        memory = f"{mem_kb / (1 << 20):.1f} GiB RAM"
    except (OSError, StopIteration):
        pass
    nproc = len(os.sched_getaffinity(0))
    return f"- machine: nproc {nproc}, {cpu}, {memory}, Linux {platform.release()}"


def commit_line() -> str:
    """The `- Depot: commit …` line, saying when the tree has uncommitted changes."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    # --no-optional-locks: reading status must not rewrite the index others work on.
    dirty = subprocess.run(
        ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO, capture_output=True, text=True,
    ).stdout.strip()
    return f"- Depot: commit {commit}{' with uncommitted changes' if dirty else ''}"

"""What every benchmark script here shares: errors, progress, clean-up on any exit, and
the servers and workers it starts (Processes), waits for and stops.

A benchmark starts servers and workers; whatever happens (an error, Ctrl-C, SIGTERM),
it must stop them and remove its temp dir, and say why it stopped.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# The venv's commands (flask, gunicorn): the checkout's .venv, else this interpreter's.
BIN = REPO / ".venv" / "bin" if (REPO / ".venv" / "bin").is_dir() else Path(sys.executable).parent


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


def command_line() -> str:
    """The `- command:` line of a report: this interpreter (relative to the current folder
    when below it) and this run's arguments."""
    exe = sys.executable
    if exe.startswith(os.getcwd() + os.sep):
        exe = os.path.relpath(exe)
    return f"- command: `{shlex.join([exe, *sys.argv])}`"


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


# --------------------------------------------------------------------------- processes


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    stop_signal: int
    # Sent stop_signal again when still running 5 s after the first: an RQ worker takes
    # the first SIGTERM for a warm shutdown (the job finishes), the second for a cold one.
    stop_again: bool = False
    # Stopped after all the others: a server they need to shut down cleanly (Redis).
    last: bool = False


@dataclass
class Processes:
    """Every long-running child of this run, so a finally block can stop exactly those.

    Each child started here gets its own session: Ctrl-C reaches only this script, which
    then stops the children in order instead of racing them. Stopping also ends what they
    left behind: their process group (a dead gunicorn master's workers) and every
    descendant they had (RQ puts each job in a process group of its own).
    """

    children: list[Child] = field(default_factory=list)

    def start(
        self, name: str, cmd: list[str], log: Path, stop_signal: int = signal.SIGTERM, *,
        stop_again: bool = False, last: bool = False, **kwargs: object,
    ) -> subprocess.Popen[bytes]:
        """Start ``cmd`` with its output appended to ``log``; kwargs go to Popen (cwd, env)."""
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, **kwargs,  # type: ignore[call-overload]
            )
        self.children.append(Child(name, proc, stop_signal, stop_again, last))
        return proc

    def adopt(self, name: str, proc: subprocess.Popen[bytes], *, stop_again: bool = False,
              last: bool = False) -> None:
        """Stop ``proc``, started elsewhere, with the others (SIGTERM)."""
        self.children.append(Child(name, proc, signal.SIGTERM, stop_again, last))

    def stop_all(self) -> None:
        """Stop every child, those marked ``last`` after the others."""
        self._stop([c for c in self.children if not c.last])
        self._stop([c for c in self.children if c.last])
        self.children.clear()

    @staticmethod
    def _stop(children: list[Child]) -> None:
        """stop_signal (again after 5 s where asked), then SIGKILL what is left at 30 s."""
        live = [c for c in reversed(children) if c.proc.poll() is None]
        tree = {pid for c in live for pid in descendants(c.proc.pid)}
        for child in live:
            child.proc.send_signal(child.stop_signal)
        for attempt in range(2):
            deadline = time.monotonic() + (5 if attempt == 0 else 25)
            while time.monotonic() < deadline and any(c.proc.poll() is None for c in live):
                time.sleep(0.1)
            if attempt == 0:
                for child in live:
                    if child.stop_again and child.proc.poll() is None:
                        child.proc.send_signal(child.stop_signal)
        for child in live:
            if child.proc.poll() is None:
                say(f"{child.name} did not stop in 30 s; killing it and its process group")
                _kill_group(child.proc.pid)
                child.proc.kill()
            child.proc.wait()
        for child in children:
            # Workers orphaned by a dead master still carry its group id: end them too.
            _kill_group(child.proc.pid)
        for pid in tree:  # leftover job children and go processes, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, RSS bytes) for every process, from /proc/<pid>/stat."""
    page = os.sysconf("SC_PAGE_SIZE")
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                line = fh.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = line.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[21]) * page)
    return table


def descendants(root: int, table: dict[int, tuple[int, int]] | None = None) -> list[int]:
    """The pids of every process below ``root``, children first."""
    table = proc_table() if table is None else table
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _rss) in table.items():
        children[ppid].append(pid)
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Wait until url answers 200, failing fast with the log if the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{url}: server exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise BenchError(f"{url} did not answer in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


# --------------------------------------------------------------------------- Depot


def depot_env(data_dir: Path, upstream: str, **extra: str) -> dict[str, str]:
    """A clean Depot environment: none of the caller's DEPOT_* or DATABASE_URL leak in."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("DEPOT_") and k != "DATABASE_URL"
    }
    env.update(
        DEPOT_DATA_DIR=str(data_dir), DEPOT_UPSTREAM=upstream, DEPOT_GOSUMDB="off",
        DEPOT_ON_MISS="404", **extra,
    )
    return env


def flask_cli(args: list[str], env: dict[str, str], log: Path | None = None,
              timeout: float | None = 900) -> str:
    """Run one `flask --app app` command of this checkout and return its output; with
    ``log``, the command and its output are appended there too."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args], cwd=REPO, env=env,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )
    if log is not None:
        with open(log, "a") as fh:
            fh.write(f"$ flask --app app {shlex.join(args)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-3000:]
        raise BenchError(f"flask {' '.join(args)} failed:\n{output}")
    return done.stdout

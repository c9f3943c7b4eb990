"""A bounded soak: Depot as `make run` starts it, under a steady mixed load for minutes.

Why: issue 8 asks whether Depot holds over time on 2 cores, not only in a burst: the
error rate, the p99 and the memory of the web and worker processes, at the start
and at the end (a leak shows as a climb). The load mixes GOPROXY files (.info,
.mod, .zip, lists, @latest), portal pages (home, search, module tabs) and the API,
from a few client threads, plus one new module request a second (which the worker
resolves against the fixture upstream and refuses as not found). Every window
prints a row; stdout is Markdown for docs/reliability.md, progress goes to stderr.

    .venv/bin/python bench/soak.py [--duration 600] [--clients 6] [--window 60] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench._harness import (
    BIN,
    BenchError,
    Processes,
    commit_line,
    flask_cli,
    free_port,
    guarded_main,
    machine_line,
    say,
    wait_http,
)
from bench.goproxy import rss_kb

REPO = Path(__file__).resolve().parent.parent
MODULES = ["depot.test/chain/a@v1.1.0", "depot.test/MixedCase/Lib@v1.2.0",
           "depot.test/major/v2@v2.1.0", "depot.test/deprecated@v1.0.0"]


def url_mix() -> list[str]:
    """About 70 % GOPROXY, 25 % pages, 5 % API reads."""
    goproxy = []
    for target in MODULES + ["depot.test/chain/b@v1.0.0", "depot.test/chain/c@v1.0.0"]:
        path, version = target.split("@")
        escaped = path.replace("MixedCase/Lib", "!mixed!case/!lib")
        goproxy += [f"/{escaped}/@v/{version}.{kind}" for kind in ("info", "mod", "zip")]
        goproxy += [f"/{escaped}/@v/list", f"/{escaped}/@latest"]
    pages = ["/", "/search?q=chain", "/search?q=lib", "/depot.test/chain/a",
             "/depot.test/chain/a?tab=dependencies", "/depot.test/chain/c?tab=usedby",
             "/depot.test/chain/a?tab=versions", "/set-me-up", "/depot.test/nowhere"]
    api = ["/api/v1/modules/depot.test/chain/a", "/api/v1/search?q=chain"]
    return goproxy * 3 + pages * 2 + api


@dataclass
class Window:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    requests: int = 0


class Load:
    """Client threads over the URL mix; numbers kept per window, under one lock."""

    def __init__(self, base: str, clients: int) -> None:
        self.base, self.clients = base, clients
        self.lock = threading.Lock()
        self.window = Window()
        self.total = Window()
        self.halt = threading.Event()
        self.unexpected: dict[str, int] = {}

    def take(self) -> Window:
        with self.lock:
            done, self.window = self.window, Window()
        return done

    def _record(self, seconds: float, ok: bool, what: str) -> None:
        with self.lock:
            for w in (self.window, self.total):
                w.requests += 1
                w.latencies.append(seconds)
                w.errors += 0 if ok else 1
            if not ok:
                self.unexpected[what] = self.unexpected.get(what, 0) + 1

    def client(self, seed: int) -> None:
        urls = url_mix()
        rng = random.Random(seed)
        with requests.Session() as session:
            while not self.halt.is_set():
                url = rng.choice(urls)
                began = time.monotonic()
                try:
                    resp = session.get(self.base + url, timeout=30,
                                       headers={"Accept": "text/html"} if "@" not in url else {})
                    # A module Depot does not hold is a friendly 404; anything else must be OK.
                    ok = resp.status_code == 200 or (url == "/depot.test/nowhere"
                                                     and resp.status_code == 404)
                    what = f"{resp.status_code} {url}"
                except requests.RequestException as exc:
                    ok, what = False, f"{type(exc).__name__} {url}"
                self._record(time.monotonic() - began, ok, what)

    def requester(self) -> None:
        """One new wish a second: the pipeline works alongside the reads."""
        with requests.Session() as session:
            while not self.halt.wait(1.0):
                began = time.monotonic()
                try:
                    resp = session.post(self.base + "/api/v1/requests", timeout=30, json={
                        "module": f"depot.test/soak-{uuid.uuid4().hex[:10]}"})
                    ok, what = resp.status_code == 202, f"{resp.status_code} POST /api/v1/requests"
                except requests.RequestException as exc:
                    ok, what = False, f"{type(exc).__name__} POST"
                self._record(time.monotonic() - began, ok, what)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.client, args=(i,), daemon=True)
                   for i in range(self.clients)]
        threads.append(threading.Thread(target=self.requester, daemon=True))
        for t in threads:
            t.start()
        return threads


def descendants(root: int) -> dict[int, tuple[int, str]]:
    """Every process below ``root``: its parent and its command line."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parent_of[int(entry.name)] = int(fields[1])
            except (OSError, IndexError):
                continue
    found: dict[int, tuple[int, str]] = {}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parent_of.items():
            if parent == pid and child not in found:
                try:
                    found[child] = (parent, Path(f"/proc/{child}/cmdline").read_bytes()
                                    .replace(b"\0", b" ").decode(errors="replace"))
                except OSError:
                    continue
                frontier.append(child)
    return found


def memory(root: int) -> tuple[float, float]:
    """MiB resident in the web processes (gunicorn's master and workers) and in the
    pipeline worker itself (not the short-lived process each job forks)."""
    web = worker = 0
    for pid, (parent, cmd) in descendants(root).items():
        try:
            kb = rss_kb(pid)
        except (OSError, BenchError):
            continue
        if "gunicorn" in cmd:
            web += kb
        elif " worker" in cmd and parent == root:
            worker += kb
    return web / 1024, worker / 1024


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> None:
    from tests.fixtures.upstream import build_standard_upstream

    upstream = build_standard_upstream(tmp / "upstream")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DEPOT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DEPOT_DATA_DIR=str(tmp / "data"), DEPOT_UPSTREAM=upstream.url,
               DEPOT_GOSUMDB="off", DEPOT_ON_MISS="404", DEPOT_PORT=str(port),
               DEPOT_REQUEST_LIMIT="0", DEPOT_LOG_FORMAT="json")
    flask_cli(["migrate"], env)
    for target in MODULES:
        say(f"ingesting {target} with its build list")
        flask_cli(["ingest", target, "--deps"], env)
    log = tmp / "serve.log"
    serve = procs.start("depot", [str(BIN / "flask"), "--app", "app", "serve", "--workers", "1"],
                        log, cwd=REPO, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/", serve, log)
    load = Load(base, args.clients)
    say(f"soaking for {args.duration} s: {args.clients} clients and one module request a second")
    load.start()
    rows = []
    began = time.monotonic()
    first_memory = memory(serve.pid)
    while time.monotonic() - began < args.duration:
        time.sleep(min(args.window, args.duration - (time.monotonic() - began)))
        w = load.take()
        web, worker = memory(serve.pid)
        elapsed = time.monotonic() - began
        rows.append((elapsed, w, web, worker))
        say(f"{elapsed:5.0f} s: {w.requests} requests, {w.errors} errors, "
            f"p99 {pct(w.latencies, 0.99):.1f} ms, web {web:.0f} MiB, worker {worker:.0f} MiB")
        if serve.poll() is not None:
            raise BenchError(f"Depot stopped during the soak:\n{log.read_text()[-3000:]}")
    load.halt.set()
    time.sleep(1)
    report(args, rows, load, first_memory)
    unhandled = [line for line in log.read_text().splitlines() if "Exception on " in line]
    if unhandled:
        raise BenchError("unhandled errors in the log:\n" + "\n".join(unhandled[:10]))


def report(args: argparse.Namespace, rows: list, load: Load,
           first_memory: tuple[float, float]) -> None:
    total = load.total
    print("## 7. Load held: a bounded soak\n")
    print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"- command: `{' '.join(['.venv/bin/python', 'bench/soak.py', *sys.argv[1:]])}`")
    print(machine_line())
    print(commit_line())
    print(f"- Depot as `make run` starts it (`flask --app app serve --workers 1`: gunicorn "
          f"2 x 8 threads, one pipeline worker, embedded Redis, SQLite); {args.clients} client "
          "threads over a mix of GOPROXY files (about 70 %), pages and API reads, plus one new "
          "module request a second; everything on the same 2 cores\n")
    print("| window end | requests | req/s | errors | p50 ms | p99 ms | web RSS MiB | "
          "worker RSS MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| start | | | | | | {first_memory[0]:.0f} | {first_memory[1]:.0f} |")
    last = 0.0
    for elapsed, w, web, worker in rows:
        rate = w.requests / max(elapsed - last, 1e-9)
        last = elapsed
        print(f"| {elapsed:.0f} s | {w.requests:,} | {rate:,.0f} | {w.errors} | "
              f"{pct(w.latencies, 0.5):.1f} | {pct(w.latencies, 0.99):.1f} | {web:.0f} | "
              f"{worker:.0f} |")
    error_rate = total.errors / max(total.requests, 1)
    print(f"\nIn all: {total.requests:,} requests, {total.errors} errors "
          f"({error_rate:.4%}), p50 {pct(total.latencies, 0.5):.1f} ms, "
          f"p99 {pct(total.latencies, 0.99):.1f} ms, mean "
          f"{statistics.fmean(total.latencies) * 1000:.1f} ms.")
    if rows:
        web_growth = rows[-1][2] - rows[0][2]
        worker_growth = rows[-1][3] - rows[0][3]
        print(f"Memory from the first window to the last: web {web_growth:+.0f} MiB, "
              f"worker {worker_growth:+.0f} MiB.")
    if load.unexpected:
        print("\nUnexpected answers: " + ", ".join(
            f"{what} x{n}" for what, n in sorted(load.unexpected.items())))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=600, help="seconds of load")
    parser.add_argument("--clients", type=int, default=6, help="client threads")
    parser.add_argument("--window", type=int, default=60, help="seconds per reported row")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return guarded_main(run, parse_args(argv), Processes(), "depot-bench-soak-")


if __name__ == "__main__":
    sys.exit(main())

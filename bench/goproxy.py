"""Benchmark Depot's GOPROXY files against nginx serving the same store tree.

Why: a GOPROXY mostly hands out immutable files, so the honest yardstick is a
static web server on the very same files. This script builds a fixture
upstream, ingests it with the real CLI, starts Depot (direct, and behind nginx
with X-Accel-Redirect) and a static nginx, loads each with wrk and prints
Markdown that can be pasted into docs/bench.md. Progress goes to stderr,
results to stdout. Everything lives in one temp dir, and every process this
script starts is stopped at the end, also on Ctrl-C.

    .venv/bin/python bench/goproxy.py [--duration 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import importlib.metadata
import multiprocessing
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from bench._harness import (
    BIN,
    BenchError,
    Processes,
    command_line,
    commit_line,
    depot_env,
    flask_cli,
    free_port,
    guarded_main,
    machine_line,
    say,
    wait_http,
)
from tests.fixtures.nginx import (
    find_nginx,
    nginx_command,
    nginx_conf,
    render_sidecar,
)

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000
SMALL = ("depot.test/bench/small", "v1.0.0", 5 * MB)
LARGE = ("depot.test/bench/large", "v1.0.0", 100 * MB)
ACCEL_PREFIX = "/_store/"
SIDECAR = "nginx sidecar -> Depot"
MEMORY_DOWNLOADS = 3
# Targets from the brief: a ratio of req/s against nginx static on the same file.
TARGETS = {"info": 0.5, "mod": 0.5, "zip-accel": 0.9}
RSS_TARGET_MB = 20.0


# --------------------------------------------------------------------------- tools


def find_wrk() -> str | None:
    return shutil.which("wrk")


def ensure_packages() -> dict[str, str]:
    """Install Debian's nginx and wrk when missing; returns why a package could not be had.

    `apt-get update` runs only when something is missing, so a prepared machine
    makes no registry call at all.
    """
    finders = {"nginx": find_nginx, "wrk": find_wrk}
    missing = [pkg for pkg, finder in finders.items() if finder() is None]
    if not missing:
        return {}
    if os.geteuid() == 0:
        prefix = ["env", "DEBIAN_FRONTEND=noninteractive"]
    elif shutil.which("sudo"):
        prefix = ["sudo", "env", "DEBIAN_FRONTEND=noninteractive"]
    else:
        return {pkg: "not root and no sudo" for pkg in missing}
    if not shutil.which("apt-get"):
        return {pkg: "no apt-get on this machine" for pkg in missing}
    say(f"installing {' '.join(missing)} (apt-get update first)")
    update = subprocess.run(
        [*prefix, "apt-get", "-q", "update"], capture_output=True, text=True, timeout=600
    )
    if update.returncode != 0:
        say("apt-get update failed (trying the install anyway):\n" + update.stderr[-2000:])
    failed: dict[str, str] = {}
    for pkg in missing:
        done = subprocess.run(
            [*prefix, "apt-get", "-q", "install", "-y", "--no-install-recommends", pkg],
            capture_output=True, text=True, timeout=600,
        )
        if done.returncode != 0 or finders[pkg]() is None:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["unknown error"]
            failed[pkg] = f"apt-get install {pkg} failed: {tail[0]}"
            say(failed[pkg])
    return failed


def tool_version(cmd: list[str], pattern: str) -> str:
    """First match of pattern in a tool's output; nginx and wrk print versions to stderr."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except OSError:
        return "unknown"
    m = re.search(pattern, out.stdout + out.stderr)
    return m.group(1) if m else "unknown"


# --------------------------------------------------------------------------- fixture


def build_upstream(root: Path) -> str:
    """Write the two modules; random bytes keep the zips as large as the data file."""
    from tests.fixtures.upstream import FixtureModule, module_files, write_module

    for path, version, size in (SMALL, LARGE):
        files = module_files(path, version)  # go.mod, a compiling .go file, README, LICENSE
        files["data.bin"] = os.urandom(size)
        write_module(root, FixtureModule(path, version, files))
    return root.resolve().as_uri()


def key_of(module: str, version: str, kind: str) -> str:
    from app.store import artifact_key

    return artifact_key(module, version, kind)


# --------------------------------------------------------------------------- nginx


def start_nginx(procs: Processes, nginx: str, name: str, conf: Path) -> subprocess.Popen[bytes]:
    workdir = conf.parent
    log = workdir / "stdout.log"
    return procs.start(name, nginx_command(nginx, conf), log)


# --------------------------------------------------------------------------- load


@dataclass
class Load:
    """One load run against one URL."""

    rps: float
    p99_ms: float
    mb_per_s: float
    errors: int
    note: str = ""


_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_UNITS_B = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


def parse_wrk(out: str) -> Load:
    """Requests/s, p99, transfer and errors from `wrk --latency` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    p99 = re.search(r"^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
    xfer = re.search(r"^Transfer/sec:\s+([\d.]+)([KMGT]?B)", out, re.M)
    if not (rps and p99 and xfer):
        raise BenchError(f"cannot read wrk output:\n{out}")
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(n) for n in sock.groups())
    return Load(
        rps=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * _UNITS_S[p99.group(2)] * 1000,
        mb_per_s=float(xfer.group(1)) * _UNITS_B[xfer.group(2)] / MB,
        errors=errors,
        note=f"socket errors: {sock.group(0)[15:]}" if sock else "",
    )


def run_wrk(wrk: str, url: str, duration: int, connections: int) -> Load:
    cmd = [wrk, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=duration + 120)
    except BaseException:
        # subprocess.run leaves the child unreaped on Ctrl-C; kill and reap it here.
        proc.kill()
        proc.wait()
        raise
    if proc.returncode != 0:
        raise BenchError(f"{shlex.join(cmd)} failed:\n{out}{err}")
    return parse_wrk(out)


LoadJob = tuple[str, int, str, int, float]
LoadPart = tuple[int, int, int, float, list[float]]


def _load_process(job: LoadJob) -> LoadPart:
    """One loader process: `conns` threads, each looping GETs on its own keep-alive connection.

    Threads share a GIL, so the parent runs several of these processes.
    """
    host, port, path, conns, duration = job
    results: list[tuple[int, int, int, list[float]]] = []
    start = time.monotonic()
    deadline = start + duration

    def loop() -> None:
        done = errors = nbytes = 0
        latencies: list[float] = []
        view = memoryview(bytearray(1 << 20))
        conn: http.client.HTTPConnection | None = None
        while time.monotonic() < deadline:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=30)
            began = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                got = 0
                while n := resp.readinto(view):
                    got += n
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = None
                continue
            latencies.append(time.perf_counter() - began)
            done += 1
            nbytes += got
            if resp.status != 200:
                errors += 1
            if resp.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
        results.append((done, errors, nbytes, latencies))

    threads = [threading.Thread(target=loop) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    merged = [x for r in results for x in r[3]]
    return (sum(r[0] for r in results), sum(r[1] for r in results),
            sum(r[2] for r in results), elapsed, merged)


def run_python_load(url: str, duration: int, connections: int) -> Load:
    """Fallback when wrk is missing: slower than wrk, so numbers read lower for every target."""
    parts = urllib.parse.urlsplit(url)
    procs = max(1, min(connections, os.cpu_count() or 2))
    shares = [connections // procs + (1 if i < connections % procs else 0) for i in range(procs)]
    jobs = [(parts.hostname or "127.0.0.1", parts.port or 80, parts.path, n, float(duration))
            for n in shares]
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        parts_done = pool.map(_load_process, jobs)
    total = sum(p[0] for p in parts_done)
    errors = sum(p[1] for p in parts_done)
    nbytes = sum(p[2] for p in parts_done)
    elapsed = max(p[3] for p in parts_done)
    latencies = sorted(x for p in parts_done for x in p[4])
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    return Load(total / elapsed, p99 * 1000, nbytes / elapsed / MB, errors)


# --------------------------------------------------------------------------- memory


def worker_pids(master: int) -> list[int]:
    """Children of the gunicorn master, found via /proc/<pid>/stat's ppid field."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = stat_line.rsplit(")", 1)[1].split()
        if int(fields[1]) == master:
            pids.append(int(entry.name))
    return sorted(pids)


def rss_kb(pid: int, field_name: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {field_name} for pid {pid}")


class RssSampler(threading.Thread):
    """Polls worker RSS while a download runs: the peak shows buffering that `after` hides."""

    def __init__(self, pids: list[int], interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.peak = {pid: rss_kb(pid) for pid in pids}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            for pid in self.pids:
                try:
                    self.peak[pid] = max(self.peak[pid], rss_kb(pid))
                except (OSError, BenchError):
                    pass


def stream_download(url: str) -> tuple[int, str, float]:
    """GET url, hashing and discarding 1 MiB at a time, so the client never holds the body."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=300)
    view = memoryview(bytearray(1 << 20))
    digest = hashlib.sha256()
    size = 0
    began = time.perf_counter()
    try:
        conn.request("GET", parts.path)
        resp = conn.getresponse()
        if resp.status != 200:
            raise BenchError(f"{url}: HTTP {resp.status}")
        while n := resp.readinto(view):
            digest.update(view[:n])
            size += n
    finally:
        conn.close()
    return size, digest.hexdigest(), time.perf_counter() - began


# --------------------------------------------------------------------------- report


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_url(url: str, expect: Path) -> None:
    """The bytes a target serves must be the stored file, or its numbers mean nothing."""
    with urllib.request.urlopen(url, timeout=60) as resp:
        body = resp.read()
    if hashlib.sha256(body).hexdigest() != file_sha256(expect):
        raise BenchError(f"{url} served {len(body)} bytes that differ from {expect}")


def check_accel(url: str) -> None:
    """Depot behind the front proxy must hand the zip off, not stream it itself."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("GET", parts.path)
        resp = conn.getresponse()
        body = resp.read()
        accel = resp.getheader("X-Accel-Redirect")
    finally:
        conn.close()
    if not accel or not accel.startswith(ACCEL_PREFIX) or body:
        raise BenchError(f"{url}: no X-Accel-Redirect hand-off (header {accel!r}, "
                         f"{len(body)} body bytes)")


def check_served_by_nginx(url: str) -> None:
    """Through the sidecar, a published zip goes out from the store once Depot said yes."""
    for _ in range(2):  # the first asks Depot; the second uses the cached yes
        with urllib.request.urlopen(url, timeout=30) as resp:
            served_by = resp.headers.get("X-Served-By")
            resp.read()
    if served_by != "nginx-store":
        raise BenchError(f"{url}: the sidecar did not serve the zip from the store "
                         f"(X-Served-By {served_by!r})")


def machine_facts(nginx: str | None, wrk: str | None, loader: str) -> list[str]:
    nginx_v = tool_version([nginx, "-v"], r"nginx/(\S+)") if nginx else "not installed"
    wrk_v = tool_version([wrk, "-v"], r"wrk (\S+)") if wrk else "not installed"
    return [
        machine_line(),
        f"- versions: Python {platform.python_version()}, "
        f"gunicorn {importlib.metadata.version('gunicorn')}, nginx {nginx_v}, wrk {wrk_v}",
        commit_line(),
        f"- load generator: {loader}",
    ]


def verdict(value: float, target: float | None) -> str:
    if target is None:
        return "(for reference)"
    return "meets" if value >= target else "**below**"


# --------------------------------------------------------------------------- main


@dataclass
class Targets:
    """Base URLs of the three servers under test."""

    depot: str
    nginx: str
    accel: str
    accel_depot: str


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> None:
    failed = {} if args.skip_install else ensure_packages()
    nginx, wrk = find_nginx(), find_wrk()
    if nginx is None:
        raise BenchError("nginx is needed for the baseline: " + failed.get("nginx", "missing"))
    if args.loader == "wrk" and wrk is None:
        raise BenchError("--loader wrk, but wrk is missing: " + failed.get("wrk", ""))
    use_wrk = wrk is not None and args.loader != "python"
    if use_wrk:
        loader = f"`wrk -t2 -c{args.connections} -d{args.duration}s --latency URL`"
    else:
        why = "forced by --loader python" if args.loader == "python" else (
            "wrk could not be installed: " + failed.get("wrk", "missing"))
        loader = (f"Python fallback ({min(args.connections, os.cpu_count() or 2)} processes, "
                  f"{args.connections} keep-alive http.client connections, {args.duration} s; "
                  f"{why}; slower than wrk, so read the ratios, not the absolute numbers)")

    print("# Depot GOPROXY benchmark\n")
    print(f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    print(command_line())
    for line in machine_facts(nginx, wrk, loader):
        print(line)
    print("- servers: Depot = gunicorn gthread, 2 workers x 8 threads, access log to a file; "
          "nginx = worker_processes auto, access_log off, sendfile on; all on 127.0.0.1, "
          "load generator on the same machine", flush=True)

    say("writing the fixture upstream (5 MB and 100 MB modules)")
    upstream = build_upstream(tmp / "upstream")
    data = tmp / "data"
    store = data / "store"
    env = depot_env(data, upstream)
    flask_cli(["migrate"], env)
    for path, version, _size in (SMALL, LARGE):
        say(f"ingesting {path}@{version}")
        began = time.monotonic()
        flask_cli(["ingest", f"{path}@{version}"], env)
        say(f"  ingested in {time.monotonic() - began:.1f} s")
    files = {kind: store / key_of(SMALL[0], SMALL[1], kind) for kind in ("info", "mod", "zip")}
    large_zip = store / key_of(LARGE[0], LARGE[1], "zip")
    sizes = {kind: p.stat().st_size for kind, p in files.items()}
    large_mb = large_zip.stat().st_size / MB
    print(f"- files: .info {sizes['info']} B, .mod {sizes['mod']} B, "
          f".zip {sizes['zip'] / MB:.2f} MB; memory test zip {large_mb:.1f} MB")

    logs = tmp / "logs"
    logs.mkdir()
    targets = start_servers(args, tmp, procs, env, store, nginx)

    results: list[tuple[str, str, Load]] = []
    plan = [
        ("info", "Depot direct", targets.depot), ("info", "nginx static", targets.nginx),
        ("info", SIDECAR, targets.accel),
        ("mod", "Depot direct", targets.depot), ("mod", "nginx static", targets.nginx),
        ("mod", SIDECAR, targets.accel),
        ("zip", "Depot direct", targets.depot), ("zip", "nginx static", targets.nginx),
        ("zip", SIDECAR, targets.accel),
    ]
    for kind, _name, base in plan:
        check_url(f"{base}/{key_of(SMALL[0], SMALL[1], kind)}", files[kind])
    check_accel(f"{targets.accel_depot}/{key_of(SMALL[0], SMALL[1], 'zip')}")
    check_served_by_nginx(f"{targets.accel}/{key_of(SMALL[0], SMALL[1], 'zip')}")
    runs: dict[tuple[str, str], list[Load]] = {(name, kind): [] for kind, name, _ in plan}
    # Rounds interleave the targets, so a passing disturbance on this shared 2-core
    # machine does not fall on one target alone; the median of the rounds is reported.
    for round_no in range(1, args.repeat + 1):
        for kind, name, base in plan:
            url = f"{base}/{key_of(SMALL[0], SMALL[1], kind)}"
            say(f"load (round {round_no}/{args.repeat}): {name} .{kind} for {args.duration} s")
            if use_wrk:
                load = run_wrk(wrk or "wrk", url, args.duration, args.connections)
            else:
                load = run_python_load(url, args.duration, args.connections)
            runs[(name, kind)].append(load)
            time.sleep(1)
    for kind, name, _ in plan:
        loads = sorted(runs[(name, kind)], key=lambda ld: ld.rps)
        median = loads[len(loads) // 2]
        spread = f"{loads[0].rps:,.0f}–{loads[-1].rps:,.0f}"
        results.append((name, kind, replace(median, errors=sum(ld.errors for ld in loads),
                                             note=spread)))

    print("\n## Throughput\n")
    print(f"Median of {args.repeat} interleaved rounds; the range is the lowest and highest "
          "req/s seen.\n")
    print("| target | file | req/s | range | p99 ms | MB/s | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, kind, load in results:
        mbps = f"{load.mb_per_s:,.1f}" if load.mb_per_s >= 10 else f"{load.mb_per_s:.2f}"
        print(f"| {name} | .{kind} | {load.rps:,.0f} | {load.note} | {load.p99_ms:.1f} | "
              f"{mbps} | {load.errors} |")
    for name, kind, load in results:
        if load.errors:
            print(f"\nWarning: {name} .{kind} had {load.errors} errors")

    rps = {(name, kind): load.rps for name, kind, load in results}

    def ratio(a: tuple[str, str], b: tuple[str, str]) -> float:
        return rps[a] / rps[b] if rps[b] else 0.0

    ratios = [
        (".info Depot (gunicorn alone) / nginx",
         ratio(("Depot direct", "info"), ("nginx static", "info")), TARGETS["info"]),
        (".mod Depot (gunicorn alone) / nginx",
         ratio(("Depot direct", "mod"), ("nginx static", "mod")), TARGETS["mod"]),
        (".info Depot behind its sidecar (cached) / nginx",
         ratio((SIDECAR, "info"), ("nginx static", "info")), TARGETS["info"]),
        (".mod Depot behind its sidecar (cached) / nginx",
         ratio((SIDECAR, "mod"), ("nginx static", "mod")), TARGETS["mod"]),
        (".zip X-Accel (sidecar) / nginx",
         ratio((SIDECAR, "zip"), ("nginx static", "zip")), TARGETS["zip-accel"]),
        (".zip Depot direct / nginx",
         ratio(("Depot direct", "zip"), ("nginx static", "zip")), None),
    ]
    print("\n## Ratios (req/s against nginx static)\n")
    print("| ratio | value | target | |")
    print("|---|---:|---|---|")
    for label, value, target in ratios:
        shown = f">= {target}" if target is not None else "none"
        print(f"| {label} | {value:.2f} | {shown} | {verdict(value, target)} |")
    sys.stdout.flush()

    measure_memory(targets.depot, procs, large_zip)


def start_servers(args: argparse.Namespace, tmp: Path, procs: Processes, env: dict[str, str],
                  store: Path, nginx: str) -> Targets:
    logs = tmp / "logs"
    servers = {"depot": free_port(), "accel-depot": free_port(), "nginx": free_port(),
               "accel": free_port()}
    gunicorn = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "app:create_app()"]
    for name, accel in (("depot", ""), ("accel-depot", ACCEL_PREFIX)):
        say(f"starting {name} (gunicorn) on port {servers[name]}")
        child_env = {**env, "DEPOT_HOST": "127.0.0.1", "DEPOT_PORT": str(servers[name]),
                     "DEPOT_WORKERS": "2", "DEPOT_THREADS": "8", "DEPOT_ACCEL_REDIRECT": accel}
        if accel:  # downloads nginx served itself are counted from its zip log
            child_env["DEPOT_NGINX_ZIP_LOG"] = str(tmp / "nginx-accel" / "logs" / "zips.log")
        log = logs / f"{name}.log"
        proc = procs.start(name, gunicorn, log, cwd=REPO, env=child_env)
        wait_http(f"http://127.0.0.1:{servers[name]}/", proc, log)

    info_key = key_of(SMALL[0], SMALL[1], "info")
    static = nginx_conf(tmp / "nginx-static", servers["nginx"], f"        root {store};",
                        connections=args.connections)
    sidecar = render_sidecar(f"127.0.0.1:{servers['accel']}",
                             f"127.0.0.1:{servers['accel-depot']}", store,
                             tmp / "nginx-accel" / "cache", tmp / "nginx-accel" / "logs")
    accel = nginx_conf(tmp / "nginx-accel", servers["accel"], None, http_extra=sidecar,
                       connections=args.connections)
    for name, conf in (("nginx", static), ("accel", accel)):
        say(f"starting nginx ({name}) on port {servers[name]}")
        proc = start_nginx(procs, nginx, f"nginx-{name}", conf)
        wait_http(f"http://127.0.0.1:{servers[name]}/{info_key}", proc,
                  conf.parent / "error.log")
    base = "http://127.0.0.1:{}".format
    return Targets(base(servers["depot"]), base(servers["nginx"]), base(servers["accel"]),
                   base(servers["accel-depot"]))


def measure_memory(depot: str, procs: Processes, large_zip: Path) -> None:
    master = next(c.proc.pid for c in procs.children if c.name == "depot")
    pids = worker_pids(master)
    if not pids:
        raise BenchError("no gunicorn workers found under the Depot master")
    url = f"{depot}/{key_of(LARGE[0], LARGE[1], 'zip')}"
    want = file_sha256(large_zip)
    before = {pid: rss_kb(pid) for pid in pids}
    sampler = RssSampler(pids)
    sampler.start()
    speeds = []
    try:
        for i in range(MEMORY_DOWNLOADS):
            say(f"memory: downloading the {large_zip.stat().st_size / MB:.0f} MB zip "
                f"({i + 1}/{MEMORY_DOWNLOADS})")
            size, sha, seconds = stream_download(url)
            if sha != want:
                raise BenchError(f"{url}: downloaded {size} bytes that differ from the store")
            speeds.append(size / seconds / MB)
    finally:
        sampler.halt.set()
        sampler.join()
    time.sleep(0.5)
    after = {pid: rss_kb(pid) for pid in pids}

    print(f"\n## Memory (Depot direct, {MEMORY_DOWNLOADS} streamed downloads of the "
          f"{large_zip.stat().st_size / MB:.0f} MB zip, no X-Accel)\n")
    print("| worker pid | RSS before MB | peak during MB | RSS after MB | growth MB |")
    print("|---:|---:|---:|---:|---:|")
    for pid in pids:
        print(f"| {pid} | {before[pid] / 1024:.1f} | {sampler.peak[pid] / 1024:.1f} | "
              f"{after[pid] / 1024:.1f} | {(after[pid] - before[pid]) / 1024:+.1f} |")
    growth = max(after[pid] - before[pid] for pid in pids) / 1024
    peak_growth = max(sampler.peak[pid] - before[pid] for pid in pids) / 1024
    met = "meets" if growth < RSS_TARGET_MB else "**above**"
    print(f"\n- max RSS growth of any worker (after - before): {growth:.1f} MB "
          f"(target < {RSS_TARGET_MB:.0f} MB: {met})")
    print(f"- max peak during the downloads (sampled every 20 ms) - before: {peak_growth:.1f} MB")
    print(f"- single-stream download speed: {', '.join(f'{s:,.0f}' for s in speeds)} MB/s")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--repeat", type=int, default=3,
                        help="interleaved rounds per target; the median is reported")
    parser.add_argument("--loader", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator (auto: wrk, else the Python fallback)")
    parser.add_argument("--skip-install", action="store_true",
                        help="never call apt-get, use what is installed")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir (configs, logs, data) for a look afterwards")
    args = parser.parse_args(argv)
    if args.duration < 1:
        parser.error("--duration must be at least 1")
    if args.connections < 2:
        parser.error("--connections must be at least 2 (wrk runs 2 threads)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return guarded_main(run, args, Processes(), "depot-bench-")


if __name__ == "__main__":
    sys.exit(main())

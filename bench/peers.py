"""Depot side by side with its peers on one machine (issue 21): Depot alone as `make run`
starts it, Depot behind the chart's nginx sidecar, Athens, and nginx serving Depot's own
store tree; hits of every GOPROXY file with wrk and the memory each one holds; then, those
servers stopped, `go mod download all` of a cobra and of a gin consumer from an empty client
cache, cold and warm, straight from the upstream and through a fresh Depot and a fresh
Athens, in rounds.

Why: a GOPROXY is judged against the proxies people would run instead. The modules are
real (the toolchain's default proxy is the upstream of all of them) and every target
serves the very same files. Progress goes to stderr, Markdown for docs/bench.md to stdout.

    .venv/bin/python bench/peers.py [--athens-bin PATH | --athens URL] [--duration 10]
        [--cold-modules M@V,…] [--cold-rounds 3]

`TMPDIR=/dev/shm` keeps the clients' module caches and the fresh servers' data in memory:
on a disk, a gin walk's unpacking of 60 MB took 0.8-5.9 s of system time from run to run.

Athens cannot be installed through the Go module proxy here: `bench/build-athens` builds
the pinned release from a source clone kept outside the repository (docs/bench.md, "Depot
and its peers"); pass the binary as ``--athens-bin``, or pass ``--athens URL`` of an
Athens you run (its rows then say so; its cold row is skipped, as this script cannot empty
its storage). Without either the Athens rows are skipped with that reason.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.config import toolchain_default
from bench._harness import (
    BIN,
    BenchError,
    Processes,
    command_line,
    commit_line,
    descendants,
    free_port,
    guarded_main,
    machine_line,
    proc_table,
    say,
    wait_http,
)
from bench.goproxy import Load, ensure_packages, find_wrk, run_wrk, start_nginx, tool_version
from bench.latency import (
    COBRA,
    go_binary,
    go_download,
    make_run_env,
    queue_depths,
    request_module,
    start_depot,
    upstream_proxy,
    wait_published,
)
from tests.fixtures.nginx import find_nginx, nginx_conf, render_sidecar

REPO = Path(__file__).resolve().parent.parent
# What the table measured: cobra's small files, list and latest, a 32 KB zip
# (uuid) and a large one (x/text, 9 MB).
SMALL_ZIP = ("github.com/google/uuid", "v1.6.0")
LARGE_ZIP = ("golang.org/x/text", "v0.21.0")
ACCEL_PREFIX = "/_store/"
DEPOT, SIDECAR, ATHENS, NGINX = ("Depot alone (make run)", "Depot + nginx sidecar",
                                 "Athens", "nginx static")


def files() -> dict[str, str]:
    """Request path of each file the hits table loads, by its row name."""
    from app.gomod.paths import escape_path, escape_version

    def at(module: str, version: str, suffix: str) -> str:
        return f"/{escape_path(module)}/@v/{escape_version(version)}{suffix}"

    return {
        ".info": at(*COBRA, ".info"),
        ".mod": at(*COBRA, ".mod"),
        "32 KB .zip": at(*SMALL_ZIP, ".zip"),
        "9 MB .zip": at(*LARGE_ZIP, ".zip"),
        "@v/list": f"/{escape_path(COBRA[0])}/@v/list",
        "@latest": f"/{escape_path(COBRA[0])}/@latest",
    }


# --------------------------------------------------------------------------- Depot


def published(base: str, targets: tuple[tuple[str, str], ...], cap: float) -> None:
    """Ask Depot for each target (its API) and wait until all are published."""
    for module, version in targets:
        request_module(base, module, version)
    took, states = wait_published(base, list(targets), cap)
    if took is None:
        raise BenchError(f"not all published in {cap:.0f} s: {states}")
    say(f"published {len(targets)} versions in {took:.1f} s")


def wait_quiet(base: str, cap: float) -> float | None:
    """Seconds until Depot's pipeline has nothing waiting or running (the targets'
    dependencies are validated after the targets are published: clean-room builds that
    would share the cores with the loads), None at the cap."""
    began = time.monotonic()
    while time.monotonic() - began < cap:
        depths = queue_depths(base)
        if depths and not any(waiting or running for waiting, running in depths.values()):
            return time.monotonic() - began
        time.sleep(1.0)
    return None


def start_sidecar(procs: Processes, nginx: str, data_dir: Path, tmp: Path,
                  connections: int) -> str:
    """A second Depot web server on the same data, with X-Accel-Redirect, behind the
    chart's nginx sidecar (as bench/goproxy.py runs it)."""
    depot_port, nginx_port = free_port(), free_port()
    env = make_run_env(data_dir, depot_port, DEPOT_ACCEL_REDIRECT=ACCEL_PREFIX,
                       DEPOT_NGINX_ZIP_LOG=str(tmp / "sidecar" / "logs" / "zips.log"))
    log = tmp / "logs" / "sidecar-depot.log"
    proc = procs.start("sidecar-depot",
                       [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "app:create_app()"],
                       log, cwd=REPO, env=env)
    wait_http(f"http://127.0.0.1:{depot_port}/", proc, log)
    conf = nginx_conf(tmp / "sidecar", nginx_port, None, connections=connections,
                      http_extra=render_sidecar(
                          f"127.0.0.1:{nginx_port}", f"127.0.0.1:{depot_port}",
                          data_dir / "store", tmp / "sidecar" / "cache",
                          tmp / "sidecar" / "logs"))
    proc = start_nginx(procs, nginx, "nginx-sidecar", conf)
    base = f"http://127.0.0.1:{nginx_port}"
    wait_http(base + "/", proc, conf.parent / "error.log")
    return base


def start_static(procs: Processes, nginx: str, store: Path, tmp: Path,
                 connections: int) -> str:
    port = free_port()
    conf = nginx_conf(tmp / "static", port, f"        root {store};", connections=connections)
    proc = start_nginx(procs, nginx, "nginx-static", conf)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + files()[".mod"], proc, conf.parent / "error.log")
    return base


# --------------------------------------------------------------------------- Athens


@dataclass
class Athens:
    base: str
    pid: int | None  # None: one the person runs


def start_athens(procs: Processes, binary: str, root: Path, logs: Path, name: str) -> Athens:
    """Athens with disk storage in ``root``, on 127.0.0.1, its misses fetched by the same
    go command as Depot's, through the toolchain's default proxy (Athens' own default is
    `direct`: the version control hosts, out of reach here)."""
    port = free_port()
    (root / "goget").mkdir(parents=True)
    go = go_binary()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATHENS_", "GO"))}
    env.update(
        ATHENS_PORT=f"127.0.0.1:{port}", ATHENS_STORAGE_TYPE="disk",
        ATHENS_DISK_STORAGE_ROOT=str(root / "storage"), ATHENS_GOGET_DIR=str(root / "goget"),
        ATHENS_LOG_LEVEL="warning", GO_BINARY_PATH=go,
        ATHENS_GO_BINARY_ENV_VARS=f"GOPROXY={upstream_proxy(go)};GOTOOLCHAIN=local",
        # Athens proxies the checksum database by its host alone, which does not resolve
        # here: it answers "not supported" and its clients ask the default proxy's copy.
        ATHENS_SUM_DBS="https://sumdb.invalid",
    )
    (root / "storage").mkdir()
    log = logs / f"{name}.log"
    say(f"starting {name} on port {port}")
    proc = procs.start(name, [binary], log, cwd=root, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/healthz", proc, log)
    return Athens(base, proc.pid)


def athens_gosumdb() -> str:
    """The checksum database an Athens client verifies against: the default one, read
    through the default proxy (see start_athens)."""
    go = go_binary()
    name = toolchain_default(go, "GOSUMDB")
    return f"{name} {upstream_proxy(go)}/sumdb/{name}"


# --------------------------------------------------------------------------- memory


def pss_bytes(pid: int) -> int:
    """The process's proportional share of the memory it maps (a page shared by n
    processes counts 1/n in each): summed over a tree, what the tree really takes."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _command(pid: int) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in args if a]
    return " ".join(Path(w).name if w.startswith("/") else w for w in words)[:60]


def tree_memory(pid: int) -> tuple[float, float, list[tuple[str, float, float]]]:
    """(RSS MB, PSS MB, [(command, RSS MB, PSS MB) per process]) of a process tree.
    RSS counts a page shared by forked workers in each of them; PSS once in all."""
    table = proc_table()
    rows = [(_command(p), table[p][1] / 1e6, pss_bytes(p) / 1e6)
            for p in (pid, *descendants(pid, table)) if p in table]
    return sum(r[1] for r in rows), sum(r[2] for r in rows), rows


# --------------------------------------------------------------------------- main


def serves(name: str, row: str) -> bool:
    """A static tree has no @latest: the go command asks it only when a list is empty."""
    return not (name == NGINX and row == "@latest")


def check_same(bases: dict[str, str]) -> None:
    """Every target answers every file with the same bytes before any load."""
    for row, path in files().items():
        seen: dict[str, bytes] = {}
        for name, base in bases.items():
            if not serves(name, row):
                continue
            try:
                with urllib.request.urlopen(base + path, timeout=120) as resp:
                    seen[name] = resp.read()
            except urllib.error.URLError as exc:
                raise BenchError(f"{name} {path}: {exc}") from exc
        if row in ("@v/list", "@latest"):
            continue  # Depot lists what it holds; Athens and nginx what they were given
        first = next(iter(seen.values()))
        odd = [name for name, body in seen.items() if body != first]
        if odd:
            raise BenchError(f"{path}: {', '.join(odd)} answered other bytes")


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> None:
    failed = {} if args.skip_install else ensure_packages()
    nginx, wrk = find_nginx(), find_wrk()
    if nginx is None or wrk is None:
        raise BenchError("nginx and wrk are needed: " + "; ".join(failed.values()))
    logs = tmp / "logs"
    logs.mkdir()

    nginx_version = tool_version([nginx, "-v"], r"nginx/(\S+)")
    print("# Depot and its peers\n")
    print(f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    print(command_line())
    print(machine_line())
    print(commit_line())
    print(f"- load: `wrk -t2 -c{args.connections} -d{args.duration}s --latency URL`, "
          f"{args.repeat} rounds rotating the targets, the median reported; nginx "
          f"{nginx_version}; all on 127.0.0.1")

    say("starting Depot as `make run` does, and requesting the modules")
    alone = start_depot(procs, tmp / "depot")
    data, depot = alone.data, alone.base
    published(depot, (COBRA, SMALL_ZIP, LARGE_ZIP), args.publish_timeout)
    quiet = wait_quiet(depot, args.publish_timeout)
    print("- Depot's pipeline: " + (f"quiet {quiet:.0f} s after the publications (the "
                                     "loads start then)" if quiet is not None else
                                     f"still busy after {args.publish_timeout:.0f} s; "
                                     "the loads ran beside it"))
    bases = {DEPOT: depot,
             SIDECAR: start_sidecar(procs, nginx, data, tmp, args.connections),
             NGINX: start_static(procs, nginx, data / "store", tmp, args.connections)}
    athens: Athens | None = None
    if args.athens_bin:
        athens = start_athens(procs, args.athens_bin, tmp / "athens", logs, "athens")
    elif args.athens:
        athens = Athens(args.athens.rstrip("/"), None)
    if athens:
        bases[ATHENS] = athens.base
        where = (f"started here from {args.athens_bin}, disk storage" if athens.pid
                 else f"at {athens.base}, run by the person")
        print(f"- Athens: {where}")
    else:
        print("- Athens: skipped (neither --athens-bin nor --athens was given)")
    say("checking that every target answers the same bytes")
    check_same(bases)  # this also fills Athens and nginx's sidecar cache

    runs: dict[tuple[str, str], list[Load]] = {}
    order = list(bases)
    for round_no in range(args.repeat):
        for row, path in files().items():
            for name in order[round_no % len(order):] + order[:round_no % len(order)]:
                if not serves(name, row):
                    continue
                say(f"round {round_no + 1}: {name} {row}")
                runs.setdefault((name, row), []).append(
                    run_wrk(wrk, bases[name] + path, args.duration, args.connections))

    def median(name: str, row: str) -> Load:
        loads = sorted(runs[(name, row)], key=lambda load: load.rps)
        return loads[len(loads) // 2]

    print("\n## Hits (requests/s)\n")
    print("| file | " + " | ".join(order) + " | Depot alone / Athens |")
    print("|---|" + "---:|" * (len(order) + 1))
    for row in files():
        cells = []
        for name in order:
            if not serves(name, row):
                cells.append("—")
                continue
            load = median(name, row)
            cells.append(f"{load.rps:,.0f}" + (f" ({load.errors} errors)" if load.errors else ""))
        ratio = (f"{median(DEPOT, row).rps / median(ATHENS, row).rps:.2f}"
                 if ATHENS in bases and median(ATHENS, row).rps else "—")
        print(f"| {row} | " + " | ".join(cells) + f" | {ratio} |")

    print("\n## Memory after the loads (MB)\n")
    print("PSS counts a page shared by several processes (forked workers) once in all; RSS "
          "counts it in each.\n")
    rss, pss, rows = tree_memory(alone.proc.pid)
    print(f"- Depot alone: PSS {pss:,.0f}, RSS {rss:,.0f} (everything `make run` started: "
          "serve, the web server and its workers, the job worker, Redis)")
    for command, one_rss, one_pss in rows:
        print(f"  - `{command}`: PSS {one_pss:,.0f}, RSS {one_rss:,.0f}")
    if athens and athens.pid:
        rss, pss, _rows = tree_memory(athens.pid)
        print(f"- Athens: PSS {pss:,.0f}, RSS {rss:,.0f}")
    sys.stdout.flush()

    procs.stop_all()  # the cold rows run on a quiet machine, each server fresh
    cold_rows(args, tmp, logs)


@dataclass
class Walks:
    """One target's cold and warm walks of one module, a round each."""

    cold: list[float]
    warm: list[float]


def cold_rows(args: argparse.Namespace, tmp: Path, logs: Path) -> None:
    """`go mod download all` from an empty client cache of a consumer of each
    ``--cold-modules``: straight from the upstream, through a fresh Depot and a fresh
    Athens, in ``--cold-rounds`` rounds that rotate which goes first; each server's cold
    walk is compared with the upstream's of the same round (the upstream's own speed
    drifts from minute to minute)."""
    go = go_binary()
    upstream = upstream_proxy(go)
    targets = ["upstream directly (the toolchain's default proxy)", "Depot (fetch mode, fresh)"]
    if args.athens_bin:
        targets.append("Athens (fresh)")
    print("\n## `go mod download all` from an empty client cache (s)\n")
    print(f"Cold: the server has never seen the modules; warm: a second empty client right "
          f"after. {args.cold_rounds} rounds rotating which goes first, all servers of the "
          "hits stopped; the median, its range, and each cold walk against the upstream's "
          "of the same round.\n")
    print("| module | through | cold | cold range | warm | cold / upstream | range |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for target in args.cold_modules:
        module, version = target.split("@")
        say(f"cold and warm `go mod download all` of a {target} consumer")
        walks = {name: Walks([], []) for name in targets}
        for round_no in range(args.cold_rounds):
            shift = round_no % len(targets)
            for name in targets[shift:] + targets[:shift]:
                where = tmp / f"walk-{module.rsplit('/', 1)[-1]}-{round_no}-{targets.index(name)}"
                cold, warm = _walk_twice(name, go, upstream, where, (module, version), args,
                                         logs)
                walks[name].cold.append(cold)
                walks[name].warm.append(warm)
        base = walks[targets[0]].cold
        for name in targets:
            done = walks[name]
            ratios = [c / u for c, u in zip(done.cold, base, strict=True)]
            print(f"| {module} {version} | {name} | {statistics.median(done.cold):.2f} | "
                  f"{min(done.cold):.2f}-{max(done.cold):.2f} | "
                  f"{statistics.median(done.warm):.2f} | {statistics.median(ratios):.2f}× | "
                  f"{min(ratios):.2f}-{max(ratios):.2f}× |")
        sys.stdout.flush()
    if args.athens:
        print("\nAthens: its cold rows need --athens-bin (this script cannot empty the "
              "storage of an Athens it did not start).")


def _walk_twice(name: str, go: str, upstream: str, where: Path, target: tuple[str, str],
                args: argparse.Namespace, logs: Path) -> tuple[float, float]:
    """(cold, warm) seconds of two walks through ``name``; a fresh server of its own."""
    procs = Processes()
    try:
        gosumdb = None
        if name.startswith("upstream"):
            base = upstream
        elif name.startswith("Depot"):
            base = start_depot(procs, where / "depot").base
        else:
            base = start_athens(procs, args.athens_bin, where / "athens", logs,
                                where.name).base
            gosumdb = athens_gosumdb()
        times = []
        for kind in ("cold", "warm"):
            done = go_download(go, base, where / kind, target, gosumdb=gosumdb)
            if not done.ok:
                raise BenchError(f"go mod download all of {target[0]} through {name}:\n"
                                 f"{done.tail}")
            times.append(done.seconds)
        say(f"  {name}: cold {times[0]:.2f} s, warm {times[1]:.2f} s")
        return times[0], times[1]
    finally:
        procs.stop_all()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--athens-bin", help="an Athens proxy binary to start here")
    who.add_argument("--athens", help="base URL of an Athens someone runs")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument("--publish-timeout", type=float, default=900,
                        help="seconds Depot may take to publish the modules")
    parser.add_argument("--skip-install", action="store_true",
                        help="never call apt-get, use what is installed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir afterwards")
    parser.add_argument("--cold-modules", type=lambda text: text.split(","),
                        default=[f"{COBRA[0]}@{COBRA[1]}", "github.com/gin-gonic/gin@v1.10.0"],
                        help="MODULE@VERSION,… whose consumers' cold walks are timed")
    parser.add_argument("--cold-rounds", type=int, default=3,
                        help="rounds of the cold walks; the median is reported")
    args = parser.parse_args(argv)
    if args.athens_bin and not os.access(args.athens_bin, os.X_OK):
        parser.error(f"--athens-bin {args.athens_bin}: not an executable file")
    if any(target.count("@") != 1 for target in args.cold_modules):
        parser.error("--cold-modules: MODULE@VERSION, comma-separated")
    if args.duration < 1 or args.repeat < 1 or args.connections < 2 or args.cold_rounds < 1:
        parser.error("--duration, --repeat and --cold-rounds must be at least 1, "
                     "--connections at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return guarded_main(run, args, Processes(), "depot-peers-")


if __name__ == "__main__":
    sys.exit(main())

"""Package documentation of large real modules: how long it takes to make, what it stores,
and how fast its pages answer.

Why: every published version is documented by a `docs` job (app/pkgdoc) whose rows the
package pages read; a big module (golang.org/x/tools: ~200 packages) is where making
it, storing it and reading it back costs most. The modules come from the real upstream
(the toolchain's default GOPROXY) into a fresh Depot started as `make run` starts it
(bench/latency.py start_depot), with `flask --app app ingest --deps MODULE@VERSION` in
the same environment. Then, per module:

1. making: that version's rows are deleted and `flask --app app docs MODULE@VERSION` is
   timed (wall time of the whole command: interpreter start, the zip read from the
   store, the helper, the rows written), beside the helper's own time
   (version_docs.seconds), the packages and the JSON bytes stored
   (version_docs.stored_bytes) and the database pages the rows took;
2. pages: the module's Doc tab, its Packages tab, the package with the largest stored
   documentation, and the Files view of its largest .go file, each first fetched
   ``--requests`` times one after the other (p50/p90/p99 of the whole response), then
   hit by wrk with ``--connections`` clients for ``--duration`` seconds.

It needs the network, so `make bench` does not run it. Stdout is Markdown for
docs/bench.md, progress goes to stderr. `TMPDIR=/dev/shm` keeps Depot's data in memory;
`PYTHONPATH=$PWD` makes sure the checkout measured is this one when the virtualenv's
editable install points at another.

    PYTHONPATH=$PWD TMPDIR=/dev/shm .venv/bin/python bench/docs.py [--module M@V ...]
        [--requests 200] [--connections 4] [--duration 10] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import re
import shlex
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench._harness import (
    BIN,
    REPO,
    BenchError,
    Processes,
    command_line,
    commit_line,
    flask_cli,
    guarded_main,
    machine_line,
    say,
)
from bench.goproxy import find_wrk, tool_version
from bench.latency import Depot, log_trouble, make_run_env, start_depot

# golang.org/x/tools: the big module of the issue; the S3 client of the AWS SDK: one
# package of hundreds of types (a long page) in a 0.7 MB zip.
MODULES = ("golang.org/x/tools@v0.28.0", "github.com/aws/aws-sdk-go-v2/service/s3@v1.71.0")
ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"


@dataclass
class Made:
    """How one version's documentation was made and what it stored."""

    packages: int
    stored_bytes: int
    helper_seconds: float
    command_seconds: float
    ingest_seconds: float
    db_bytes: int  # database pages in use after minus before the rows were written
    note: str


@dataclass
class Latency:
    """One page, fetched in sequence and then under wrk."""

    name: str
    path: str
    bytes: int
    seq: tuple[float, float, float]  # p50, p90, p99 in ms
    wrk: tuple[float, float, float] | None
    wrk_rps: float | None
    wrk_errors: int


# --------------------------------------------------------------------------- the database


def db_file(depot: Depot) -> Path:
    return depot.data / "depot.sqlite3"


def version_id(depot: Depot, module: str, version: str) -> int:
    with sqlite3.connect(db_file(depot)) as conn:
        row = conn.execute(
            "SELECT v.id FROM module_versions v JOIN modules m ON m.id = v.module_id "
            "WHERE m.path = ? AND v.version = ?", (module, version)).fetchone()
    if row is None:
        raise BenchError(f"Depot has no {module}@{version} after the ingest")
    return int(row[0])


def docs_row(depot: Depot, vid: int) -> tuple[int, int, float, bool, str] | None:
    """(packages, stored_bytes, seconds, ready, note) of the version's version_docs row."""
    with sqlite3.connect(db_file(depot)) as conn:
        row = conn.execute("SELECT packages, stored_bytes, seconds, ready, note "
                           "FROM version_docs WHERE version_id = ?", (vid,)).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), float(row[2]), bool(row[3]),
                                     str(row[4]))


def used_bytes(depot: Depot) -> int:
    """Bytes of database pages in use (the WAL's included): free pages left by deleted
    rows are reused, so the file's size alone would not move."""
    with sqlite3.connect(db_file(depot)) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def forget_docs(depot: Depot, vid: int) -> None:
    with sqlite3.connect(db_file(depot), timeout=60) as conn:
        for table in ("package_imports", "package_docs", "version_docs"):
            conn.execute(f"DELETE FROM {table} WHERE version_id = ?", (vid,))


def largest_package(depot: Depot, vid: int) -> tuple[str, int]:
    """(subpath, bytes) of the package with the most documentation stored."""
    with sqlite3.connect(db_file(depot)) as conn:
        row = conn.execute("SELECT subpath, length(body) FROM package_docs "
                           "WHERE version_id = ? ORDER BY length(body) DESC LIMIT 1",
                           (vid,)).fetchone()
    if row is None:
        raise BenchError("no package documented")
    return str(row[0]), int(row[1])


def has_root_package(depot: Depot, vid: int) -> bool:
    with sqlite3.connect(db_file(depot)) as conn:
        return conn.execute("SELECT 1 FROM package_docs WHERE version_id = ? AND subpath = ''",
                            (vid,)).fetchone() is not None


def largest_go_file(depot: Depot, module: str, version: str) -> tuple[str, int]:
    """(path in the module, uncompressed bytes) of the zip's largest .go file that the
    Files view shows (a larger one is only offered as the zip: x/tools' 1.1 MB
    godoc/static/static.go answered an 8 kB page)."""
    from app.gomod.paths import escape_path, escape_version
    from app.portal.files import SOURCE_MAX

    zip_path = (depot.data / "store" / escape_path(module) / "@v"
                / f"{escape_version(version)}.zip")
    prefix = f"{module}@{version}/"
    with zipfile.ZipFile(zip_path) as zf:
        best = max((i for i in zf.infolist()
                    if i.filename.endswith(".go") and i.file_size <= SOURCE_MAX),
                   key=lambda i: i.file_size)
    return best.filename.removeprefix(prefix), best.file_size


# --------------------------------------------------------------------------- pages


def percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98]


def sequential(base: str, path: str, n: int) -> tuple[int, tuple[float, float, float]]:
    """n GETs one after the other on one keep-alive connection: (bytes, ms percentiles)."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=120)
    took: list[float] = []
    size = 0
    try:
        for _ in range(n + 1):  # the first is a warm-up, not counted
            began = time.perf_counter()
            conn.request("GET", path, headers={"Accept": ACCEPT})
            resp = conn.getresponse()
            body = resp.read()
            elapsed = (time.perf_counter() - began) * 1000
            if resp.status != 200:
                raise BenchError(f"GET {path}: {resp.status}: {body[:300]!r}")
            if size:
                took.append(elapsed)
            size = len(body)
    finally:
        conn.close()
    return size, percentiles(took)


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk_load(wrk: str, url: str, connections: int, duration: int
             ) -> tuple[tuple[float, float, float], float, int]:
    """(p50/p90/p99 ms, requests/s, errors) of `wrk --latency` on url."""
    cmd = [wrk, f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s",
           "--timeout", "30s", "--latency", "-H", f"Accept: {ACCEPT}", url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    if done.returncode != 0:
        raise BenchError(f"{shlex.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    out = done.stdout
    cuts = []
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s*{pct}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        if not m:
            raise BenchError(f"cannot read wrk output:\n{out}")
        cuts.append(float(m.group(1)) * _UNITS_MS[m.group(2)])
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses: (\d+)",
                    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
        m = re.search(pattern, out)
        if m:
            errors += sum(int(g) for g in m.groups())
    return (cuts[0], cuts[1], cuts[2]), float(rps.group(1)) if rps else 0.0, errors


def measure_page(args: argparse.Namespace, wrk: str | None, base: str, name: str,
                 path: str) -> Latency:
    say(f"{name}: {path}")
    size, seq = sequential(base, path, args.requests)
    load, rps, errors = (None, None, 0)
    if wrk is not None and args.duration > 0:
        load, rps, errors = wrk_load(wrk, base + path, args.connections, args.duration)
    return Latency(name, path, size, seq, load, rps, errors)


# --------------------------------------------------------------------------- one module


def document(args: argparse.Namespace, depot: Depot, env: dict[str, str], target: str,
             log: Path) -> tuple[Made, int]:
    module, _, version = target.partition("@")
    say(f"ingesting {target} with its build list")
    began = time.monotonic()
    # Not flask_cli: a member of the build list that cannot be had (an old pseudo-version's
    # defect) fails the command, not the version measured, which is checked below.
    done = subprocess.run([str(BIN / "flask"), "--app", "app", "ingest", "--deps", target],
                          cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=args.ingest_cap)
    ingest_seconds = time.monotonic() - began
    with open(log, "a") as fh:
        fh.write(f"$ flask --app app ingest --deps {target}\n{done.stdout}{done.stderr}\n")
    available = re.findall(r"^\d+/\d+ module versions available.*$", done.stderr, re.M)
    fine = ("stored", "present", "drift", "published")
    missing = [" ".join(line.split()) for line in done.stdout.splitlines()
               if line.split() and line.split()[0] not in fine]
    vid = version_id(depot, module, version)
    if docs_row(depot, vid) is None:
        raise BenchError(f"the ingest of {target} kept no documentation (is it published?)")
    forget_docs(depot, vid)
    before = used_bytes(depot)
    say(f"documenting {target} again: flask --app app docs")
    began = time.monotonic()
    flask_cli(["docs", target], env, log, timeout=args.ingest_cap)
    command_seconds = time.monotonic() - began
    row = docs_row(depot, vid)
    if row is None:
        raise BenchError(f"`flask --app app docs {target}` kept no row")
    packages, stored, helper_seconds, ready, note = row
    if not ready:
        raise BenchError(f"{target} has no documentation: {note}")
    made = Made(packages, stored, helper_seconds, command_seconds, ingest_seconds,
                used_bytes(depot) - before, "; ".join(available + missing[:5]))
    return made, vid


def pages(args: argparse.Namespace, wrk: str | None, depot: Depot, target: str, vid: int
          ) -> list[Latency]:
    module, _, version = target.partition("@")
    subpath, body_bytes = largest_package(depot, vid)
    go_file, go_bytes = largest_go_file(depot, module, version)
    todo: list[tuple[str, str]] = []
    if has_root_package(depot, vid):
        todo.append(("Doc tab (root package)", f"/{module}?tab=doc"))
    todo.append(("Packages tab", f"/{module}?tab=packages"))
    if subpath:
        todo.append((f"largest package `{subpath}` ({body_bytes / 1e3:.0f} kB JSON)",
                     f"/{module}/{subpath}"))
    else:  # the root package is the largest: the Doc tab's row is that page
        todo[0] = (f"Doc tab (root package, the largest: {body_bytes / 1e3:.0f} kB JSON)",
                   todo[0][1])
    todo.append((f"Files view `{go_file}` ({go_bytes / 1e3:.0f} kB)",
                 f"/{module}?tab=files&file={urllib.parse.quote(go_file)}"))
    return [measure_page(args, wrk, depot.base, name, path) for name, path in todo]


# --------------------------------------------------------------------------- report


def ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def report(target: str, made: Made, seen: list[Latency], args: argparse.Namespace) -> None:
    print(f"### {target}\n")
    print(f"- ingest with its build list (`flask --app app ingest --deps`): "
          f"{made.ingest_seconds:.0f} s ({made.note or 'no summary line'})")
    print(f"- documentation: {made.packages} packages, {made.stored_bytes / 1e6:.2f} MB of "
          f"JSON stored (version_docs.stored_bytes), {made.db_bytes / 1e6:.2f} MB of "
          "database pages taken (rows and indexes)")
    print(f"- made in {made.helper_seconds:.2f} s of the helper (version_docs.seconds); "
          f"`flask --app app docs {target}` after deleting the version's rows: "
          f"{made.command_seconds:.2f} s wall\n")
    print(f"| page | HTML | sequential p50 / p90 / p99 ms ({args.requests}) | "
          f"wrk {args.connections} clients p50 / p90 / p99 ms | wrk req/s |")
    print("|---|---:|---:|---:|---:|")
    for lat in seen:
        load = " / ".join(ms(v) for v in lat.wrk) if lat.wrk else "—"
        rps = f"{lat.wrk_rps:.0f}" if lat.wrk_rps is not None else "—"
        if lat.wrk_errors:
            rps += f" ({lat.wrk_errors} errors)"
        print(f"| {lat.name} | {lat.bytes / 1e3:.0f} kB | "
              f"{' / '.join(ms(v) for v in lat.seq)} | {load} | {rps} |")
    print()
    print("- paths: " + ", ".join(f"`{lat.path}`" for lat in seen) + "\n")
    sys.stdout.flush()


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> None:
    wrk = find_wrk()
    print("## Package documentation of a large module\n")
    print(f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(command_line())
    print(machine_line())
    print(commit_line())
    wrk_version = tool_version([wrk, "-v"], r"wrk (\S+)") if wrk else "not found (no load rows)"
    print(f"- wrk: {wrk_version}")
    print("- Depot as `make run` starts it (granian, one pipeline worker, embedded Redis, "
          "SQLite), fresh, its data under the run's temp dir; upstream the toolchain's "
          "default GOPROXY\n")
    sys.stdout.flush()
    depot = start_depot(procs, tmp / "depot")
    port = int(depot.base.rsplit(":", 1)[1])
    env = make_run_env(depot.data, port)
    log = tmp / "cli.log"
    for target in args.modules:
        made, vid = document(args, depot, env, target, log)
        report(target, made, pages(args, wrk, depot, target, vid), args)
    procs.stop_all()
    trouble = log_trouble(depot.log) + log_trouble(log)
    print("- serve and command logs: " + ("; ".join(trouble[:8]) if trouble
                                          else "no traceback and no ERROR line") + "\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", dest="modules", action="append", metavar="M@V",
                        help=f"module version to document (repeatable; default: "
                             f"{', '.join(MODULES)})")
    parser.add_argument("--requests", type=int, default=200,
                        help="sequential requests per page")
    parser.add_argument("--connections", type=int, default=4, help="wrk's clients")
    parser.add_argument("--duration", type=int, default=10,
                        help="seconds of wrk per page (0: no wrk)")
    parser.add_argument("--ingest-cap", type=float, default=1800,
                        help="seconds an ingest (or the docs command) may take")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args(argv)
    args.modules = args.modules or list(MODULES)
    for target in args.modules:
        if not re.fullmatch(r"[^@\s]+@v\S+", target):
            parser.error(f"--module {target}: give MODULE@VERSION")
    if args.requests < 2:
        parser.error("--requests: at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    return guarded_main(run, parse_args(argv), Processes(), "depot-bench-docs-")


if __name__ == "__main__":
    sys.exit(main())

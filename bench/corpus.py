"""Real-corpus benchmark: real Go module versions through a fresh Depot, then a real consumer.

Why: the other benchmarks feed Depot synthetic modules, which are tidy by construction.
The ecosystem is not: pre-module `+incompatible` tags, gopkg.in paths, unpruned graphs,
replace directives, retracted and deprecated versions, trees of thousands of packages.
Issue 18 asks what Depot makes of those. This script starts Depot as `make run` does
(`flask --app app serve`, embedded Redis, SQLite, its own data dir and port; the upstream
is the toolchain's own default proxy, reached through a counting relay in this script),
requests each version of bench/corpus.txt through the JSON API, follows it to its final
state, and as soon as the version itself is published (its tree may still be on its
way) runs the consumer check twice, with the real `go` command in a fresh module cache:
once with GOPROXY=<Depot> alone and once with GOPROXY=<the upstream>. What passes
upstream but fails through Depot alone is a Depot bug. Stdout is Markdown for
docs/bench.md; progress goes to stderr.

    .venv/bin/python bench/corpus.py [--limit N] [--spread] [--only REGEX] [--workers 2]
        [--concurrency 8] [--timeout 1800] [--deadline S] [--json FILE] [--keep]
    .venv/bin/python bench/corpus.py --check-corpus    # every line exists upstream?
    .venv/bin/python bench/corpus.py --skip A.json …    # a next slice: leaves out what A saw end
    .venv/bin/python bench/corpus.py --merge A.json B.json …  # one report of several runs
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
CORPUS = REPO / "bench" / "corpus.txt"
# What the counting relay saw: requests per kind, bytes, statuses, and (distinct version
# files, fetches of a file already fetched).
Traffic = tuple[dict[str, int], int, dict[int, int], tuple[int, int]]
# The consumers' build cache outlives a run (installs are compiled); never in the repo.
CACHE = Path.home() / ".cache" / "depot" / "bench-corpus"
# A request in one of these API states has reached its end (docs/pipeline.md).
FINAL = ("published", "rejected", "failed")
# What a request whose version was published said while members of its tree were still
# on their way, before requests ended at publication (app/models.vouched); a consumer can
# build it from then on, so its consumer check starts then. Kept to read older Depots.
ROOT_PUBLISHED = "published; waiting for dependencies"
TAIL = 800  # characters of a go command's output kept for the report


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Target:
    module: str
    version: str
    group: str

    @property
    def label(self) -> str:
        return f"{self.module}@{self.version}"


def read_corpus(path: Path) -> list[Target]:
    """One module@version a line; `# == name ==` opens a group; other `#` text is a comment."""
    targets, group = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("# =="):
            group = line.strip("#= ")
            continue
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        module, sep, version = line.partition("@")
        if not sep or not version:
            raise BenchError(f"{path}: {raw!r} is not module@version")
        targets.append(Target(module, version, group))
    return targets


def select(targets: list[Target], only: str | None, limit: int | None,
           spread: bool) -> list[Target]:
    """The slice to run: a regex filter, then the first N, or N taken round-robin over groups."""
    if only:
        pattern = re.compile(only)
        targets = [t for t in targets if pattern.search(t.label)]
    if limit is None or limit >= len(targets):
        return targets
    if not spread:
        return targets[:limit]
    by_group: dict[str, list[Target]] = {}
    for t in targets:
        by_group.setdefault(t.group, []).append(t)
    queues = list(by_group.values())
    picked: list[Target] = []
    while len(picked) < limit:
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return picked


def next_slice(targets: list[Target], only: str | None, limit: int | None, spread: bool,
               seen: dict[str, Outcome]) -> list[Target]:
    """The same selection as the earlier slices', less what they saw to a final state:
    `--limit 300 --spread --skip A.json` asks for the rest of the same 300 (a version
    that timed out is asked again)."""
    done = {label for label, o in seen.items() if not o.timed_out}
    return [t for t in select(targets, only, limit, spread) if t.label not in done]


def escape(text: str) -> str:
    """The GOPROXY protocol's case escape: an upper-case letter becomes `!` + lower-case."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), text)


def toolchain_upstream(go: str) -> tuple[str, str]:
    """(first proxy of the toolchain's default GOPROXY, the rest of the list)."""
    from app.config import toolchain_default

    first, _, rest = toolchain_default(go, "GOPROXY").partition(",")
    if not first.startswith("http"):
        raise BenchError(f"the toolchain's GOPROXY starts with {first!r}, not a proxy URL")
    return first.rstrip("/"), rest


def check_corpus(args: argparse.Namespace) -> int:
    """Ask the upstream for every line's .info; say which are missing (exit 1 if any)."""
    from app.config import find_go

    upstream, _ = toolchain_upstream(find_go())
    targets = select(read_corpus(args.corpus), args.only, args.limit, args.spread)

    def info(t: Target) -> tuple[Target, str]:
        url = f"{upstream}/{escape(t.module)}/@v/{escape(t.version)}.info"
        try:
            with urllib.request.urlopen(url, timeout=60) as resp:
                return t, "" if resp.status == 200 else str(resp.status)
        except urllib.error.HTTPError as exc:
            return t, f"{exc.code} {exc.read(200).decode(errors='replace').strip()}"
        except OSError as exc:
            return t, f"{type(exc).__name__}: {exc}"

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        missing = [(t, why) for t, why in pool.map(info, targets) if why]
    for t, why in missing:
        print(f"missing: {t.label}: {why}")
    say(f"{len(targets) - len(missing)} of {len(targets)} lines exist at {upstream}")
    return 1 if missing else 0


# --------------------------------------------------------------------------- the upstream relay


class Relay(http.server.ThreadingHTTPServer):
    """Forwards every GET/HEAD to the upstream and counts them: Depot's upstream traffic.

    Depot's go commands reach the upstream only through DEPOT_UPSTREAM (the checksum
    database too, by the proxy's /sumdb/ path), so this count is all of it.
    """

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.upstream = upstream
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.bytes = 0
        self.statuses: dict[int, int] = {}
        self.files: dict[str, int] = {}  # a version's .info/.mod/.zip: times served whole
        self.idle: list[http.client.HTTPConnection] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def send(self, method: str, path: str
             ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send on a kept-alive connection (a new TLS handshake per request would cost
        ~30 ms each and inflate what the run measures); retry once on a stale one."""
        target = urllib.parse.urlsplit(self.upstream)
        for attempt in (0, 1):
            with self.lock:
                conn = self.idle.pop() if self.idle and not attempt else None
            if conn is None:
                kind = (http.client.HTTPSConnection if target.scheme == "https"
                        else http.client.HTTPConnection)
                conn = kind(target.netloc, timeout=300)
            try:
                conn.request(method, target.path.rstrip("/") + path,
                             headers={"Accept-Encoding": "identity"})
                return conn, conn.getresponse()
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def release(self, conn: http.client.HTTPConnection) -> None:
        with self.lock:
            self.idle.append(conn)

    def record(self, kind: str, status: int, size: int, path: str = "") -> None:
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.bytes += size
            if status == 200 and kind in ("info", "mod", "zip") and "/@v/v" in path:
                self.files[path] = self.files.get(path, 0) + 1

    def repeated(self) -> list[tuple[str, int]]:
        """The version files fetched more than once, most often first."""
        with self.lock:
            return sorted(((p, n) for p, n in self.files.items() if n > 1),
                          key=lambda item: (-item[1], item[0]))

    def snapshot(self) -> Traffic:
        """Requests per kind, bytes, statuses, and (distinct version files, fetches of one
        already fetched): issue 19 asks each upstream file once."""
        with self.lock:
            again = sum(n - 1 for n in self.files.values())
            return dict(self.counts), self.bytes, dict(self.statuses), (len(self.files), again)


def request_kind(path: str) -> str:
    if path.startswith("/sumdb/"):
        return "sumdb"
    for suffix in (".info", ".mod", ".zip", "/@v/list", "/@latest"):
        if path.split("?", 1)[0].endswith(suffix):
            return suffix.rsplit("/", 1)[-1].lstrip(".@")
    return "other"


class _RelayHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Relay

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._forward(body=True)

    def do_HEAD(self) -> None:
        self._forward(body=False)

    def _forward(self, body: bool) -> None:
        method = "GET" if body else "HEAD"
        try:
            conn, resp = self.server.send(method, self.path)
        except OSError as exc:
            message = f"relay: upstream unreachable: {exc}\n".encode()
            self.send_response(502)
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)
            self.server.record(request_kind(self.path), 502, 0)
            return
        status, sent = resp.status, 0
        try:
            length = resp.getheader("Content-Length")
            data = None if length is not None or not body else resp.read()
            self.send_response(status)
            for name in ("Content-Type", "Cache-Control", "ETag", "Last-Modified"):
                if resp.getheader(name):
                    self.send_header(name, resp.getheader(name))
            self.send_header("Content-Length", str(len(data)) if data is not None else
                             length or "0")
            self.end_headers()
            if data is not None:
                self.wfile.write(data)
                sent = len(data)
            elif body:
                while chunk := resp.read(1 << 16):
                    self.wfile.write(chunk)
                    sent += len(chunk)
        finally:
            # Read to the end or drop: only a finished response leaves a reusable line.
            if resp.isclosed() or not resp.read():
                self.server.release(conn)
            else:
                conn.close()
        self.server.record(request_kind(self.path), status, sent, self.path)


# --------------------------------------------------------------------------- requests


@dataclass
class Outcome:
    target: Target
    request_id: int = 0
    state: str = "not submitted"
    reason: str = ""
    version_state: str = ""  # the version's own state (validation_failed vs failed)
    unserved: list[dict] = field(default_factory=list)
    dependencies: int = 0
    seconds: float | None = None  # submission to the final state
    already: bool = False  # final at submission (e.g. published as a dependency before)
    timed_out: bool = False
    root_published: bool = False  # the version itself published (its tree maybe not)
    published_seconds: float | None = None  # submission to the version's own publication
    retracted: bool = False
    deprecated: str = ""
    validation_note: str = ""
    checks: dict[str, Check] = field(default_factory=dict)

    @property
    def category(self) -> str:
        if self.timed_out and self.root_published:
            return "published, tree still on its way"
        if self.timed_out and self.state != "failed":
            return "timed out"
        if self.state == "published":
            return "published with held members" if self.unserved else "published"
        if self.state == "rejected":
            return "refused"
        return "failed"


@dataclass
class Check:
    ok: bool
    step: str = ""  # the step that failed
    output: str = ""  # its output's tail
    seconds: float = 0.0
    packages: int = 0
    commands: int = 0
    installed: int = 0
    broken: dict[str, str] = field(default_factory=dict)  # package: error, from go list -deps


class Api:
    """Depot's JSON API, as the request page's script uses it."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
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

    def submit(self, t: Target) -> dict:
        for _attempt in range(5):
            code, body = self.call("POST", "/api/v1/requests",
                                   {"module": t.module, "version": t.version})
            if code == 202:
                return body
            if code not in (429, 503):
                return {"state": "rejected", "reason": f"HTTP {code}: {body}", "id": 0}
            time.sleep(5)
        raise BenchError(f"{t.label}: Depot kept answering {code} to the request")

    def status(self, request_id: int) -> dict:
        code, body = self.call("GET", f"/api/v1/requests/{request_id}")
        if code != 200:
            raise BenchError(f"GET /api/v1/requests/{request_id}: HTTP {code} {body}")
        return body

    def version(self, t: Target) -> dict:
        """The version's own facts (state, retraction, note): the module JSON's "version"."""
        query = urllib.parse.quote(t.version)
        code, body = self.call("GET", f"/api/v1/modules/{t.module}?version={query}")
        return (body.get("version") or {}) if code == 200 else {}


def settle(api: Api, outcome: Outcome, body: dict) -> bool:
    """Take a status body into the outcome; True once the request is final."""
    outcome.state, outcome.reason = body.get("state", "?"), body.get("reason") or ""
    outcome.unserved = body.get("unserved") or []
    outcome.dependencies = len(body.get("dependencies") or [])
    if outcome.state == "published" or outcome.reason.startswith(ROOT_PUBLISHED):
        outcome.root_published = True
    if outcome.state not in FINAL:
        return False
    if outcome.state == "failed":
        # "failed" is either final (validation_failed) or transient (RQ retries it).
        outcome.version_state = api.version(outcome.target).get("state", "")
        return outcome.version_state != "failed"
    return True


def run_requests(api: Api, targets: list[Target], concurrency: int, timeout: float,
                 on_final: Callable[[Outcome], None] = lambda o: None,
                 deadline: float = float("inf"),
                 on_done: Callable[[list[Outcome]], None] = lambda done: None
                 ) -> list[Outcome]:
    """Submit with at most ``concurrency`` open, poll each until final or its deadline;
    ``on_final`` hears of each as it ends (the consumer checks start then), ``on_done``
    gets every outcome so far each time one more ends (kept on disk, so a run stopped
    by hand keeps what it saw). Past
    ``deadline`` (monotonic) nothing more is submitted and what is open times out."""
    pending = list(targets)
    open_: dict[int, tuple[Outcome, float]] = {}
    done: list[Outcome] = []
    total = len(targets)
    while pending or open_:
        if time.monotonic() > deadline and pending:
            say(f"deadline: {len(pending)} versions not asked")
            pending.clear()
        # A request whose version is published no longer holds a place: its tree goes
        # on in the background, as for someone who asked and went on with their day.
        while pending and sum(not o.root_published for o, _ in open_.values()) < concurrency:
            t = pending.pop(0)
            outcome, began = Outcome(t), time.monotonic()
            body = api.submit(t)
            outcome.request_id = int(body.get("id") or 0)
            final = not outcome.request_id or settle(api, outcome, body)
            if outcome.root_published:  # as a member of an earlier one's tree
                outcome.published_seconds, outcome.already = 0.0, True
            if final:
                outcome.seconds, outcome.already = time.monotonic() - began, True
                done.append(outcome)
                say(f"[{len(done)}/{total}] {t.label}: {outcome.state} at once {outcome.reason}"
                    [:300])
                on_final(outcome)
                on_done(done)
                continue
            if outcome.root_published:
                on_final(outcome)  # its consumer check can start; its tree goes on
            open_[outcome.request_id] = (outcome, began)
        time.sleep(2)
        for request_id, (outcome, began) in list(open_.items()):
            was_published = outcome.root_published
            final = settle(api, outcome, api.status(request_id))
            elapsed = time.monotonic() - began
            if outcome.root_published and not was_published:
                outcome.published_seconds = elapsed
                if not final:
                    say(f"{outcome.target.label}: published after {elapsed:.0f} s, its tree "
                        f"still on its way")
                    on_final(outcome)  # its consumer check can start
            if final or elapsed > timeout or time.monotonic() > deadline:
                outcome.seconds, outcome.timed_out = elapsed, not final
                del open_[request_id]
                done.append(outcome)
                what = "timed out in state " if not final else ""
                say(f"[{len(done)}/{total}] {outcome.target.label}: {what}{outcome.state} "
                    f"after {elapsed:.0f} s {outcome.reason}"[:300])
                on_done(done)
                if not was_published:
                    on_final(outcome)
    for outcome in done:
        if outcome.root_published:
            detail = api.version(outcome.target)
            outcome.retracted = bool(detail.get("retracted"))
            outcome.deprecated = detail.get("deprecated") or ""
            outcome.validation_note = detail.get("validation_note") or ""
    order = {t.label: i for i, t in enumerate(targets)}
    return sorted(done, key=lambda o: order[o.target.label])


# --------------------------------------------------------------------------- consumer check


def consumer_env(workdir: Path, goproxy: str) -> dict[str, str]:
    """A fresh consumer: empty module cache, only this GOPROXY, checksum database on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO_"))}
    home = workdir / "home"
    (home / ".config" / "go" / "telemetry").mkdir(parents=True, exist_ok=True)
    (home / ".config" / "go" / "telemetry" / "mode").write_text("off\n")
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               GOMODCACHE=str(workdir / "modcache"), GOPATH=str(workdir / "gopath"),
               GOBIN=str(workdir / "bin"), GOCACHE=str(CACHE / "gocache"), GOENV="off",
               GOTOOLCHAIN="local", GOWORK="off", GO111MODULE="on",
               # -trimpath: the build cache stays valid across fresh module caches.
               GOFLAGS="-mod=mod -modcacherw -trimpath", GOPROXY=goproxy,
               GONOSUMDB="", GONOSUMCHECK="", GOPRIVATE="", GONOPROXY="", GOINSECURE="",
               # As Depot's own validator: what a package needs of cgo is not Depot's part.
               CGO_ENABLED="0")
    return env


def is_internal(path: str) -> bool:
    parts = path.split("/")
    return "internal" in parts


def consumer_check(go: str, t: Target, goproxy: str, workdir: Path, timeout: float,
                   max_commands: int) -> Check:
    """go get M@V, go mod download all, go list -m all, go list -deps over a program
    importing M's importable packages and commands, go mod tidy of that program, go
    install of (some of) its commands."""
    began = time.monotonic()
    workdir.mkdir(parents=True)
    env = consumer_env(workdir, goproxy)
    consumer = workdir / "consumer"
    consumer.mkdir()
    check = Check(ok=False)

    def go_run(step: str, args: list[str], cwd: Path = consumer) -> str | None:
        try:
            done = subprocess.run([go, *args], cwd=cwd, env=env, capture_output=True,
                                  text=True, errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired:
            check.step, check.output = step, f"timed out after {timeout:.0f} s"
            return None
        if done.returncode != 0:
            check.step = step
            check.output = without_goroot(done.stderr.strip() or done.stdout.strip())[-TAIL:]
            return None
        return done.stdout

    try:
        steps = [("go mod init", ["mod", "init", "corpus.test/consumer"]),
                 ("go get", ["get", t.label]),
                 ("go mod download all", ["mod", "download", "all"]),
                 ("go list -m all", ["list", "-m", "all"])]
        for step, cmd in steps:
            if go_run(step, cmd) is None:
                return check
        listed = go_run("go list M/...", [
            "list", "-e", "-f",
            "{{.ImportPath}}\t{{.Name}}\t{{with .Module}}{{.Path}}{{end}}\t"
            "{{with .Error}}{{.Err}}{{end}}", f"{t.module}/..."])
        if listed is None:
            return check
        packages, commands = [], []
        for line in listed.splitlines():
            path, name, module, error = (line.split("\t") + ["", "", ""])[:4]
            if module != t.module or error or not name:
                continue  # another module's, or nothing to build on linux/amd64
            if name == "main":
                commands.append(path)
            elif not is_internal(path):
                packages.append(path)
        check.packages, check.commands = len(packages), len(commands)
        imports = "\n".join(f'\t_ "{p}"' for p in packages)
        (consumer / "main.go").write_text(
            f"package main\n\nimport (\n{imports}\n)\n\nfunc main() {{}}\n" if packages
            else "package main\n\nfunc main() {}\n")
        deps = go_run("go list -deps", [
            "list", "-e", "-deps", "-f",
            "{{if .Error}}{{.ImportPath}}\t{{.Error.Err}}{{end}}", ".", *commands])
        if deps is None:
            return check
        for line in deps.splitlines():
            if "\t" in line:
                path, error = line.split("\t", 1)
                check.broken[path] = without_goroot(error.replace("\n", " "))[:300]
        if check.broken:
            check.step = "go list -deps"
            check.output = "; ".join(f"{p}: {e}" for p, e in
                                     sorted(check.broken.items()))[-TAIL:]
            return check
        # What `go mod tidy` loads besides: the tests of the dependencies and the
        # modules they import (a viper consumer's tidy needed gopkg.in/check.v1).
        if packages and go_run("go mod tidy", ["mod", "tidy"]) is None:
            return check
        installer = workdir / "install"
        installer.mkdir()
        for command in commands[:max_commands]:
            if go_run(f"go install {command}@{t.version}",
                      ["install", f"{command}@{t.version}"], cwd=installer) is None:
                return check
            check.installed += 1
        check.ok = True
        return check
    finally:
        check.seconds = time.monotonic() - began
        remove_tree(workdir)


STEPS = ("go mod init", "go get", "go mod download all", "go list -m all", "go list M/...",
         "go list -deps", "go mod tidy", "go install")


def step_rank(step: str) -> int:
    """Where a consumer check's failing step comes in its run (go install … last)."""
    return next((i for i, s in enumerate(STEPS) if step.startswith(s)), len(STEPS))


def further_broken(depot: Check, upstream: Check) -> bool:
    """Both legs fail, and Depot's worse: it stopped at an earlier step, or at the same
    `go list -deps` with packages the upstream resolved. When the upstream stops sooner,
    Depot's leg got further and its list of broken packages compares with nothing."""
    if step_rank(depot.step) != step_rank(upstream.step):
        return step_rank(depot.step) < step_rank(upstream.step)
    return bool(set(depot.broken) - set(upstream.broken))


def refused_member(output: str) -> str:
    """The ``module@version — reason`` of a module Depot answered 410 for (held: its
    license, or its own validation), as a go command's output names it; "" if none."""
    found = re.search(r"server response: (\S+@\S+): refused: ([^\n]+)", output)
    return f"{found.group(1)} — {found.group(2).strip()}" if found else ""


class Checks:
    """Consumer checks of published versions, started as each request ends, so that
    they overlap the requests still open instead of waiting for the last one."""

    def __init__(self, go: str, legs: dict[str, str], tmp: Path, timeout: float,
                 max_commands: int, jobs: int) -> None:
        self.go, self.legs, self.tmp = go, legs, tmp
        self.timeout, self.max_commands = timeout, max_commands
        self.pool = concurrent.futures.ThreadPoolExecutor(jobs)
        self.futures: list[concurrent.futures.Future] = []
        self.count = 0

    def submit(self, outcome: Outcome) -> None:
        if outcome.root_published:
            self.count += 1
            self.futures.append(self.pool.submit(self._one, self.count, outcome))

    def _one(self, i: int, o: Outcome) -> None:
        for leg, goproxy in self.legs.items():
            o.checks[leg] = consumer_check(self.go, o.target, goproxy,
                                           self.tmp / f"check-{i}-{leg}", self.timeout,
                                           self.max_commands)
        depot = o.checks.get("depot")
        if depot is not None and not depot.ok and refused_member(depot.output):
            # What the version's mark tells its consumers to do: the origin after Depot
            # (here the upstream stands for ",direct": no VCS host is reachable).
            o.checks["depot+upstream"] = consumer_check(
                self.go, o.target, f"{self.legs['depot']},{self.legs['upstream']}",
                self.tmp / f"check-{i}-depot+upstream", self.timeout, self.max_commands)
        verdict = ", ".join(f"{leg} {'pass' if c.ok else 'FAIL at ' + c.step}"
                            for leg, c in o.checks.items())
        say(f"consumer check {o.target.label}: {verdict}")

    def wait(self) -> None:
        for future in self.futures:
            future.result()
        self.pool.shutdown()


# --------------------------------------------------------------------------- metrics


def job_metrics(base: str) -> dict[str, dict[str, float]]:
    """Per stage: jobs (ok, failed) and summed seconds, from Depot's /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=60) as resp:
        text = resp.read().decode()
    stages: dict[str, dict[str, float]] = {}
    for m in re.finditer(r'^depot_jobs_total\{(?=[^}]*stage="([^"]+)")(?=[^}]*outcome="([^"]+)")'
                         r'[^}]*\} (\S+)$', text, re.M):
        stages.setdefault(m.group(1), {})[m.group(2)] = float(m.group(3))
    for m in re.finditer(r'^depot_job_duration_seconds_sum\{stage="([^"]+)"\} (\S+)$', text,
                         re.M):
        stages.setdefault(m.group(1), {})["seconds"] = float(m.group(2))
    return stages


# --------------------------------------------------------------------------- the run


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> None:
    from app.config import find_go

    go = find_go()
    upstream, rest = toolchain_upstream(go)
    targets = next_slice(read_corpus(args.corpus), args.only, args.limit, args.spread,
                         final_outcomes(args.skip or []))
    if not targets:
        raise BenchError("no corpus line matches")
    CACHE.mkdir(parents=True, exist_ok=True)
    relay = None
    depot_upstream = upstream + ("," + rest if rest else "")
    if not args.no_relay:
        relay = Relay(upstream)
        threading.Thread(target=relay.serve_forever, daemon=True).start()
        depot_upstream = relay.url + ("," + rest if rest else "")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DEPOT_") and k not in ("DATABASE_URL", "REDIS_URL",
                                                        "ELASTICSEARCH_URL")}
    env.update(DEPOT_DATA_DIR=str(tmp / "data"), DEPOT_PORT=str(port),
               DEPOT_UPSTREAM=depot_upstream, DEPOT_ON_MISS=args.on_miss,
               DEPOT_REQUEST_LIMIT="0", DEPOT_LOG_FORMAT="json")
    flask_cli(["migrate"], env)
    log = tmp / "serve.log"
    serve = procs.start("depot", [str(BIN / "flask"), "--app", "app", "serve", "--workers",
                                  str(args.workers)], log, cwd=REPO, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/", serve, log)
    say(f"Depot on {base} ({args.workers} workers, upstream {depot_upstream}); "
        f"{len(targets)} versions")
    began = time.monotonic()
    checks = Checks(go, {"depot": base, "upstream": upstream}, tmp, args.check_timeout,
                    args.max_commands, args.check_jobs)
    outcomes = run_requests(Api(base), targets, args.concurrency, args.timeout,
                            (lambda o: None) if args.no_check else checks.submit,
                            began + (args.deadline or float("inf")),
                            lambda done: keep_so_far(args.json, done))
    wall = time.monotonic() - began
    metrics = job_metrics(base)
    traffic = relay.snapshot() if relay else None
    for path, times in (relay.repeated() if relay else [])[:40]:
        say(f"fetched {times} times from the upstream: {path}")
    if serve.poll() is not None:
        raise BenchError(f"Depot stopped during the run:\n{log.read_text()[-3000:]}")
    save(args.json, outcomes)  # the requests' part survives a run stopped during the checks
    say("waiting for the consumer checks still running")
    checks.wait()
    save(args.json, outcomes)
    report(args, outcomes, wall, metrics, traffic, upstream)


def save(path: str | None, outcomes: list[Outcome]) -> None:
    if path:
        text = json.dumps([{**asdict(o), "category": o.category} for o in outcomes], indent=1)
        part = Path(path + ".part")
        part.write_text(text)
        part.replace(path)  # whole or not at all, should the run be stopped meanwhile


def keep_so_far(path: str | None, outcomes: list[Outcome]) -> None:
    """``save`` during the run; a consumer check writing its result at that moment
    (RuntimeError: the dict changed size) leaves it to the next call."""
    try:
        save(path, outcomes)
    except RuntimeError:
        pass


def load(path: str) -> list[Outcome]:
    """The outcomes a run saved with --json."""
    data = json.loads(Path(path).read_text())
    outcomes = []
    for row in data["outcomes"] if isinstance(data, dict) else data:
        row = {k: v for k, v in row.items() if k != "category"}
        target = Target(**row.pop("target"))
        checks = {leg: Check(**c) for leg, c in row.pop("checks", {}).items()}
        outcomes.append(Outcome(target=target, checks=checks, **row))
    return outcomes


def final_outcomes(paths: list[str]) -> dict[str, Outcome]:
    """Per version, its last outcome that reached a final state (else its last one)."""
    found: dict[str, Outcome] = {}
    for path in paths:
        for o in load(path):
            kept = found.get(o.target.label)
            if kept is None or o.timed_out <= kept.timed_out:
                found[o.target.label] = o
    return found


def merge(args: argparse.Namespace) -> int:
    """One report of several runs' --json files (a corpus too big for one sitting)."""
    found = final_outcomes(args.merge)
    order = {t.label: i for i, t in enumerate(read_corpus(args.corpus))}
    outcomes = sorted(found.values(), key=lambda o: order.get(o.target.label, len(order)))
    report(args, outcomes, 0.0, {}, None, "")
    return 0


def without_goroot(text: str) -> str:
    """The go command names the toolchain's GOROOT in "is not in std (…)": a folder of
    this machine, kept out of results that are committed (the JSON too)."""
    return re.sub(r"is not in std \([^)]*\)", "is not in std", text)


def scrub(text: str) -> str:
    """Output fit for a committed page: one line, no temp dirs, no ports of this run
    (Depot's and the relay's are both on 127.0.0.1)."""
    text = re.sub(r"/tmp/\S*?/check-\d+-([\w+]+)/", r"…/check-\1/", without_store_dir(text))
    text = without_goroot(text)
    return re.sub(r"http://127\.0\.0\.1:\d+", "<local Depot or relay>", text).replace("\n", " ")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def reason_class(reason: str) -> str:
    """The kind of a refusal: its text before the first colon, without names and numbers."""
    head = re.sub(r"^\S+@v\S+:\s*", "", reason.strip())  # "M@V: why" names its version
    head = head.split(":", 1)[0].strip() or "(no reason given)"
    return re.sub(r"\S+@v\S+", "M@V", head)[:80]


def report(args: argparse.Namespace, outcomes: list[Outcome], wall: float,
           metrics: dict[str, dict[str, float]],
           traffic: Traffic | None, upstream: str) -> None:
    argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
    print("## Real corpus (issue 18)\n")
    print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"- command: `.venv/bin/python bench/corpus.py {argv}`")
    if args.merge:
        print(f"- {len(outcomes)} versions: the outcomes of {len(args.merge)} runs, each on a "
              "fresh Depot (a version asked in several: the last final outcome)\n")
        report_tables(args, outcomes, wall, metrics, traffic)
        return
    print(machine_line())
    print(commit_line())
    print(f"- Depot as `make run` starts it: `flask --app app serve --workers {args.workers}` "
          f"(gunicorn, {args.workers} pipeline worker(s), embedded Redis, SQLite), fresh data "
          f"dir, DEPOT_ON_MISS={args.on_miss}; upstream {upstream}"
          f"{' through a counting relay in the script' if traffic else ''}")
    print(f"- corpus: {len(outcomes)} versions of bench/corpus.txt"
          f"{f' matching `{args.only}`' if args.only else ''}"
          f"{f', {args.limit} taken ' + ('round-robin over its groups' if args.spread else 'from the top') if args.limit else ''}"  # noqa: E501
          f"; {args.concurrency} requests open at once; {args.timeout:.0f} s allowed each\n")
    report_tables(args, outcomes, wall, metrics, traffic)


def report_tables(args: argparse.Namespace, outcomes: list[Outcome], wall: float,
                  metrics: dict[str, dict[str, float]],
                  traffic: Traffic | None) -> None:
    counts: dict[str, int] = {}
    for o in outcomes:
        key = o.category if o.category != "refused" else f"refused: {reason_class(o.reason)}"
        if o.category == "failed":
            key = f"failed ({o.version_state or 'transient'}): {reason_class(o.reason)}"
        counts[key] = counts.get(key, 0) + 1
    print("| outcome | versions |\n|---|---:|")
    for key in sorted(counts, key=lambda k: (not k.startswith("published"), k)):
        print(f"| {key} | {counts[key]} |")
    print(f"| all | {len(outcomes)} |\n")

    published = [o for o in outcomes if o.root_published]
    if published and not args.no_check:
        print("Consumer check of each published version (fresh module cache, `go get`, "
              "`go mod download all`, `go list -m all`, `go list -deps` over a program "
              "importing every importable package and command, `go install` of up to "
              f"{args.max_commands} commands; CGO_ENABLED=0, GOTOOLCHAIN=local):\n")
        print("| GOPROXY | pass | fail |\n|---|---:|---:|")
        for leg, name in (("depot", "Depot alone"), ("upstream", "the upstream alone")):
            ok = sum(1 for o in published if o.checks.get(leg) and o.checks[leg].ok)
            print(f"| {name} | {ok} | {len(published) - ok} |")
        failed = [o for o in published if o.checks["upstream"].ok and not o.checks["depot"].ok]
        worse = [o for o in published if not o.checks["upstream"].ok and not o.checks["depot"].ok
                 and further_broken(o.checks["depot"], o.checks["upstream"])]
        held = [o for o in failed + worse if refused_member(o.checks["depot"].output)]
        bugs = [o for o in failed if o not in held]
        extra = [o for o in worse if o not in held]
        both = [o for o in published if not o.checks["upstream"].ok and o not in worse]
        print(f"\nUpstream passes, Depot alone fails (Depot bugs): {len(bugs)}"
              + ("" if bugs else "."))
        for o in bugs:
            c = o.checks["depot"]
            print(f"- `{o.target.label}`: {c.step}: {scrub(c.output)[:400]}")
        if extra:
            print(f"\nBoth fail, Depot alone sooner or on more packages (to look at): "
                  f"{len(extra)}")
        for o in extra:
            c, theirs = o.checks["depot"], o.checks["upstream"]
            print(f"- `{o.target.label}`: {c.step}: {scrub(c.output)[:400]} (the upstream: "
                  f"{theirs.step})")
        if held:
            print(f"\nDepot alone fails on a member it holds, as the version's mark says "
                  f"(410; consumers use `GOPROXY=<Depot>,direct`): {len(held)}")
        for o in held:
            fallback = o.checks.get("depot+upstream")
            then = ("" if fallback is None else "; with the upstream after Depot: "
                    + ("pass" if fallback.ok else f"FAIL at {fallback.step}"))
            print(f"- `{o.target.label}`: {o.checks['depot'].step}: "
                  f"{refused_member(o.checks['depot'].output)}{then}")
        if both:
            print("\nBoth fail (the module's own): "
                  + "; ".join(f"`{o.target.label}` ({o.checks['upstream'].step})"
                              for o in both))
        print()

    timed = [o.published_seconds if o.published_seconds is not None else o.seconds
             for o in published if not o.already]
    ended = [o.seconds for o in outcomes if o.state == "published" and not o.timed_out
             and not o.already and o.seconds is not None]
    print("| measure | value |\n|---|---|")
    if wall:
        print(f"| wall time of the requests | {wall:,.0f} s |")
    if timed:
        print(f"| request to the version published, p50 / p95 / max | "
              f"{pct(timed, 0.5):,.0f} / {pct(timed, 0.95):,.0f} / {max(timed):,.0f} s "
              f"({len(timed)} versions; {sum(o.already for o in published)} were published "
              f"already when asked) |")
    if ended:
        print(f"| request to published with its whole tree (the request's end), p50 / p95 / "
              f"max | {pct(ended, 0.5):,.0f} / {pct(ended, 0.95):,.0f} / {max(ended):,.0f} s "
              f"({len(ended)} versions) |")
    jobs = {stage: int(m.get("ok", 0) + m.get("failed", 0)) for stage, m in metrics.items()}
    seconds = sum(m.get("seconds", 0.0) for m in metrics.values())
    final = [o for o in outcomes if not o.timed_out]
    if metrics:
        per_stage = ", ".join(f"{stage} {m.get('seconds', 0):,.0f} s / {jobs[stage]:,} jobs"
                              for stage, m in sorted(metrics.items()))
        print(f"| worker-seconds (from /metrics) | {seconds:,.0f} s: {per_stage} |")
        if final:
            print(f"| worker-seconds per requested version that ended | "
                  f"{seconds / len(final):,.1f} s (module versions processed, dependencies "
                  f"included: {jobs.get('process', 0):,}) |")
    if traffic:
        kinds, size, statuses, (files, again) = traffic
        print(f"| upstream requests | {sum(kinds.values()):,} ("
              + ", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items()))
              + f"); {size / 1e6:,.1f} MB; statuses "
              + ", ".join(f"{s}: {n:,}" for s, n in sorted(statuses.items())) + " |")
        print(f"| version files (.info, .mod, .zip) fetched, and fetched again | "
              f"{files:,}, {again:,} |")
    if published:
        held = sum(1 for o in published if o.unserved)
        print(f"| published, retracted / deprecated / with a validation note / with held "
              f"members | {sum(o.retracted for o in published)} / "
              f"{sum(bool(o.deprecated) for o in published)} / "
              f"{sum(bool(o.validation_note) for o in published)} / {held} |")

    refusals = [o for o in outcomes if not o.root_published]
    print("\nEvery version not published, with its reason:\n")
    for o in refusals or []:
        state = o.state + (f" ({o.version_state})" if o.version_state else "")
        state = f"timed out in {state}" if o.timed_out else state
        print(f"- `{o.target.label}`: {state}: {scrub(o.reason)[:600]}")
    if not refusals:
        print("- none")
    waiting = [o for o in published if o.timed_out]
    if waiting:
        print("\nPublished, the request still open (members of the tree still on their way "
              "when the run ended):\n")
        for o in waiting:
            print(f"- `{o.target.label}`: {scrub(o.reason)[:300]}")
    held = [o for o in published if o.unserved]
    if held:
        print("\nPublished with held members:\n")
        for o in held:
            print(f"- `{o.target.label}`: " + "; ".join(
                f"{u['module']}@{u['version']} ({u.get('reason') or ''})"[:200]
                for u in o.unserved))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="module@version list")
    parser.add_argument("--limit", type=int, help="at most N versions")
    parser.add_argument("--spread", action="store_true",
                        help="take the N round-robin over the corpus's groups")
    parser.add_argument("--only", help="only versions whose module@version matches this regex")
    parser.add_argument("--concurrency", type=int, default=8, help="requests open at once")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds a version may take from request to a final state")
    parser.add_argument("--workers", type=int, default=2, help="Depot pipeline workers")
    parser.add_argument("--on-miss", default="fetch", choices=("404", "fetch", "enqueue"),
                        help="DEPOT_ON_MISS; fetch (default) is what `make run` serves; 404 "
                             "makes the consumer check see only what the requests published "
                             "(stricter: a pre-module version's imports resolved at 'latest' "
                             "then fail)")
    parser.add_argument("--deadline", type=float,
                        help="seconds for the whole run's requests: then nothing more is "
                             "asked, what is open counts as timed out, and the report is "
                             "made of what was asked")
    parser.add_argument("--no-check", action="store_true", help="skip the consumer checks")
    parser.add_argument("--check-timeout", type=float, default=900,
                        help="seconds one go command of a consumer check may take")
    parser.add_argument("--check-jobs", type=int, default=1, help="consumer checks at once")
    parser.add_argument("--max-commands", type=int, default=3,
                        help="commands (main packages) go install'ed per version")
    parser.add_argument("--no-relay", action="store_true",
                        help="let Depot reach the upstream directly (no request count)")
    parser.add_argument("--json", help="also write every outcome to this JSON file")
    parser.add_argument("--skip", nargs="+", metavar="JSON",
                        help="leave out the versions these runs' --json files saw to a "
                             "final state")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="run nothing: one report of these runs' --json files")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--check-corpus", action="store_true",
                        help="only ask the upstream whether every selected line exists")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.check_corpus:
        return check_corpus(args)
    if args.merge:
        return merge(args)
    return guarded_main(run, args, Processes(), "depot-bench-corpus-")


if __name__ == "__main__":
    sys.exit(main())

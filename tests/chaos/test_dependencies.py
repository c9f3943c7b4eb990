"""Issue 8, scenario 4: each dependency fails in turn while a bounded load runs.

One Depot under real gunicorn (fetch on a miss) reaches PostgreSQL, Redis and the
Elasticsearch node through relays the test cuts, keeps its store on a small tmpfs the
test fills, and fetches from a real HTTP upstream the test makes slow (10 s) or fail.
For each row a mixed load (GOPROXY files, lists, pages, search, the API, module
requests) runs while the dependency is away. What must hold, per row, is in
EXPECTED: what keeps serving, and what answers a clear 503 instead. Never a 500,
never a traceback in the log, and everything answers again once the dependency is
back, without a restart. The figures are printed for docs/reliability.md.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from app.config import Settings
from app.ingest import ingest
from app.migrate import upgrade
from app.resources import Services
from app.search.fallback import RETRY_AFTER
from tests.conftest import LiveServer, start_server
from tests.fixtures.counting_upstream import CountingUpstream, counting_upstream  # noqa: F401
from tests.fixtures.relay import Relay
from tests.fixtures.tmpfs import fill, small_tmpfs
from tests.skips import skip_or_fail

# Dependencies a relay can cut: PostgreSQL and Debian's redis-server, both over TCP.
pytestmark = [pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True),
              pytest.mark.parametrize("redis_url", ["redis-server"], indirect=True)]
# Seconds of load per row: 3 in `make test`; docs/reliability.md's table was measured with 6.
LOAD_SECONDS = float(os.environ.get("DEPOT_LOAD_SECONDS", "3"))
HTML = {"Accept": "text/html"}
ZIP = "/depot.test/chain/a/@v/v1.1.0.zip"


@dataclass(frozen=True)
class Probe:
    """One kind of request of the load, and how it is judged."""

    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    json: dict | None = None


PROBES = [
    Probe("goproxy zip", "GET", ZIP),
    Probe("goproxy mod", "GET", "/depot.test/chain/c/@v/v1.0.0.mod"),
    Probe("goproxy list", "GET", "/depot.test/chain/b/@v/list"),
    Probe("goproxy latest", "GET", "/depot.test/chain/b/@latest"),
    Probe("page", "GET", "/depot.test/chain/a", HTML),
    Probe("search", "GET", "/api/v1/search?q=chain"),
    # A new wish each time (a pending one is answered from the database alone): it must
    # reach the queue.
    Probe("request", "POST", "/api/v1/requests", json={"module": "depot.test/wish-{n}"}),
    # A module Depot does not hold: asked of the upstream each time (fetch mode).
    Probe("miss", "GET", "/depot.test/absent-{n}/@v/v1.0.0.info"),
]
# Published files must stay fast whatever the upstream does (seconds, generously).
FAST = ("goproxy zip", "goproxy mod")
FAST_LIMIT = 2.0
OK = {200, 202}
MISS = {404}  # the go command moves on to its next GOPROXY entry
# What each probe may answer while the dependency is away (anything else fails the test).
EXPECTED: dict[str, dict[str, set[int]]] = {
    "redis": {"request": {503}},
    "search node": {},  # the database search answers, with a notice
    "database": {"page": {503}, "request": {503}, "miss": {503}},  # search: the node alone
    "disk full": {},  # reads go on; a new version would fail to store (tests/ops)
    "upstream slow (10 s)": {},  # lists and @latest answer from Depot after one short wait
    "upstream 5xx": {},
}


@dataclass
class Outage:
    """Statuses seen per probe during one row, and the time the worst answer took."""

    row: str
    seen: dict[str, Counter] = field(default_factory=dict)
    slowest: dict[str, float] = field(default_factory=dict)

    def record(self, probe: str, status: int, seconds: float) -> None:
        self.seen.setdefault(probe, Counter())[status] += 1
        self.slowest[probe] = max(self.slowest.get(probe, 0.0), seconds)


def run_load(server: LiveServer, row: str, seconds: float = LOAD_SECONDS) -> Outage:
    """Four clients loop over the probes for ``seconds``; a request counts once answered."""
    outage = Outage(row)
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        i = offset
        with requests.Session() as session:
            while time.monotonic() < stop:
                probe = PROBES[i % len(PROBES)]
                i += 1
                began = time.monotonic()
                body = None
                if probe.json is not None:
                    body = {k: v.format(n=uuid.uuid4().hex[:12]) for k, v in probe.json.items()}
                path = probe.path.format(n=uuid.uuid4().hex[:12])
                try:
                    resp = session.request(probe.method, server.url + path,
                                           headers=probe.headers, json=body, timeout=30)
                    status = resp.status_code
                except requests.RequestException:
                    status = 0
                with lock:
                    outage.record(probe.name, status, time.monotonic() - began)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(client, range(4)))
    return outage


def judge(outage: Outage, expected: dict[str, set[int]]) -> list[str]:
    problems = []
    for probe in PROBES:
        allowed = expected.get(probe.name, MISS if probe.name == "miss" else OK)
        seen = outage.seen.get(probe.name, Counter())
        if not seen:
            problems.append(f"{outage.row}: {probe.name} was never answered")
        if probe.name in FAST and outage.slowest.get(probe.name, 0.0) > FAST_LIMIT:
            problems.append(f"{outage.row}: {probe.name} took "
                            f"{outage.slowest[probe.name]:.1f} s")
        for status, count in seen.items():
            if status not in allowed:
                problems.append(f"{outage.row}: {probe.name} answered {status} x{count}, "
                                f"expected {sorted(allowed)}")
    return problems


@pytest.fixture
def relays(queued_settings: Settings) -> Iterator[dict[str, Relay]]:
    import os

    node = os.environ.get("DEPOT_TEST_ELASTICSEARCH_URL", "")
    if not node:
        skip_or_fail("needs the search node `make test` starts (DEPOT_TEST_ELASTICSEARCH_URL)")
    found = {}
    for name, url in (("database", queued_settings.database_url),
                      ("redis", queued_settings.redis_url), ("search node", node)):
        parsed = urlparse(url)
        if not parsed.port:
            pytest.skip(f"{name} must be reached over TCP to be cut ({url.split('@')[-1]})")
        found[name] = Relay(parsed.hostname or "127.0.0.1", parsed.port).start()
    yield found
    for relay in found.values():
        relay.cut()


def _through(url: str, relay: Relay) -> str:
    parsed = urlparse(url)
    auth = parsed.netloc.rsplit("@", 1)[0] + "@" if "@" in parsed.netloc else ""
    return parsed._replace(netloc=f"{auth}127.0.0.1:{relay.port}").geturl()


@pytest.fixture
def tiny_store(queued_settings: Settings) -> Iterator[Path]:
    with small_tmpfs(Path(queued_settings.store_url.removeprefix("file://")), "8m") as root:
        yield root


def test_each_dependency_fails_in_turn_under_load(
    queued_settings: Settings, relays: dict[str, Relay], tiny_store: Path,
    counting_upstream: CountingUpstream, tmp_path: Path  # noqa: F811 (fixture)
) -> None:
    settings = replace(
        queued_settings,
        upstream=counting_upstream.url,
        on_miss="fetch",
        upstream_pause=3.0,
        request_limit=0,  # the load asks for modules faster than a person would
        database_url=_through(queued_settings.database_url, relays["database"]),
        redis_url=_through(queued_settings.redis_url, relays["redis"]),
        elasticsearch_url=_through("http://127.0.0.1", relays["search node"]),
        search_index=f"depot-chaos-{uuid.uuid4().hex[:10]}",
        search_timeout=1.0,
    )
    services = Services.from_settings(settings)
    upgrade(services.db.engine)
    assert ingest(services, "depot.test/chain/a", "v1.1.0", deps=True).ok
    services.db.dispose()
    server = start_server(settings, tmp_path)
    report: list[Outage] = []
    problems: list[str] = []
    try:
        baseline = run_load(server, "all up", 3.0)
        problems += judge(baseline, {})
        for row in EXPECTED:
            if row == "disk full":
                restore = fill(tiny_store)
            elif row.startswith("upstream slow"):
                counting_upstream.set_delay(10.0)
                restore = counting_upstream.clear_switches
            elif row == "upstream 5xx":
                counting_upstream.set_status(503)
                restore = counting_upstream.clear_switches
            else:
                relays[row].cut()
                restore = relays[row].restore
            outage = run_load(server, row)
            report.append(outage)
            problems += judge(outage, EXPECTED[row])
            restore()
            # A pool's broken connections are noticed at their next use; the upstream is
            # asked again once its pause is over, the search node once its back-off is
            # (until then search answers from the database, which the next row cuts).
            if row.startswith("upstream"):
                time.sleep(settings.upstream_pause + 0.5)
            elif row == "search node":
                time.sleep(RETRY_AFTER + 0.5)
            else:
                time.sleep(1.5)
            after = run_load(server, f"after {row}", 3.0)
            report.append(after)
            problems += judge(after, {})
    finally:
        server.stop()
    print("\n" + table([baseline, *report]))
    log = server.log.read_text()
    # An unhandled error is logged by Flask as "Exception on <path>" with its traceback.
    unhandled = [line for line in log.splitlines() if "Exception on " in line]
    assert not unhandled, "\n".join(unhandled[:20])
    assert not problems, "\n".join(problems)


def table(outages: list[Outage]) -> str:
    """Markdown for docs/reliability.md: the answers of each probe in each row."""
    head = "| row | " + " | ".join(p.name for p in PROBES) + " | slowest |"
    lines = [head, "|" + "---|" * (len(PROBES) + 2)]
    for o in outages:
        cells = [", ".join(f"{s}×{n}" for s, n in sorted(o.seen.get(p.name, {}).items()))
                 for p in PROBES]
        worst = max(o.slowest.values(), default=0.0)
        lines.append(f"| {o.row} | " + " | ".join(cells) + f" | {worst:.2f} s |")
    return "\n".join(lines)

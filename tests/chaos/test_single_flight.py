"""Issue 8, scenario 2: single flight across two web processes.

50 clients at once (plain HTTP and real `go mod download` clients, half to each
of two gunicorn masters) ask for one module Depot does not have, with
``DEPOT_ON_MISS=fetch``: the upstream must see exactly one download of the zip
and every client must get the upstream's bytes. Five rounds, five modules.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import requests

from app.config import Settings
from app.gomod.paths import escape_path, escape_version
from tests.chaos.pods import counting_upstream, sha256, start_pods  # noqa: F401 (fixture)
from tests.conftest import go_client_env, run_go
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.sumdb import SumDB

CLIENTS = 50
GO_CLIENTS = 4  # real go commands among the 50 (each is a process: the machine is small)
ROUNDS = [  # modules with no dependencies, so each round's zip count concerns one module
    ("depot.test/chain/c", "v1.0.0"),
    ("depot.test/MixedCase/Lib", "v1.2.0"),
    ("depot.test/major", "v1.0.0"),
    ("depot.test/major/v2", "v2.1.0"),
    ("depot.test/deprecated", "v1.0.0"),
]


def file_path(module: str, version: str, kind: str) -> str:
    return f"/{escape_path(module)}/@v/{escape_version(version)}.{kind}"


def http_client(base: str, module: str, version: str, start: threading.Barrier
                ) -> tuple[int, str]:
    start.wait()
    resp = requests.get(base + file_path(module, version, "zip"), timeout=600)
    return resp.status_code, sha256(resp.content)


def go_client(base: str, module: str, version: str, gosumdb: str, home: Path,
              start: threading.Barrier) -> tuple[int, str]:
    """`go mod download` with an empty module cache; the zip it kept, hashed."""
    env = go_client_env(home, base, gosumdb)
    start.wait()
    done = run_go(["mod", "download", "-json", f"{module}@{version}"], home / "work", env,
                  timeout=600)
    if done.returncode != 0:
        return done.returncode, done.stderr
    kept = home / "modcache" / "cache" / "download" / file_path(module, version, "zip")[1:]
    return 200, sha256(kept.read_bytes())


def test_fifty_clients_two_processes_one_upstream_fetch(
    settings: Settings, db_backend: str, sumdb: SumDB,
    counting_upstream: CountingUpstream, tmp_path: Path,  # noqa: F811 (fixture)
) -> None:
    fetching = replace(settings, upstream=counting_upstream.url, on_miss="fetch")
    pods = start_pods(fetching, tmp_path, db_backend)
    figures = []
    try:
        for n, (module, version) in enumerate(ROUNDS):
            want = sha256(counting_upstream.body_of(file_path(module, version, "zip")) or b"")
            start = threading.Barrier(CLIENTS)
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                futures = [
                    pool.submit(go_client, pods[i % 2].url, module, version, sumdb.gosumdb,
                                tmp_path / f"round{n}-go{i}", start)
                    if i < GO_CLIENTS else
                    pool.submit(http_client, pods[i % 2].url, module, version, start)
                    for i in range(CLIENTS)
                ]
                answers = [f.result() for f in futures]
            fetches = {kind: counting_upstream.count(file_path(module, version, kind))
                       for kind in ("info", "mod", "zip")}
            figures.append((module, version, fetches, answers))
            print(f"[{db_backend}] round {n + 1}: {module}@{version}: {CLIENTS} clients "
                  f"({GO_CLIENTS} go), upstream fetches {fetches}, "
                  f"statuses {sorted({s for s, _ in answers})}, "
                  f"distinct bodies {len({h for _, h in answers})}, "
                  f"equal to upstream {sum(h == want for _, h in answers)}")
            assert [s for s, _ in answers] == [200] * CLIENTS, answers
            assert {h for _, h in answers} == {want}
            assert fetches["zip"] == 1, counting_upstream.counts()
    finally:
        for pod in pods:
            pod.stop()
    logs = "".join(p.log.read_text(errors="replace") for p in pods)
    assert "Traceback" not in logs, logs[-4000:]

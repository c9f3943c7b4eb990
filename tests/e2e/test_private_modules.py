"""Private modules (DEPOT_PRIVATE) end to end: a company's git server (git http-backend
behind HTTP Basic, tests/fixtures/githost.py) holds modules under ``corp.test``; Depot's
workers fetch them with the real go command straight from it, with the credentials of a
mounted `.netrc`, beside public dependencies from the fixture upstream; the real go
client, with Depot as its only GOPROXY, builds a program that imports them.

Nothing about them reaches the public side: the upstream (an HTTP one, counting what it
is asked) never hears ``corp.test``, Depot's checksum-database passthrough refuses their
lookups, and only the company's own webhook hears of their publication."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from app.auth import tokens
from app.config import Settings
from app.ingest import ingest
from app.migrate import upgrade
from app.resources import Services
from tests.conftest import LiveServer, Workers, run_go, start_server
from tests.e2e.test_go_auth import NGINX, client, https_front
from tests.e2e.test_pipeline import WAIT
from tests.fixtures.counting_upstream import CountingUpstream, counting_upstream  # noqa: F401
from tests.fixtures.githost import HOST, GitHost, git_host
from tests.fixtures.receiver import Receiver, receiver  # noqa: F401 (fixture)
from tests.fixtures.sumdb import SumDB
from tests.fixtures.upstream import (
    LICENSE_TEXT,
    go_mod_text,
    go_source,
    greeting,
    write_consumer,
)

PUBLIC_DEP = "depot.test/chain/c"
# Anonymous callers never see private modules: the go client and the API carry tokens.
READER, REQUESTER = "depot_" + "r" * 43, "depot_" + "q" * 43
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx comes with `make test`")
LIB = f"{HOST}/lib"  # MIT, needs a public module
TOOL = f"{HOST}/tool"  # no license file at all: served only because private ones are exempt


def with_tokens(settings: Settings) -> Services:
    """A migrated Depot whose database trusts READER and REQUESTER (as `flask --app app
    tokens create` would make them, but with known values)."""
    svc = Services.from_settings(settings)
    upgrade(svc.db.engine)
    with svc.db.session() as session:
        for name, role, token in (("ci", "reader", READER), ("dev", "requester", REQUESTER)):
            row, _ = tokens.create(session, name, role)
            row.digest = tokens.digest(token)
    return svc


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def request_and_wait(server: LiveServer, module: str, version: str, workers: Workers) -> dict:
    resp = requests.post(f"{server.url}/api/v1/requests", json={"module": module,
                         "version": version}, headers=bearer(REQUESTER), timeout=30)
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + WAIT
    body: dict = {}
    while time.monotonic() < deadline:
        body = requests.get(server.url + resp.headers["Location"], headers=bearer(READER),
                            timeout=30).json()
        if body["state"] in ("published", "rejected", "failed"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"request stuck at {body}\n{workers.logs()[-6000:]}")


@contextmanager
def go_clients(server: LiveServer, folder: Path, gosumdb: str
               ) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """(a go client with the reader's token in its .netrc, one without), both with
    GONOSUMDB for the private paths as Set Me Up says, through an HTTPS front (the go
    command sends credentials only over HTTPS)."""
    with https_front(server, folder / "front") as (url, cert):
        envs = (client(folder / "reader", url, gosumdb, cert, READER),
                client(folder / "anonymous", url, gosumdb, cert, None))
        for env in envs:
            env["GONOSUMDB"] = HOST
        yield envs


@pytest.fixture
def company(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHost]:
    """The git server with two modules; Depot's processes (started after this) reach
    ``corp.test`` through it, as through a company's HTTP proxy."""
    with git_host(tmp_path / "git") as host:
        host.add_module("lib", {
            "go.mod": go_mod_text(LIB, {PUBLIC_DEP: "v1.0.0"}),
            "lib.go": go_source(LIB, "v1.0.0", {PUBLIC_DEP: "v1.0.0"}),
            "LICENSE": LICENSE_TEXT,
        }, "v1.0.0")
        host.add_module("tool", {
            "go.mod": go_mod_text(TOOL),
            "tool.go": go_source(TOOL, "v0.3.0", {}),
        }, "v0.3.0")
        for key, value in host.proxy_env().items():
            monkeypatch.setenv(key, value)
        yield host


def test_private_modules_come_from_their_repository_and_never_leave_the_company(
    company: GitHost, queued_settings: Settings,
    counting_upstream: CountingUpstream,  # noqa: F811 (fixture)
    sumdb: SumDB, receiver: Receiver, tmp_path: Path,  # noqa: F811 (fixture)
) -> None:
    settings = replace(
        queued_settings, upstream=counting_upstream.url, private=HOST, private_insecure=HOST,
        private_netrc=str(company.netrc(tmp_path / "mounted-netrc")),
        private_license="exempt", notify_webhooks=receiver.url("/outside"),
        private_webhooks=receiver.url("/inside"))
    svc = with_tokens(settings)
    server = start_server(settings, tmp_path)
    workers = Workers(settings, tmp_path, [])
    try:
        workers.start()
        for module, version in ((LIB, "v1.0.0"), (TOOL, "latest")):
            done = request_and_wait(server, module, version, workers)
            assert done["state"] == "published", (done, workers.logs()[-4000:])
        assert done["version"] == "v0.3.0"  # latest, asked of the repository itself

        # Served as any module: the go client, Depot its only proxy, builds against both.
        consumer = write_consumer(tmp_path / "consumer", {LIB: "v1.0.0", TOOL: "v0.3.0"})
        with go_clients(server, tmp_path, sumdb.gosumdb.split()[0]) as (reader, anonymous):
            built = run_go(["run", "."], consumer, reader)
            assert built.returncode == 0, built.stderr
            assert greeting(LIB, "v1.0.0") in built.stdout
            assert greeting(PUBLIC_DEP, "v1.0.0") in built.stdout
            refused = run_go(["mod", "download", f"{LIB}@v1.0.0"], consumer, anonymous)
            assert refused.returncode != 0 and "404" in refused.stderr, refused.stderr
        listed = requests.get(f"{server.url}/{LIB}/@v/list", headers=bearer(READER),
                              timeout=10)
        assert listed.text == "v1.0.0\n"
        # Without a token the private module is not there at all; the public one is.
        assert requests.get(f"{server.url}/{LIB}/@v/list", timeout=10).status_code == 404
        assert requests.get(f"{server.url}/{PUBLIC_DEP}/@v/v1.0.0.mod",
                            timeout=10).status_code == 200

        # Fetched with the mounted credentials: the repository was read as ci-bot only.
        reads = [s for s in company.seen if s.path.startswith("/git/") and s.status == 200]
        assert reads and {s.user for s in reads} == {company.user}
        # The public side never heard the name.
        assert not [p for p in counting_upstream.counts() if HOST in p]
        assert counting_upstream.count(f"/{PUBLIC_DEP}/@v/v1.0.0.mod") >= 1
        lookup = requests.get(f"{server.url}/sumdb/{settings.sumdb_name}/lookup/"
                              f"{LIB}@v1.0.0", timeout=10)
        assert lookup.status_code == 404 and "private" in lookup.text
        _wait_for_hooks(receiver, workers)
        outside = receiver.bodies("/outside")
        assert outside and HOST not in repr(outside)
        assert LIB in repr(receiver.bodies("/inside"))
    finally:
        workers.stop()
        server.stop()
        svc.db.dispose()


def _wait_for_hooks(receiver: Receiver, workers: Workers) -> None:  # noqa: F811
    """Until the inside webhook heard of the private library and the outside one of its
    public dependency (the notify jobs run after publication)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if (LIB in repr(receiver.bodies("/inside"))
                and PUBLIC_DEP in repr(receiver.bodies("/outside"))):
            return
        time.sleep(0.3)
    raise AssertionError(f"webhooks: {receiver.hits}\n{workers.logs()[-4000:]}")



def test_wrong_credentials_fail_the_request_with_git_s_reason_and_no_secret(
    company: GitHost, queued_settings: Settings, tmp_path: Path,
) -> None:
    netrc = tmp_path / "mounted-netrc"
    netrc.write_text(f"machine {HOST}\nlogin {company.user}\npassword not-the-password\n")
    settings = replace(queued_settings, private=HOST, private_insecure=HOST,
                       private_netrc=str(netrc))
    svc = with_tokens(settings)
    server = start_server(settings, tmp_path)
    workers = Workers(settings, tmp_path, [])
    try:
        workers.start()
        done = request_and_wait(server, LIB, "v1.0.0", workers)
        assert done["state"] in ("rejected", "failed"), done
        reason = done.get("reason") or ""
        assert "not-the-password" not in repr(done)
        assert "401" in reason or "uthentication" in reason or "prompts disabled" in reason, done
        assert [s for s in company.seen if s.status == 401]
    finally:
        workers.stop()
        server.stop()
        svc.db.dispose()


def test_a_go_client_s_miss_on_a_private_module_is_fetched_from_its_repository(
    company: GitHost, queued_settings: Settings,
    counting_upstream: CountingUpstream,  # noqa: F811 (fixture)
    sumdb: SumDB, tmp_path: Path,
) -> None:
    """DEPOT_ON_MISS=fetch: nobody requested the library; the client's miss is captured
    from the repository while the public dependency comes from the upstream."""
    settings = replace(
        queued_settings, upstream=counting_upstream.url, on_miss="fetch", private=HOST,
        private_insecure=HOST, private_netrc=str(company.netrc(tmp_path / "mounted-netrc")))
    svc = with_tokens(settings)
    server = start_server(settings, tmp_path)
    workers = Workers(settings, tmp_path, [])
    try:
        workers.start()
        consumer = write_consumer(tmp_path / "consumer", {LIB: "v1.0.0"})
        with go_clients(server, tmp_path, sumdb.gosumdb.split()[0]) as (reader, _):
            built = run_go(["run", "."], consumer, reader)
        assert built.returncode == 0, (built.stderr, workers.logs()[-4000:])
        assert greeting(LIB, "v1.0.0") in built.stdout
        assert [s for s in company.seen if s.path.startswith("/git/") and s.user]
        assert not [p for p in counting_upstream.counts() if HOST in p]
    finally:
        workers.stop()
        server.stop()
        svc.db.dispose()


REAL_LIB = f"{HOST}/uuidlib"
REAL_LIB_SOURCE = """package uuidlib

import "github.com/google/uuid"

// Length is how long a new UUID's text is, through the real github.com/google/uuid.
func Length() int { return len(uuid.NewString()) }
"""


@pytest.mark.network
@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_private_module_on_real_public_dependencies(
    company: GitHost, real_settings: Settings, tmp_path: Path,
) -> None:
    """The real upstream and checksum database beside the company's repository: the
    private module's public dependency is verified against sum.golang.org, the private
    one is not looked up there, and the real go client builds through Depot alone."""
    company.add_module("uuidlib", {
        "go.mod": "module corp.test/uuidlib\n\ngo 1.21\n\nrequire github.com/google/uuid v1.6.0\n",
        "uuidlib.go": REAL_LIB_SOURCE, "LICENSE": LICENSE_TEXT}, "v1.0.0")
    settings = replace(real_settings, private=HOST, private_insecure=HOST,
                       private_netrc=str(company.netrc(tmp_path / "mounted-netrc")))
    svc = with_tokens(settings)
    try:
        report = ingest(svc, REAL_LIB, "v1.0.0", deps=True)
        assert report.ok, report.outcomes
        assert {o.path for o in report.outcomes} >= {REAL_LIB, "github.com/google/uuid"}
        server = start_server(settings, tmp_path)
        try:
            consumer = tmp_path / "consumer"
            consumer.mkdir()
            (consumer / "go.mod").write_text(
                f"module example.com/consumer\n\ngo 1.21\n\nrequire {REAL_LIB} v1.0.0\n")
            (consumer / "main.go").write_text(
                f'package main\n\nimport (\n\t"fmt"\n\n\t"{REAL_LIB}"\n)\n\n'
                "func main() { fmt.Println(uuidlib.Length()) }\n")
            with go_clients(server, tmp_path, settings.gosumdb) as (reader, _):
                built = run_go(["run", "."], consumer, reader)
            assert built.returncode == 0, built.stderr
            assert built.stdout.strip() == "36"
            go_sum = (consumer / "go.sum").read_text()
            assert "github.com/google/uuid v1.6.0 h1:" in go_sum and REAL_LIB in go_sum
        finally:
            server.stop()
    finally:
        svc.db.dispose()

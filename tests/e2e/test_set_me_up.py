"""What Set Me Up tells a user to set, used as-is by the real go command.

Depot runs under its real web server on 127.0.0.1 in fetch mode over the local fixture
upstream, verifying against the fixture checksum database (its own name and key, never
the public one's). A consumer with an empty module cache takes GOPROXY and GOSUMDB
exactly as the page shows them: `go get` and `go mod verify` succeed, the checksum
lookups go through Depot's /sumdb/<name>/ passthrough, and a GOSUMDB with another key
for the same name is refused, so the verification is real. Offline: nothing but
127.0.0.1 and file:// is reached.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import replace
from pathlib import Path

import requests

from app.config import Settings
from tests.conftest import go_client_env, run_go, start_server
from tests.e2e.test_go_client import flask_cli, verifier_key
from tests.fixtures.sumdb import SumDB

SHOWN = re.compile(
    r'<code id="cmd-go-env">go env -w GOPROXY=(\S+)\ngo env -w GOSUMDB="([^"]+)"</code>')


def shown_settings(depot_url: str) -> tuple[str, str]:
    """GOPROXY and GOSUMDB from the page's `go env -w` line, as a reader copies them."""
    body = requests.get(f"{depot_url}/set-me-up", timeout=30).text
    match = SHOWN.search(body)
    assert match is not None, body[:3000]
    return html.unescape(match[1]), html.unescape(match[2])


def another_key(name: str) -> str:
    """A well-formed verifier key for ``name`` that is not the database's (note's format:
    name+hash+base64(algorithm byte 1 || Ed25519 public key))."""
    raw = b"\x01" + bytes(range(32))
    digest = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex()
    return f"{name}+{digest}+{base64.b64encode(raw).decode()}"


def test_go_verifies_through_depot_with_the_gosumdb_the_page_shows(
    settings: Settings, sumdb: SumDB, tmp_path: Path
):
    fetching = replace(settings, on_miss="fetch")
    assert flask_cli(fetching, "migrate").returncode == 0
    server = start_server(fetching, tmp_path)
    try:
        goproxy, gosumdb = shown_settings(server.url)
        name = settings.sumdb_name
        assert goproxy == server.url  # fetch mode: Depot alone
        assert gosumdb == f"{verifier_key(sumdb)} {server.url}/sumdb/{name}"

        consumer = tmp_path / "consumer"
        consumer.mkdir()
        (consumer / "go.mod").write_text("module example.test/consumer\n\ngo 1.21\n")
        env = go_client_env(tmp_path / "client", goproxy, gosumdb)
        got = run_go(["get", "depot.test/chain/a@v1.1.0"], consumer, env)
        assert got.returncode == 0, got.stderr
        sums = (consumer / "go.sum").read_text()
        assert "depot.test/chain/a v1.1.0 h1:" in sums and "depot.test/chain/c v1.0.0" in sums
        verify = run_go(["mod", "verify"], consumer, env)
        assert verify.returncode == 0 and "all modules verified" in verify.stdout
        log = server.log.read_text()
        assert re.search(rf"GET /sumdb/{re.escape(name)}/lookup/depot\.test/chain/a@v1\.1\.0 200",
                         log), log[-3000:]

        # The same database name with a key that is not its own: the go command refuses.
        wrong = f"{another_key(name)} {server.url}/sumdb/{name}"
        other_env = go_client_env(tmp_path / "client2", goproxy, wrong)
        refused = run_go(["mod", "download", "-json", "depot.test/chain/b@v1.0.0"],
                         tmp_path / "elsewhere", other_env)
        assert refused.returncode != 0, refused.stdout
        said = refused.stdout + refused.stderr
        assert "verifying go.mod" in said and "no verifiable signatures" in said, said
    finally:
        server.stop()

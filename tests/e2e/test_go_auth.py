"""The real go command against a Depot that lets nobody in without a token
(DEPOT_ANONYMOUS=none), behind HTTPS as a company runs it (nginx with a certificate
made here): the go command sends a ~/.netrc password only over HTTPS. With the token
there, `go get` and `go mod verify` work through the GOPROXY and the checksum
database passthrough; without it, or once it is revoked, the go command is refused and
says why. Offline: 127.0.0.1 and the file:// fixture upstream only."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import Settings
from tests.conftest import LiveServer, free_port, go_client_env, run_go, start_server
from tests.e2e.test_go_client import flask_cli, verifier_key
from tests.fixtures.nginx import find_nginx, nginx_conf, running_nginx
from tests.fixtures.sumdb import SumDB

NGINX = find_nginx()
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx comes with `make test`")


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the go client is told to trust it)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@contextmanager
def https_front(depot: LiveServer, folder: Path) -> Iterator[tuple[str, Path]]:
    """(https URL, certificate) of nginx passing everything to ``depot``."""
    assert NGINX is not None
    cert, key = certificate(folder / "tls")
    port = free_port()
    server = f"""    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass {depot.url};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}"""
    conf = nginx_conf(folder / "nginx", port, None, http_extra=server)
    url = f"https://127.0.0.1:{port}"
    with running_nginx(NGINX, conf, url + "/ping", verify=str(cert)):
        yield url, cert


def client(home: Path, url: str, gosumdb: str, cert: Path, token: str | None
           ) -> dict[str, str]:
    env = go_client_env(home, url, gosumdb)
    env["SSL_CERT_FILE"] = str(cert)
    home.mkdir(parents=True, exist_ok=True)
    if token is not None:
        netrc = home / ".netrc"
        # The go command matches a machine against the URL's host and port.
        machine = url.removeprefix("https://")
        netrc.write_text(f"machine {machine}\nlogin ci\npassword {token}\n")
        netrc.chmod(0o600)
    return env


def test_the_go_command_uses_a_token_from_netrc(settings: Settings, sumdb: SumDB,
                                                tmp_path: Path) -> None:
    closed = replace(settings, on_miss="fetch", anonymous="none")
    assert flask_cli(closed, "migrate").returncode == 0
    made = flask_cli(closed, "tokens", "create", "--role", "reader", "--name", "ci")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    depot = start_server(closed, tmp_path)
    try:
        with https_front(depot, tmp_path / "front") as (url, cert):
            gosumdb = f"{verifier_key(sumdb)} {url}/sumdb/{settings.sumdb_name}"
            consumer = tmp_path / "consumer"
            consumer.mkdir()
            (consumer / "go.mod").write_text("module example.test/consumer\n\ngo 1.21\n")

            nobody = client(tmp_path / "nobody", url, gosumdb, cert, None)
            refused = run_go(["get", "depot.test/chain/a@v1.1.0"], consumer, nobody)
            assert refused.returncode != 0
            assert "401" in refused.stderr and "token" in refused.stderr, refused.stderr

            ci = client(tmp_path / "ci", url, gosumdb, cert, token)
            got = run_go(["get", "depot.test/chain/a@v1.1.0"], consumer, ci)
            assert got.returncode == 0, got.stderr
            verify = run_go(["mod", "verify"], consumer, ci)
            assert verify.returncode == 0 and "all modules verified" in verify.stdout

        assert flask_cli(closed, "tokens", "revoke", "ci").returncode == 0
        log = depot.log.read_text()
        depot.stop()  # a fresh process trusts nothing it checked before the revocation
        (tmp_path / "again").mkdir()
        depot = start_server(closed, tmp_path / "again")
        with https_front(depot, tmp_path / "front-again") as (url, cert):
            gosumdb = f"{verifier_key(sumdb)} {url}/sumdb/{settings.sumdb_name}"
            later = client(tmp_path / "later", url, gosumdb, cert, token)
            gone = run_go(["mod", "download", "depot.test/chain/b@v1.0.0"], tmp_path / "x",
                          later)
            assert gone.returncode != 0 and "401" in gone.stderr, gone.stderr
        assert token not in log + depot.log.read_text()
    finally:
        depot.stop()

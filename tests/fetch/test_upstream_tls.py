"""The upstream session's shared TLS context still verifies every connection."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests

from app.fetch import upstream


class _Ok(BaseHTTPRequestHandler):
    # HTTP/1.0: the server closes each connection, so every request opens a new one.
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _server(folder: Path, names: str) -> Iterator[tuple[int, Path]]:
    """A server on 127.0.0.1 with a self-signed certificate for ``names`` (its
    subjectAltName); its port and the certificate (the bundle that trusts it)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=depot test", "-addext", f"subjectAltName={names}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = HTTPServer(("127.0.0.1", 0), _Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    with _server(tmp_path, "IP:127.0.0.1") as served:
        yield served


def test_a_certificate_nobody_trusts_is_refused(tls_server: tuple[int, Path]) -> None:
    port, _ = tls_server
    with pytest.raises(requests.exceptions.SSLError):
        upstream.new_session().get(f"https://127.0.0.1:{port}/", timeout=10)


def test_a_trusted_bundle_is_loaded_once_for_every_new_connection(
        tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    session = upstream.new_session()
    before = upstream._tls_context.cache_info()
    for _ in range(3):  # three connections: the server closes each one
        resp = session.get(f"https://127.0.0.1:{port}/", timeout=10, verify=str(cert))
        assert (resp.status_code, resp.content) == (200, b"ok")
    after = upstream._tls_context.cache_info()
    assert after.misses == before.misses + 1
    assert after.hits >= before.hits + 2


def test_the_shared_context_still_checks_the_host_name(tmp_path: Path) -> None:
    with _server(tmp_path, "DNS:depot.invalid") as (port, cert):
        session = upstream.new_session()
        with pytest.raises(requests.exceptions.SSLError, match="(?i)hostname|match"):
            session.get(f"https://127.0.0.1:{port}/", timeout=10, verify=str(cert))

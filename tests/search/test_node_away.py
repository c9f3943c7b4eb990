"""A search node of the test's own, stopped in the middle: the search page and the API go
on answering from the database search and say so, never with a 5xx, and use the node again
once it is back, without a restart."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import requests
from flask import Flask

from app.config import REPO_ROOT
from app.search.fallback import NOTICE
from tests.conftest import free_port, make_app
from tests.fixtures.catalog import CHAIN_C
from tests.portal.conftest import HTML
from tests.search.conftest import fresh_node, index_catalogue


@dataclass
class Node:
    url: str
    port: int
    data: Path
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        out = open(self.log, "ab")  # the child keeps writing to it
        self.process = subprocess.Popen(
            [str(REPO_ROOT / "scripts" / "search-node"), "--port", str(self.port),
             "--data", str(self.data), "--heap", "256m"],
            stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url, timeout=1).ok:
                    return
            except requests.RequestException:
                if self.process.poll() is not None:
                    break
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"search node did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def own_node(search_node_url: str, tmp_path: Path) -> Iterator[Node]:
    """Needs `make test`'s node only as a sign that Java and the jars are there."""
    port = free_port()
    node = Node(f"http://127.0.0.1:{port}", port, tmp_path / "node", tmp_path / "node.log")
    node.start()
    yield node
    node.stop()


def test_search_falls_back_to_the_database_while_the_node_is_away(
    catalog_app: Flask, own_node: Node
):
    backend = fresh_node(own_node.url)
    index_catalogue(catalog_app, backend)
    app = make_app(replace(catalog_app.extensions["depot"].settings,
                           elasticsearch_url=own_node.url, search_index=backend.alias,
                           search_timeout=1.0))
    client = app.test_client()

    def page() -> str:
        resp = client.get("/search?q=chain", headers=HTML)
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    def api() -> dict:
        resp = client.get("/api/v1/search?q=chain")
        assert resp.status_code == 200
        return resp.get_json()

    assert CHAIN_C in page() and "simpler database search" not in page()
    assert api()["notice"] == "" and api()["total"] == 3
    app.extensions["depot"].search.retry_after = 1.0  # the test need not wait 10 s

    own_node.stop()
    body = page()
    assert "simpler database search" in body and CHAIN_C in body  # answered, and says how
    assert api()["notice"] == NOTICE and api()["total"] == 3
    assert client.get("/search/suggest?q=depot.test/ch").status_code == 200
    assert client.get("/").status_code == 200

    own_node.start()  # same port, same data: the index is still there
    # A node just started recovers its shards after it answers (a search meanwhile: 503,
    # "all shards failed"), which on a loaded machine outlasted the test's wait: Depot is
    # asked once the index is back, so what is tested is Depot going back to it.
    health = requests.get(f"{own_node.url}/_cluster/health/{backend.alias}",
                          params={"wait_for_status": "yellow", "timeout": "90s"}, timeout=100)
    assert health.status_code == 200, health.text[:300]
    deadline = time.monotonic() + 20
    while True:
        time.sleep(1.2)  # the fallback's retry_after
        notice = api()["notice"]
        if notice == "" or time.monotonic() > deadline:
            break
    assert notice == "" and "simpler database search" not in page()
    app.extensions["depot"].db.dispose()


def test_a_node_that_never_answers_costs_one_timeout(catalog_app: Flask):
    """A socket that accepts connections and never replies stands for a hung node."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        app = make_app(replace(catalog_app.extensions["depot"].settings,
                               elasticsearch_url=f"http://127.0.0.1:{hung.getsockname()[1]}",
                               search_timeout=0.5))
        client = app.test_client()
        began = time.monotonic()
        first = client.get("/search?q=chain", headers=HTML)
        first_took = time.monotonic() - began
        assert first.status_code == 200 and CHAIN_C in first.get_data(as_text=True)
        assert "simpler database search" in first.get_data(as_text=True)
        began = time.monotonic()
        again = client.get("/api/v1/search?q=chain")
        assert again.status_code == 200 and again.get_json()["notice"] == NOTICE
        assert time.monotonic() - began < 0.4  # the node is left alone now: no second wait
        assert first_took < 5
    app.extensions["depot"].db.dispose()


def test_elasticsearch_marks_the_words_it_matched(catalog_app: Flask, search_node_url: str):
    """A typo's correction is marked on the results page, from the words the node matched."""
    backend = fresh_node(search_node_url)
    index_catalogue(catalog_app, backend)
    app = make_app(replace(catalog_app.extensions["depot"].settings,
                           elasticsearch_url=search_node_url, search_index=backend.alias))
    try:
        body = app.test_client().get("/search?q=widgest", headers=HTML).get_data(as_text=True)
        assert "depot-fixtures/<mark>widgets</mark>" in body
    finally:
        backend.drop()
        app.extensions["depot"].db.dispose()

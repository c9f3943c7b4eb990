"""Hostile input a client can send, on SQLite and PostgreSQL: oversize and deeply nested
bodies, huge or odd numbers in every id-shaped path segment and number-shaped query
parameter, and inputs that used to come back whole in their error. Each answer is a
4xx with a short reason, never a 500 (issue 19, defects 4 and 5)."""

from __future__ import annotations

import io
import sys
from urllib.parse import parse_qsl

import pytest
from flask import Flask

from app.inputs import MAX_ID, whole_number
from app.shorten import cut, quoted
from tests.fixtures.catalog import CHAIN_C, WIDGETS

HUGE_INTS = ("9223372036854775808", str(MAX_ID + 1), "9" * 5000)
ODD_NUMBERS = ("9223372036854775808", "9" * 5000, "²", "-1", "0", "1e3", " 1", "１")
POSTS = ("/api/v1/requests", f"/api/v1/modules/{CHAIN_C}/drift-checks")


def _call(app: Flask, method: str, path: str, body: io.BytesIO, length: int,
          content_type: str = "application/json") -> tuple[int, bytes]:
    """A WSGI call whose CONTENT_LENGTH may claim more than the body holds: a server must
    refuse it from the header, before reading."""
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": body,
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False, "wsgi.version": (1, 0), "CONTENT_LENGTH": str(length),
        "CONTENT_TYPE": content_type,
    }
    got: dict[str, str] = {}

    def start(status: str, headers: list, exc_info: object = None) -> None:
        got["status"] = status

    answer = app.wsgi_app(environ, start)
    try:
        data = b"".join(answer)
    finally:
        getattr(answer, "close", lambda: None)()
    return int(got["status"][:3]), data


@pytest.mark.parametrize("path", [*POSTS, "/request", "/drift-check"])
def test_an_oversize_body_is_refused_with_413_before_it_is_read(catalog_app: Flask,
                                                                path: str) -> None:
    body = io.BytesIO(b'{"module": "' + b"a" * 1000 + b'"}')
    claimed = 200 * 2**20  # a client announcing 200 MiB
    content_type = "application/json" if path.startswith("/api/") else \
        "application/x-www-form-urlencoded"
    status, data = _call(catalog_app, "POST", path, body, claimed, content_type)
    assert status == 413, (status, data[:300])
    assert body.tell() == 0  # not a byte of it was read
    assert len(data) < 4096 and b"at most 65,536 bytes" in data


@pytest.mark.parametrize("path", POSTS)
def test_deeply_nested_json_is_a_400(catalog_app: Flask, path: str) -> None:
    client = catalog_app.test_client()
    # Within DEPOT_MAX_BODY: the decoder's recursion, not the size, is what is refused.
    for nested in ("[" * 60_000, '{"a":' * 12_000, "[" * 30_000 + "]" * 30_000):
        resp = client.post(path, data=nested, content_type="application/json")
        assert resp.status_code == 400, (resp.status_code, resp.get_data()[:300])
        assert len(resp.get_data()) < 1024
    # The probe's 100,000 nested "[" are past the limit too.
    assert client.post(path, data="[" * 100_000,
                       content_type="application/json").status_code == 413


def test_errors_quote_a_short_escaped_prefix_of_the_input(catalog_app: Flask) -> None:
    client = catalog_app.test_client()
    huge = "example.com/" + "a" * 60_000
    for body in ({"module": huge, "version": "v1.0.0"},
                 {"module": "example.com/m", "version": "v1.0.0-" + "x" * 60_000},
                 {"module": "example.com/m", "version": "<script>" * 20}):
        resp = client.post("/api/v1/requests", json=body)
        assert resp.status_code == 400, resp.get_data()[:300]
        assert len(resp.get_data()) < 1024, len(resp.get_data())


def _id_rules(app: Flask) -> list[str]:
    """Every route with an <int:…> segment, as a path template."""
    return [rule.rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]


def test_every_id_segment_with_a_huge_number_is_a_404(catalog_app: Flask) -> None:
    client = catalog_app.test_client()
    rules = _id_rules(catalog_app)
    assert "/request/<int:request_id>" in rules and "/api/v1/requests/<int:request_id>" in rules
    for rule in rules:
        for number in HUGE_INTS:
            path = rule.split("<int:")[0] + number
            for method in ("GET", "HEAD"):
                resp = client.open(path, method=method)
                assert resp.status_code == 404, (method, path[:80], resp.status_code)


@pytest.mark.parametrize("path, name", [
    ("/search?q=widgets", "page"),
    (f"/{WIDGETS}?tab=usedby", "page"),
    (f"/{WIDGETS}?tab=graph", "depth"),
    (f"/api/v1/modules/{WIDGETS}/graph", "depth"),
    ("/api/v1/search?q=widgets", "page"),
    ("/api/v1/search?q=widgets", "per_page"),
])
def test_odd_numbers_in_query_parameters_are_a_400(catalog_app: Flask, path: str,
                                                   name: str) -> None:
    client = catalog_app.test_client()
    base, _, query = path.partition("?")
    args = dict(parse_qsl(query))
    assert client.get(base, query_string=args).status_code == 200
    for number in ODD_NUMBERS:
        resp = client.get(base, query_string={**args, name: number})
        assert resp.status_code == 400, (path, name, number[:20], resp.status_code)


def test_whole_number_takes_ascii_digits_within_bounds_only() -> None:
    assert whole_number("42", 1, 100) == 42
    for raw in ("", "0", "101", "²", "１", "-1", "1.0", " 1", "9" * 5000):
        assert whole_number(raw, 1, 100) is None, raw


def test_quoted_and_cut_keep_messages_short() -> None:
    assert quoted("abc") == "'abc'"
    long = quoted("x" * 10_000)
    assert len(long) < 120 and "10,000 characters" in long
    assert cut("word " * 200).endswith("word…") and len(cut("word " * 200)) <= 501

"""Static files: pages link fingerprinted names, served gzipped and cached for a year."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from app.portal.assets import YEAR, StaticFiles, fingerprinted_name, read_asset

HTML = {"Accept": "text/html"}
STATIC = Path(__file__).resolve().parents[2] / "static"


def _linked(page: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', page)


def test_names_keep_their_type_last() -> None:
    assert fingerprinted_name("depot.css", "abc") == "depot.abc.css"
    assert fingerprinted_name("vendor/htmx-2.0.11.min.js", "abc") == "vendor/htmx-2.0.11.min.abc.js"
    assert fingerprinted_name("LICENSE", "abc") == "LICENSE.abc"
    assert fingerprinted_name(".hidden", "abc") == ".hidden.abc"


def test_the_hash_follows_the_bytes(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("body { color: red }\n" * 50)
    first = read_asset(tmp_path, tmp_path / "a.css")
    (tmp_path / "a.css").write_text("body { color: blue }\n" * 50)
    second = read_asset(tmp_path, tmp_path / "a.css")
    assert first.fingerprinted != second.fingerprinted
    assert second.gzipped is not None and gzip.decompress(second.gzipped) == second.body
    # The same bytes give the same compressed bytes (one ETag across replicas and restarts).
    assert read_asset(tmp_path, tmp_path / "a.css").gzipped == second.gzipped


def test_a_file_gzip_would_not_shrink_is_sent_as_is(tmp_path: Path) -> None:
    (tmp_path / "tiny.css").write_text("a{}")
    (tmp_path / "x.bin").write_bytes(bytes(range(256)))
    assert read_asset(tmp_path, tmp_path / "tiny.css").gzipped is None
    assert read_asset(tmp_path, tmp_path / "x.bin").gzipped is None


def test_pages_link_every_static_file_by_its_fingerprint(catalog: FlaskClient) -> None:
    links = _linked(catalog.get("/", headers=HTML).get_data(as_text=True))
    files = StaticFiles(STATIC)
    assert len(links) >= 4
    for link in links:
        name = link.removeprefix("/static/")
        assert name in files.by_fingerprint, link


def test_a_fingerprinted_file_is_gzipped_and_immutable(catalog: FlaskClient) -> None:
    css = next(u for u in _linked(catalog.get("/", headers=HTML).get_data(as_text=True))
               if "/depot." in u and u.endswith(".css"))
    plain = (STATIC / "depot.css").read_bytes()
    resp = catalog.get(css, headers={"Accept-Encoding": "gzip, br"})
    assert resp.status_code == 200 and resp.mimetype == "text/css"
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Cache-Control"] == YEAR
    assert "Accept-Encoding" in resp.headers["Vary"]
    assert len(resp.data) < len(plain) / 3
    assert gzip.decompress(resp.data) == plain
    # No gzip asked for: the plain bytes, under another ETag.
    bare = catalog.get(css)
    assert bare.data == plain and "Content-Encoding" not in bare.headers
    assert bare.headers["ETag"] != resp.headers["ETag"]
    again = catalog.get(css, headers={"Accept-Encoding": "gzip",
                                      "If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_the_plain_name_still_answers_but_is_revalidated(catalog: FlaskClient) -> None:
    resp = catalog.get("/static/depot.js")
    assert resp.status_code == 200 and resp.data == (STATIC / "depot.js").read_bytes()
    assert resp.headers["Cache-Control"] == "no-cache" and resp.headers["ETag"]
    assert catalog.get("/static/depot.js", headers={
        "If-None-Match": resp.headers["ETag"]}).status_code == 304


def test_unknown_and_escaping_names_are_404(catalog: FlaskClient) -> None:
    for url in ("/static/nothing.css", "/static/nothing.000000000000.css",
                "/static/../app/config.py", "/static/%2e%2e/app/config.py"):
        assert catalog.get(url).status_code == 404, url


def test_a_stale_fingerprint_gets_todays_file_revalidated(catalog: FlaskClient) -> None:
    """A page from before an upgrade (or from a replica a rolling deploy has not reached)
    names other bytes: it keeps its styles, and nothing is cached for a year."""
    resp = catalog.get("/static/depot.000000000000.css")
    assert resp.status_code == 200 and resp.data == (STATIC / "depot.css").read_bytes()
    assert resp.headers["Cache-Control"] == "no-cache"
    old = catalog.get("/static/vendor/htmx-2.0.11.min.000000000000.js")
    assert old.status_code == 200 and old.headers["Cache-Control"] == "no-cache"


def test_a_range_of_a_static_file(catalog: FlaskClient) -> None:
    resp = catalog.get("/static/depot.css", headers={"Range": "bytes=0-9"})
    assert resp.status_code == 206 and resp.data == (STATIC / "depot.css").read_bytes()[:10]


def test_debug_mode_sees_an_edited_file(tmp_path: Path) -> None:
    from app.portal.assets import install

    (tmp_path / "s.css").write_text("a { color: red }\n")
    app = Flask(__name__, static_folder=None)
    app.debug = True
    install(app, tmp_path)
    with app.test_request_context():
        from flask import url_for

        before = url_for("static", filename="s.css")
        (tmp_path / "s.css").write_text("a { color: blue }\n")
        after = url_for("static", filename="s.css")
    assert before != after
    assert app.test_client().get(after).data == b"a { color: blue }\n"

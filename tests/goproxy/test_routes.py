"""The GOPROXY routes through Flask's test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from flask import Flask

from app.config import Settings
from app.fetch import upstream as upstream_lists
from app.gomod import versions
from app.ingest import ingest
from app.models import Module, ModuleVersion, VersionState
from app.pipeline.capture import get_module
from tests.conftest import (
    make_app,
    read_only_instance,
)
from tests.fixtures.sumdb import SumDB
from tests.fixtures.upstream import PSEUDO_VERSION, Upstream


def load(app: Flask) -> Flask:
    svc = app.extensions["depot"]
    for path, version in [
        ("depot.test/chain/a", "v1.1.0"),
        ("depot.test/MixedCase/Lib", "v1.2.0"),
        ("depot.test/pseudo", PSEUDO_VERSION),
        ("depot.test/legacy", "v2.0.0+incompatible"),
        ("depot.test/retract", "v1.0.0"),
        ("depot.test/retract", "v1.1.0"),
    ]:
        assert ingest(svc, path, version, deps=path.endswith("/a")).ok
    return app


loaded_settings, loaded, loaded_own = read_only_instance(load, "routes-loaded")


def test_info_mod_zip_are_the_upstream_bytes_with_immutable_caching(loaded: Flask, upstream):
    client = loaded.test_client()
    mod = upstream.module("depot.test/MixedCase/Lib", "v1.2.0")
    info = client.get("/depot.test/!mixed!case/!lib/@v/v1.2.0.info")
    # .info is what the toolchain recorded (not hash-verified, so go re-encodes it)
    assert json.loads(info.data) == json.loads(mod.info)
    for ext, body in ((".info", info.data), (".mod", mod.go_mod), (".zip", mod.zip_bytes())):
        resp = client.get(f"/depot.test/!mixed!case/!lib/@v/v1.2.0{ext}")
        assert resp.status_code == 200, resp.data
        assert resp.data == body
        assert resp.headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()}"'
        cc = resp.headers["Cache-Control"]
        assert "immutable" in cc and "max-age=31536000" in cc and "public" in cc
    assert client.get("/depot.test/!mixed!case/!lib/@v/v1.2.0.zip").mimetype == "application/zip"


def test_conditional_range_and_head(loaded: Flask, upstream):
    client = loaded.test_client()
    url = "/depot.test/chain/a/@v/v1.1.0.zip"
    body = upstream.module("depot.test/chain/a", "v1.1.0").zip_bytes()
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    part = client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == body[10:20]
    head = client.head(url)
    assert head.status_code == 200 and head.data == b""
    assert int(head.headers["Content-Length"]) == len(body)


def test_a_range_of_several_parts_gets_the_whole_file_not_416(loaded: Flask, upstream):
    """RFC 9110 lets a server ignore a Range header: one Depot would not answer with a
    single part (several ranges, another unit, bad syntax) gets the whole file, 200."""
    client = loaded.test_client()
    mod = upstream.module("depot.test/chain/a", "v1.1.0")
    url = "/depot.test/chain/a/@v/v1.1.0"
    zip_body = mod.zip_bytes()
    etag = client.get(url + ".zip").headers["ETag"]
    for ext, body in ((".zip", zip_body), (".mod", mod.go_mod)):
        for value in ("bytes=0-1,2-3", "bytes=0-9, 20-29, 5-6", "items=0-1", "bytes=9-2"):
            for extra in ({}, {"If-Range": etag}):
                resp = client.get(url + ext, headers={"Range": value, **extra})
                assert resp.status_code == 200, (ext, value, extra, resp.status_code)
                assert resp.data == body and int(resp.headers["Content-Length"]) == len(body)
                assert "Content-Range" not in resp.headers
                assert "immutable" in resp.headers["Cache-Control"] and resp.headers["ETag"]
    # One range keeps its 206 (under a matching If-Range too); past the end, 416.
    part = client.get(url + ".zip", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert part.status_code == 206 and part.data == zip_body[:2]
    stale = client.get(url + ".zip", headers={"Range": "bytes=0-1", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.data == zip_body
    past = client.get(url + ".zip", headers={"Range": f"bytes={len(zip_body)}-"})
    assert past.status_code == 416
    head = client.head(url + ".zip", headers={"Range": "bytes=0-1,2-3"})
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(zip_body)


def test_list_and_latest(loaded: Flask):
    client = loaded.test_client()
    resp = client.get("/depot.test/retract/@v/list")
    assert resp.status_code == 200 and resp.data == b"v1.0.0\nv1.1.0\n"
    assert "max-age=60" in resp.headers["Cache-Control"]
    assert "immutable" not in resp.headers["Cache-Control"]
    # pseudo-versions are never listed; @latest still finds them
    assert client.get("/depot.test/pseudo/@v/list").data == b""
    latest = client.get("/depot.test/pseudo/@latest")
    assert json.loads(latest.data)["Version"] == PSEUDO_VERSION
    assert json.loads(client.get("/depot.test/retract/@latest").data)["Version"] == "v1.1.0"
    assert client.get("/depot.test/legacy/@v/list").data == b"v2.0.0+incompatible\n"


def test_lists_and_latest_are_revalidated_by_etag(loaded: Flask):
    """What lets the chart's sidecar (and any proxy) keep them briefly and ask again
    cheaply: a strong ETag of the bytes, a 304 while they are the same."""
    client = loaded.test_client()
    for url in ("/depot.test/retract/@v/list", "/depot.test/retract/@latest"):
        first = client.get(url)
        etag = first.headers["ETag"]
        assert first.status_code == 200 and etag.startswith('"') and first.data
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == etag
        other = client.get(url, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.data == first.data


def test_miss_is_a_fast_404_with_a_reason(client):
    for url in (
        "/depot.test/unknown/@v/list",
        "/depot.test/unknown/@latest",
        "/depot.test/unknown/@v/v1.0.0.info",
        "/depot.test/unknown/@v/v1.0.0.zip",
    ):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert resp.mimetype == "text/plain"
        assert resp.data.count(b"\n") == 1 and b"depot.test/unknown" in resp.data


def test_refused_version_is_410_with_its_reason(loaded_own: Flask):
    svc = loaded_own.extensions["depot"]
    with svc.db.session() as s:
        module = s.query(Module).filter_by(path="depot.test/chain/a").one()
        s.add(ModuleVersion(module_id=module.id, version="v1.9.0", state=VersionState.rejected,
                            reason="license not redistributable: unknown"))
    resp = loaded_own.test_client().get("/depot.test/chain/a/@v/v1.9.0.info")
    assert resp.status_code == 410
    assert b"license not redistributable" in resp.data


BAD = [
    ("/depot.test/Chain/a/@v/list", 400),  # unescaped upper case
    ("/depot.test/!Chain/@v/list", 400),  # '!' before upper case
    ("/depot.test/chain!/@v/list", 400),  # trailing '!'
    ("/depot.test/!1chain/@v/list", 400),  # '!' before a digit
    ("/depot.test/../etc/@v/list", 400),
    ("/depot.test//x/@v/list", 400),
    ("/depot.test/x%00y/@v/list", 400),
    ("/nodot/x/@v/list", 400),
    ("/" + "a" * 10_000 + ".test/@v/list", 400),
    ("/depot.test/chain/a/@v/v1.1.info", 404),  # non-canonical
    ("/depot.test/chain/a/@v/master.zip", 404),
    ("/depot.test/chain/a/@v/v1.1.0.exe", 404),  # garbage after @v/
    ("/depot.test/chain/a/@v/v1.1.0", 404),
    ("/depot.test/chain/a/@v/", 404),
    ("/depot.test/chain/a/@v/.info", 400),  # empty version
    ("/depot.test/chain/a/@v/V1.1.0.info", 400),  # bad version escape
    ("/depot.test/chain/a/@v/v1.1.0%00.info", 400),
    ("/depot.test/chain/a/@v/v2.0.0.info", 404),  # wrong major for the path
    ("/depot.test/chain/a/@v/list/extra", 404),
    ("/@v/list", 404),
    ("/sumdb/nonexistent/supported", 404),
]


def test_bad_input_gets_a_clear_4xx(loaded: Flask):
    """Every case on one loaded instance (one per case cost 2.5 s of ingest each)."""
    client, wrong = loaded.test_client(), []
    for url, status in BAD:
        resp = client.get(url)
        if resp.status_code != status or not resp.data.strip():  # a reason is given
            wrong.append((url[:80], status, resp.status_code, resp.data[:200]))
    assert wrong == []


def test_accel_redirect_hands_zips_to_the_front_proxy(settings: Settings):
    app = make_app(replace(settings, accel_redirect="/_store/"))
    svc = app.extensions["depot"]
    assert ingest(svc, "depot.test/chain/c", "v1.0.0").ok
    resp = app.test_client().get("/depot.test/chain/c/@v/v1.0.0.zip")
    assert resp.status_code == 200
    assert resp.headers["X-Accel-Redirect"] == "/_store/depot.test/chain/c/@v/v1.0.0.zip"
    assert resp.data == b""
    assert "immutable" in resp.headers["Cache-Control"]
    # .info and .mod are small: served directly
    assert "X-Accel-Redirect" not in app.test_client().get(
        "/depot.test/chain/c/@v/v1.0.0.info").headers
    svc.db.dispose()


def test_fetch_policy_ingests_on_a_miss(settings: Settings, upstream: Upstream):
    app = make_app(replace(settings, on_miss="fetch"))
    client = app.test_client()
    listed = client.get("/depot.test/retract/@v/list")
    assert listed.data == b"v1.0.0\nv1.0.1\nv1.1.0\n"  # the upstream's list, offered
    resp = client.get("/depot.test/chain/b/@v/v1.0.0.zip")
    assert resp.status_code == 200
    assert resp.data == upstream.module("depot.test/chain/b", "v1.0.0").zip_bytes()
    latest = client.get("/depot.test/MixedCase/!lib/@latest")
    assert latest.status_code == 400  # bad escape still refused before any fetch
    latest = client.get("/depot.test/!mixed!case/!lib/@latest")
    assert json.loads(latest.data)["Version"] == "v1.2.0"
    missing = client.get("/depot.test/nope/@v/v1.0.0.info")
    assert missing.status_code == 404 and b"depot.test/nope" in missing.data
    app.extensions["depot"].db.dispose()


def test_a_huge_upstream_list_is_cut_and_sorted_once(settings: Settings, tmp_path: Path):
    """Issue 19: a 300,000-line upstream list cost 40 s of CPU on every @v/list."""
    root = tmp_path / "huge-upstream"
    (root / "depot.test/huge/@v").mkdir(parents=True)
    (root / "depot.test/huge/@v/list").write_text(
        "".join(f"v1.0.{n}\n" for n in range(300_000, 0, -1)))
    app = make_app(replace(settings, on_miss="fetch", upstream=root.as_uri(), gosumdb="off"))
    svc = app.extensions["depot"]
    with svc.db.session() as session:  # Depot's own: one the upstream list lacks, one refused
        module = get_module(session, "depot.test/huge").id
        session.add(ModuleVersion(module_id=module, version="v1.0.1",
                                  state=VersionState.published, published_at=datetime.now(UTC),
                                  is_pseudo=False, redistributable=True))
        session.add(ModuleVersion(module_id=module, version="v1.0.299999",
                                  state=VersionState.rejected))
    client = app.test_client()
    began = time.monotonic()
    first = client.get("/depot.test/huge/@v/list")
    # Generous for a slow CI machine (3.1-3.2 s on one whose suite took 23 minutes); the
    # list was 40 s of CPU before.
    assert time.monotonic() - began < 8.0 and first.status_code == 200
    began = time.monotonic()
    again = client.get("/depot.test/huge/@v/list")
    assert time.monotonic() - began < 0.2 and again.data == first.data
    listed = first.get_data(as_text=True).splitlines()
    assert listed == versions.sort_versions(set(listed))
    assert listed[0] == "v1.0.1" and listed[-1] == "v1.0.300000"  # the file's first lines
    assert "v1.0.299999" not in listed and "v1.0.299998" in listed
    assert 50_000 < len(listed) < 300_000
    assert len(first.data) <= upstream_lists.LIST_MAX_BYTES + len("v1.0.1\n")
    svc.db.dispose()


def test_sumdb_passthrough_and_cache(settings: Settings, sumdb: SumDB, upstream: Upstream):
    app = make_app(settings)  # DEPOT_GOSUMDB is the fixture database ("key url")
    client = app.test_client()
    name = settings.sumdb_name
    assert name == "depot.test.sumdb"
    assert client.get(f"/sumdb/{name}/supported").status_code == 200
    assert client.get("/sumdb/sum.example/supported").status_code == 404
    lookup = "lookup/depot.test/!mixed!case/!lib@v1.2.0"
    direct = requests.get(f"{sumdb.url}/{lookup}", timeout=10)
    resp = client.get(f"/sumdb/{name}/{lookup}")
    assert resp.status_code == 200 and resp.data == direct.content
    assert b"h1:" in resp.data
    latest = client.get(f"/sumdb/{name}/latest")
    assert latest.status_code == 200 and "max-age=60" in latest.headers["Cache-Control"]
    size = int(latest.data.decode().splitlines()[1])  # the signed tree's record count
    tile = f"tile/8/0/000.p/{size}"
    assert client.get(f"/sumdb/{name}/{tile}").data == requests.get(
        f"{sumdb.url}/{tile}", timeout=10).content
    assert (settings.data_dir / "sumdb-cache" / name / tile).is_file()
    assert client.get(f"/sumdb/{name}/../../etc/passwd").status_code == 404
    assert client.get(f"/sumdb/{name}/lookup/depot.test/nope@v1.0.0").status_code == 404
    app.extensions["depot"].db.dispose()


def test_drift_keeps_serving_the_captured_bytes(settings: Settings, fresh_upstream: Upstream):
    """The upstream re-tags after capture: Depot records drift and serves the original."""
    from app.models import Drift
    from tests.fixtures.upstream import module_files, retag

    app = make_app(replace(settings, upstream=fresh_upstream.url, gosumdb="off"))
    svc = app.extensions["depot"]
    original = fresh_upstream.module("depot.test/chain/b", "v1.0.0").zip_bytes()
    assert ingest(svc, "depot.test/chain/b", "v1.0.0", deps=True).ok
    files = module_files("depot.test/chain/b", "v1.0.0", {"depot.test/chain/c": "v1.0.0"})
    retag(fresh_upstream.root, "depot.test/chain/b", "v1.0.0", files | {"new.go": b"package b\n"})
    assert [o.status for o in ingest(svc, "depot.test/chain/b", "v1.0.0", refetch=True).outcomes
            ] == ["drift"]
    served = app.test_client().get("/depot.test/chain/b/@v/v1.0.0.zip")
    assert served.status_code == 200 and served.data == original
    with svc.db.session() as s:
        assert s.query(Drift).count() == 1
    svc.db.dispose()


@pytest.mark.parametrize("accel", ["", "/_store/"])
def test_fast_path_answers_like_the_app(settings: Settings, accel: str):
    """The first request goes through Flask and fills the cache; the next ones take the
    WSGI fast path. Both must answer the same bytes and headers."""
    app = make_app(replace(settings, accel_redirect=accel))
    svc = app.extensions["depot"]
    assert ingest(svc, "depot.test/MixedCase/Lib", "v1.2.0").ok
    client = app.test_client()
    for kind in ("info", "mod", "zip"):
        url = f"/depot.test/!mixed!case/!lib/@v/v1.2.0.{kind}"
        assert app.extensions["depot"].published.cached("depot.test/MixedCase/Lib", "v1.2.0") \
            is None or kind != "info"
        first, second = client.get(url), client.get(url)
        assert (first.status_code, first.data) == (second.status_code, second.data)
        for header in ("ETag", "Cache-Control", "Content-Type", "Content-Length",
                       "X-Accel-Redirect", "Content-Disposition"):
            assert first.headers.get(header) == second.headers.get(header), (kind, header)
        head = client.head(url)
        assert head.data == b"" and head.headers["Content-Length"] == second.headers[
            "Content-Length"]
    assert app.extensions["depot"].published.cached("depot.test/MixedCase/Lib", "v1.2.0")
    svc.db.dispose()


def test_a_version_is_served_from_one_look_at_its_state_and_files(loaded: Flask):
    """A member the workers published in the moment between a look at the published
    files and a separate read of its state was once a 404 "not in Depot" (a CI failure
    of tests/e2e/test_pipeline.py). State and files are now read in one query, so no
    moment lies between them: a version not yet in memory is served after one look."""
    files = loaded.extensions["depot"].published
    real_look, calls = files.look, []

    def counted(module: str, version: str):  # type: ignore[no-untyped-def]
        calls.append((module, version))
        return real_look(module, version)

    files.look = counted
    resp = loaded.test_client().get("/depot.test/chain/a/@v/v1.1.0.mod")
    assert resp.status_code == 200, resp.data
    assert calls == [("depot.test/chain/a", "v1.1.0")]


def test_sumdb_files_the_pipeline_read_are_served_without_asking_again(
    settings: Settings, sumdb: SumDB, upstream: Upstream
):
    """A fetch-mode miss is captured by `go mod download`, which reads the version's
    lookup and tiles a moment before the client asks Depot for the same files: they are
    answered from what the go command kept, even with the database away."""
    app = make_app(settings)
    assert ingest(app.extensions["depot"], "depot.test/MixedCase/Lib", "v1.2.0").ok
    app.extensions["depot"].db.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    key = settings.gosumdb.split()[0]  # the same database, now unreachable
    away = make_app(replace(settings, gosumdb=f"{key} http://127.0.0.1:{closed}"))
    name = settings.sumdb_name
    lookup = "lookup/depot.test/!mixed!case/!lib@v1.2.0"
    resp = away.test_client().get(f"/sumdb/{name}/{lookup}")
    assert resp.status_code == 200, resp.data
    assert resp.data == requests.get(f"{sumdb.url}/{lookup}", timeout=10).content
    assert "immutable" in resp.headers["Cache-Control"] or "max-age=31536000" in \
        resp.headers["Cache-Control"]
    unread = "lookup/depot.test/chain/c@v1.0.0"  # never read by the pipeline: asked, fails
    assert away.test_client().get(f"/sumdb/{name}/{unread}").status_code == 503
    away.extensions["depot"].db.dispose()


@pytest.mark.parametrize("holder", ["depot", "toolchain"])
def test_a_partial_tile_is_cut_from_the_full_tile_held(
    settings: Settings, sumdb: SumDB, holder: str
):
    """A client whose lookups carry an older tree size asks for a partial tile that
    Depot (or its go commands) holds only whole: it is answered with the full tile's
    first hashes, without asking the database (away here), as the go command's own
    checksum client reads its cache. tests/e2e/test_network.py checks the prefix
    against the real database's partial tiles."""
    from app.fetch.gotool import checksum_cache

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    key = settings.gosumdb.split()[0]
    away = replace(settings, gosumdb=f"{key} http://127.0.0.1:{closed}")
    name = away.sumdb_name
    root = (away.data_dir / "sumdb-cache" / name if holder == "depot"
            else checksum_cache(away.checksum_tiles, away.gosumdb) / "tiles" / name)
    full = bytes(range(256)) * 32  # 256 hashes of 32 bytes
    (root / "tile/8/1").mkdir(parents=True)
    (root / "tile/8/1/007").write_bytes(full)
    (root / "tile/8/0/x001").mkdir(parents=True)
    (root / "tile/8/0/x001/002").write_bytes(full[:-32])  # not a whole tile: never cut
    app = make_app(away)
    try:
        client = app.test_client()
        resp = client.get(f"/sumdb/{name}/tile/8/1/007.p/5")
        assert resp.status_code == 200, resp.data
        assert resp.data == full[:5 * 32]
        assert client.get(f"/sumdb/{name}/tile/8/1/007.p/256").status_code == 503
        assert client.get(f"/sumdb/{name}/tile/8/0/x001/002.p/3").status_code == 503
        assert client.get(f"/sumdb/{name}/tile/8/data/007.p/5").status_code == 503
    finally:
        app.extensions["depot"].db.dispose()


def test_a_local_file_leaves_flask_in_large_pieces(settings: Settings) -> None:
    """Under a server without a file wrapper of its own (granian) werkzeug's reads 8 KB
    at a time; a local file (here one a graph load opened) goes out 128 KB at a time.
    An object store's stream keeps its own pieces (tests/goproxy/test_s3_zips.py)."""
    from app.goproxy import routes
    from app.goproxy.published import ServedFile

    body = os.urandom(300_000)
    served = ServedFile(hashlib.sha256(body).hexdigest(), len(body), None, None,
                        opened=io.BytesIO(body))
    app = make_app(settings)
    try:
        with app.test_request_context("/depot.test/pieces/@v/v1.0.0.zip"):
            resp = routes._serve("depot.test/pieces", "v1.0.0", "zip", served)
            pieces = list(resp.response)
            resp.close()
    finally:
        app.extensions["depot"].db.dispose()
    assert b"".join(pieces) == body
    assert max(map(len, pieces)) == 128 * 1024

"""Published zips in an S3 store (the real S3-API server of `make test`), both ways:
``DEPOT_S3_ZIPS=stream`` relays the object a piece at a time, ``redirect`` answers a
302 to a presigned URL on the S3 server. Either way a download is counted once."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from app.config import Settings
from app.ingest import ingest
from app.store.s3 import S3Store
from tests.conftest import make_app, with_settings
from tests.fixtures.s3 import create_bucket
from tests.fixtures.upstream import FixtureModule, Upstream, module_files, write_module

MODULE = "depot.test/chain/c"
ZIP = f"/{MODULE}/@v/v1.0.0.zip"


def s3_app(settings: Settings, endpoint: str, zips: str) -> Flask:
    bucket = create_bucket(endpoint)
    return make_app(with_settings(settings, store_url=f"s3://{bucket}/proxy", s3_endpoint=endpoint,
                                  s3_zips=zips))


@pytest.fixture(params=["stream", "redirect"])
def app_on_s3(request: pytest.FixtureRequest, settings: Settings, s3_env: str
              ) -> Iterator[Flask]:
    application = s3_app(settings, s3_env, request.param)
    svc = application.extensions["depot"]
    assert isinstance(svc.store, S3Store)
    assert ingest(svc, MODULE, "v1.0.0").ok
    yield application
    svc.store.close()
    svc.db.dispose()


def downloads(app: Flask) -> int:
    app.extensions["depot"].downloads.flush()
    from sqlalchemy import select

    from app.models import Module

    with app.extensions["depot"].db.session() as session:
        return session.scalar(select(Module.downloads).where(Module.path == MODULE))


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_zips_on_s3_are_served_and_counted(app_on_s3: Flask, s3_env: str):
    svc = app_on_s3.extensions["depot"]
    stored = svc.store.read_bytes(MODULE, "v1.0.0", "zip")
    mode = svc.settings.s3_zips
    client = app_on_s3.test_client()
    head = client.head(ZIP)  # Flask's route, before the fast path knows the version
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(stored)
    for _ in range(2):  # Flask's route first, then the fast path (which knows the version)
        got = client.get(ZIP)
        if mode == "redirect":
            assert got.status_code == 302
            location = got.headers["Location"]
            assert location.startswith(f"{s3_env}/{svc.store.bucket}/proxy/depot.test/chain/c/")
            assert "no-store" in got.headers["Cache-Control"]
            fetched = requests.get(location, timeout=10)
            assert fetched.status_code == 200 and fetched.content == stored
        else:
            assert got.status_code == 200 and got.data == stored
            assert got.headers["ETag"] == f'"{hashlib.sha256(stored).hexdigest()}"'
    head = client.head(ZIP)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(stored)
    etag = f'"{hashlib.sha256(stored).hexdigest()}"'
    assert client.get(ZIP, headers={"If-None-Match": etag}).status_code == 304
    ranged = client.get(ZIP, headers={"Range": "bytes=10-29"})
    if mode == "redirect":
        assert ranged.status_code == 302
        part = requests.get(ranged.headers["Location"], headers={"Range": "bytes=10-29"},
                            timeout=10)
        assert part.status_code == 206 and part.content == stored[10:30]
    else:
        assert ranged.status_code == 206 and ranged.data == stored[10:30]
    assert client.get(f"/{MODULE}/@v/v1.0.0.mod").status_code == 200
    assert downloads(app_on_s3) == 2


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_stream_mode_relays_pieces_never_the_whole_object(
    settings: Settings, s3_env: str, fresh_upstream: Upstream
):
    """A zip of many pieces leaves the app as pieces read from S3 one after the other."""
    big = "depot.test/big"
    files = module_files(big, "v1.0.0") | {"testdata/noise.bin": os.urandom(800_000)}
    write_module(fresh_upstream.root, FixtureModule(big, "v1.0.0", files))
    # Not in the fixture checksum database (it is this test's own module): no sumdb here.
    own = with_settings(settings, upstream=fresh_upstream.url, gosumdb="off")
    application = s3_app(own, s3_env, "stream")
    svc = application.extensions["depot"]
    try:
        done = ingest(svc, big, "v1.0.0")
        assert done.ok, done
        stored = svc.store.read_bytes(big, "v1.0.0", "zip")
        assert len(stored) > 800_000
        got = application.test_client().get(f"/{big}/@v/v1.0.0.zip", buffered=False)
        assert got.status_code == 200 and got.content_length == len(stored)
        pieces = list(got.response)
        got.close()
        assert b"".join(pieces) == stored
        assert max(len(p) for p in pieces) <= 64 * 1024
        assert len(pieces) >= len(stored) // (64 * 1024)
    finally:
        svc.store.close()
        svc.db.dispose()

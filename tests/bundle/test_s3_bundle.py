"""A Depot whose store is an S3 bucket (the real S3-API server of the tests) makes the
same bundle: the files come through the store interface, not a local tree."""

from __future__ import annotations

import tarfile
from pathlib import Path

from app.config import Settings
from tests.bundle.test_bundle import CHAIN, TOP, VERSION, build_consumer, sums_ok, unpack
from tests.conftest import make_app, with_settings
from tests.fixtures.s3 import create_bucket


def test_bundle_from_an_s3_store(settings: Settings, s3_env: str, tmp_path: Path):
    bucket = create_bucket(s3_env)
    app = make_app(with_settings(settings, store_url=f"s3://{bucket}/go", s3_endpoint=s3_env))
    try:
        runner = app.test_cli_runner()
        done = runner.invoke(args=["ingest", f"{TOP}@{VERSION}", "--deps"])
        assert done.exit_code == 0, done.output
        out = tmp_path / "s3.tar.gz"
        done = runner.invoke(args=["bundle", f"{TOP}@{VERSION}", "-o", str(out)])
        assert done.exit_code == 0, done.output
    finally:
        app.extensions["depot"].db.dispose()
    with tarfile.open(out) as tar:
        zips = {n.split("/goproxy/")[1].split("/@v/")[0] for n in tar.getnames()
                if n.endswith(".zip")}
    assert zips == CHAIN
    top = unpack(out, tmp_path / "unpacked")
    sums_ok(top)
    code, err, _ = build_consumer(tmp_path / "go", top)
    assert code == 0, err

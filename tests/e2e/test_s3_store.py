"""Depot on an S3 store (the real S3-API server of `make test`) with the real `go` command.

The CLI ingests a module with dependencies: the processor stores it in the bucket, the
validator's clean-room build reads it back through the store's read-through mirror. Then
a go client with an empty module cache builds through Depot's GOPROXY, checksums verified
by the fixture checksum database, with zips redirected to presigned URLs on the S3 server
or streamed by Depot.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest
import requests

from app.config import Settings
from tests.conftest import go_client_env, run_go, start_server, with_settings
from tests.e2e.test_go_client import flask_cli, verifier_key
from tests.fixtures.s3 import create_bucket, s3_credentials
from tests.fixtures.sumdb import SumDB
from tests.fixtures.upstream import greeting, write_consumer

REQUIRES = {"depot.test/chain/a": "v1.1.0", "depot.test/MixedCase/Lib": "v1.2.0"}
EXPECTED = [
    greeting("depot.test/MixedCase/Lib", "v1.2.0"),
    " <- ".join([greeting("depot.test/chain/a", "v1.1.0"), greeting("depot.test/chain/b", "v1.0.0"),
                 greeting("depot.test/chain/c", "v1.0.0")]),
]
ZIP = "/depot.test/chain/c/@v/v1.0.0.zip"


def bucket_keys(endpoint: str, bucket: str) -> set[str]:
    creds = s3_credentials()
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"])
    listed = client.list_objects_v2(Bucket=bucket)
    return {obj["Key"] for obj in listed.get("Contents", [])}


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("zips", ["redirect", "stream"])
def test_go_client_through_depot_on_s3(
    settings: Settings, sumdb: SumDB, s3_env: str, tmp_path: Path, zips: str
):
    bucket = create_bucket(s3_env)
    on_s3 = with_settings(settings, store_url=f"s3://{bucket}/go", s3_endpoint=s3_env,
                          s3_zips=zips)
    assert flask_cli(on_s3, "migrate").returncode == 0
    for path, version in REQUIRES.items():
        done = flask_cli(on_s3, "ingest", f"{path}@{version}", "--deps")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "published" in done.stdout, done.stdout + done.stderr

    keys = bucket_keys(s3_env, bucket)
    for name in ("a/@v/v1.1.0.zip", "b/@v/v1.0.0.mod", "c/@v/v1.0.0.info", "a/@v/list"):
        assert f"go/depot.test/chain/{name}" in keys, sorted(keys)
    assert "go/depot.test/!mixed!case/!lib/@v/v1.2.0.zip" in keys
    assert not (on_s3.data_dir / "store").exists()  # no filesystem store on the side
    # The validator's clean room read the store through the mirror, which kept its copies.
    mirror = on_s3.data_dir / "s3" / "mirror" / "depot.test" / "chain"
    assert (mirror / "c" / "@v" / "v1.0.0.zip").exists()
    assert (mirror / "a" / "@v" / "v1.1.0.mod").exists()

    server = start_server(on_s3, tmp_path)
    try:
        first = requests.get(server.url + ZIP, allow_redirects=False, timeout=30)
        if zips == "redirect":
            assert first.status_code == 302, first.text
            location = first.headers["Location"]
            assert location.startswith(f"{s3_env}/{bucket}/go/depot.test/chain/c/")
            body = requests.get(location, timeout=30)
            assert body.status_code == 200
            data = body.content
        else:
            assert first.status_code == 200 and "Location" not in first.headers
            assert int(first.headers["Content-Length"]) == len(first.content)
            data = first.content
        head = requests.head(server.url + ZIP, timeout=30)
        assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(data)
        assert head.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'

        consumer = write_consumer(tmp_path / "consumer", REQUIRES)
        env = go_client_env(tmp_path / "client", server.url, verifier_key(sumdb))
        built = run_go(["run", "."], consumer, env)
        assert built.returncode == 0, built.stderr
        assert built.stdout.splitlines() == EXPECTED
        verify = run_go(["mod", "verify"], consumer, env)
        assert verify.returncode == 0 and "all modules verified" in verify.stdout
        go_sum = (consumer / "go.sum").read_text()
        assert "depot.test/chain/c v1.0.0 h1:" in go_sum
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()

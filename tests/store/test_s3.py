"""What is particular to the S3 store, on the real S3-API server of `make test`: writers in
separate processes, multipart uploads, the sha256 metadata, presigned URLs, the
HEAD-then-put path for servers without conditional writes, and the toolchain's mirror."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from app.config import Settings
from app.store import ArtifactMissing, ImmutableConflict, open_store
from app.store.s3 import S3Options, S3Store
from tests.fixtures.s3 import fresh_s3_store

MOD = "depot.test/MixedCase/Lib"
MIB = 1 << 20


@pytest.fixture
def store(s3_env: str, tmp_path: Path) -> Iterator[S3Store]:
    found = fresh_s3_store(tmp_path, prefix="depot")
    yield found
    found.close()


def _write_in_process(bucket: str, endpoint: str, cache_dir: str, i: int, start, out) -> None:  # type: ignore[no-untyped-def]
    store = S3Store(bucket, "depot", S3Options(endpoint=endpoint), Path(cache_dir))
    start.wait()
    try:
        store.put_bytes(MOD, "v3.0.0", "zip", f"process {i}".encode() * 5000)
        out.put(f"won {i}")
    except ImmutableConflict:
        out.put("refused")


def test_writers_in_separate_processes_one_wins(store: S3Store, s3_env: str) -> None:
    """Eight processes (eight clients, as eight workers of one pod) race for one key."""
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_write_in_process,
                         args=(store.bucket, s3_env, str(store.cache_dir), i, start, out))
             for i in range(8)]
    for p in procs:
        p.start()
    start.set()
    outcomes = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1 and outcomes.count("refused") == 7, outcomes
    i = int(winners[0].split()[1])
    assert store.read_bytes(MOD, "v3.0.0", "zip") == f"process {i}".encode() * 5000


def test_big_files_go_up_in_parts_and_appear_whole(s3_env: str, tmp_path: Path) -> None:
    store = fresh_s3_store(tmp_path, multipart_threshold=5 * MIB, part_size=5 * MIB)
    src = tmp_path / "big.zip"
    data = os.urandom(12 * MIB + 123)
    src.write_bytes(data)
    calls: list[str] = []
    store.client.meta.events.register(
        "before-call.s3", lambda model, **_: calls.append(model.name))
    result = store.put_file(MOD, "v1.0.0", "zip", src)
    assert result.created and result.size == len(data)
    assert calls.count("UploadPart") == 3 and calls.count("CompleteMultipartUpload") == 1
    assert "PutObject" not in calls
    head = store.client.head_object(Bucket=store.bucket, Key=result.key)
    assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert store.read_bytes(MOD, "v1.0.0", "zip") == data
    # Again: a no-op that uploads nothing; other bytes: refused, the first kept.
    calls.clear()
    assert not store.put_file(MOD, "v1.0.0", "zip", src).created
    assert calls == ["HeadObject"]
    other = tmp_path / "other.zip"
    other.write_bytes(os.urandom(6 * MIB))
    with pytest.raises(ImmutableConflict):
        store.put_file(MOD, "v1.0.0", "zip", other)
    assert store.read_bytes(MOD, "v1.0.0", "zip") == data
    assert not store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads")
    store.close()


def test_the_sha256_travels_as_object_metadata(store: S3Store) -> None:
    result = store.put_bytes(MOD, "v1.0.0", "mod", b"module depot.test/MixedCase/Lib\n")
    assert result.key == "depot.test/!mixed!case/!lib/@v/v1.0.0.mod"
    head = store.client.head_object(Bucket=store.bucket, Key="depot/" + result.key)
    assert head["Metadata"] == {"sha256": result.sha256}
    assert head["ContentType"].startswith("text/plain")
    assert store.stored_sha256(MOD, "v1.0.0", "mod") == result.sha256


def test_objects_without_metadata_are_compared_by_their_bytes(store: S3Store) -> None:
    """A file another tool uploaded (no sha256 metadata) is hashed to settle a put."""
    key = "depot/depot.test/!mixed!case/!lib/@v/v1.0.0.info"
    store.client.put_object(Bucket=store.bucket, Key=key, Body=b'{"Version":"v1.0.0"}')
    assert not store.put_bytes(MOD, "v1.0.0", "info", b'{"Version":"v1.0.0"}').created
    with pytest.raises(ImmutableConflict):
        store.put_bytes(MOD, "v1.0.0", "info", b'{"Version":"v1.0.1"}')


def test_head_then_put_when_the_server_lacks_conditional_writes(store: S3Store) -> None:
    store._conditional = False  # as after a server answered NotImplemented to If-None-Match
    assert store.put_bytes(MOD, "v1.0.0", "zip", b"first").created
    assert not store.put_bytes(MOD, "v1.0.0", "zip", b"first").created
    with pytest.raises(ImmutableConflict):
        store.put_bytes(MOD, "v1.0.0", "zip", b"second")
    assert store.read_bytes(MOD, "v1.0.0", "zip") == b"first"


def test_presigned_urls_are_signed_and_short_lived(store: S3Store, s3_env: str) -> None:
    store.put_bytes(MOD, "v1.0.0", "zip", b"zip bytes")
    url = store.presigned_url(MOD, "v1.0.0", "zip", expires=60)
    assert url and url.startswith(f"{s3_env}/{store.bucket}/depot/")
    assert "X-Amz-Expires=60" in url
    assert requests.get(url, timeout=10).content == b"zip bytes"
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert requests.get(tampered, timeout=10).status_code == 403
    unsigned = requests.get(url.split("?", 1)[0], timeout=10)
    assert unsigned.status_code in (403, 404) and unsigned.content != b"zip bytes"


def test_the_mirror_reads_through_and_keeps_immutable_files(store: S3Store) -> None:
    store.put_bytes(MOD, "v1.0.0", "mod", b"module depot.test/MixedCase/Lib\n")
    store.set_list(MOD, ["v1.0.0"])
    url = store.goproxy_url()
    assert url and url.startswith("http://127.0.0.1:")
    base = f"{url}/depot.test/!mixed!case/!lib/@v"
    got = requests.get(f"{base}/v1.0.0.mod", timeout=10)
    assert got.status_code == 200 and got.content == b"module depot.test/MixedCase/Lib\n"
    kept = store.cache_dir / "mirror" / "depot.test/!mixed!case/!lib/@v/v1.0.0.mod"
    assert kept.read_bytes() == got.content
    assert requests.get(f"{base}/v9.9.9.mod", timeout=10).status_code == 404
    store.set_list(MOD, ["v1.0.0", "v1.1.0"])  # the list is read anew every time
    assert requests.get(f"{base}/list", timeout=10).content == b"v1.0.0\nv1.1.0\n"
    for bad in ("/../../etc/passwd/@v/list", "/depot.test/x/@v/v1.0.0.exe", "/"):
        assert requests.get(url + bad, timeout=10).status_code == 404
    assert not list((store.cache_dir / "mirror" / ".tmp").iterdir())


def test_missing_objects(store: S3Store) -> None:
    assert store.stat(MOD, "v0.0.1", "mod") is None
    assert store.stored_sha256(MOD, "v0.0.1", "mod") is None
    with pytest.raises(ArtifactMissing):
        store.read_bytes(MOD, "v0.0.1", "mod")


def test_store_urls_and_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = open_store("s3://my-bucket/some/prefix/", s3=S3Options(endpoint="http://x:1"))
    assert isinstance(found, S3Store)
    assert (found.bucket, found.prefix) == ("my-bucket", "some/prefix")
    for bad in ("s3://", "s3://key:secret@bucket/x"):
        with pytest.raises(Exception, match="s3://bucket"):
            open_store(bad)
    secret = "never-shown-" + os.urandom(8).hex()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    settings = Settings.from_env({
        "DEPOT_DATA_DIR": str(tmp_path), "DEPOT_GO": "go", "DEPOT_UPSTREAM": "off",
        "DEPOT_GOSUMDB": "off", "DEPOT_STORE": "s3://depot-artifacts/go",
        "DEPOT_S3_ENDPOINT": "http://127.0.0.1:9000", "DEPOT_S3_ZIPS": "redirect",
    })
    shown = f"{settings.summary()} {settings!r}"
    assert secret not in shown
    assert settings.summary()["s3"] == "http://127.0.0.1:9000 region=- zips=redirect"
    with pytest.raises(ValueError, match="DEPOT_S3_ZIPS"):
        Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path), "DEPOT_GO": "go",
                           "DEPOT_UPSTREAM": "off", "DEPOT_GOSUMDB": "off",
                           "DEPOT_S3_ZIPS": "teleport"})


def test_check_names_a_missing_bucket_and_an_unreachable_server(
    s3_env: str, tmp_path: Path
) -> None:
    import time

    from app.store import StoreError
    from tests.conftest import free_port

    missing = S3Store("depot-no-such-bucket", "", S3Options(endpoint=s3_env), tmp_path / "a")
    with pytest.raises(StoreError, match="bucket depot-no-such-bucket"):
        missing.check()
    gone = S3Store("depot-any", "", S3Options(endpoint=f"http://127.0.0.1:{free_port()}"),
                   tmp_path / "b")
    began = time.monotonic()
    with pytest.raises(StoreError, match="bucket depot-any"):
        gone.check()
    assert time.monotonic() - began < 10  # readiness must not hang on a dead store

"""The contract every artifact-store backend passes: the filesystem, and S3 on the real
S3-API server `make test` starts (scripts/s3-server; a fresh bucket per test)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.store import ArtifactMissing, ArtifactStore, FilesystemStore, ImmutableConflict
from tests.fixtures.s3 import fresh_s3_store

BACKENDS: dict[str, Callable[[Path], ArtifactStore]] = {
    "filesystem": lambda tmp: FilesystemStore(tmp / "store"),
    "s3": lambda tmp: fresh_s3_store(tmp, prefix="depot/artifacts"),
}
# Backends that need a server, and the fixture that provides it.
NEEDS = {"s3": "s3_env"}

MOD = "depot.test/MixedCase/Lib"
VER = "v1.2.0"


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    if request.param in NEEDS:
        request.getfixturevalue(NEEDS[request.param])
    backend = BACKENDS[request.param](tmp_path)
    yield backend
    backend.close()


def test_put_then_read_back(store: ArtifactStore) -> None:
    result = store.put_bytes(MOD, VER, "mod", b"module depot.test/MixedCase/Lib\n")
    assert result.created
    assert result.sha256 == hashlib.sha256(b"module depot.test/MixedCase/Lib\n").hexdigest()
    assert result.key == "depot.test/!mixed!case/!lib/@v/v1.2.0.mod"
    assert store.read_bytes(MOD, VER, "mod") == b"module depot.test/MixedCase/Lib\n"
    stat = store.stat(MOD, VER, "mod")
    assert stat is not None and stat.size == len(b"module depot.test/MixedCase/Lib\n")


def test_put_file_streams_large_files(store: ArtifactStore, tmp_path: Path) -> None:
    src = tmp_path / "big.zip"
    data = bytes(range(256)) * (5 * 4096 + 7)  # a few MiB, not a multiple of the chunk
    src.write_bytes(data)
    result = store.put_file(MOD, VER, "zip", src)
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    with store.open(MOD, VER, "zip") as fh:
        assert fh.read() == data


def test_same_bytes_again_is_a_no_op(store: ArtifactStore) -> None:
    store.put_bytes(MOD, VER, "info", b'{"Version":"v1.2.0"}')
    again = store.put_bytes(MOD, VER, "info", b'{"Version":"v1.2.0"}')
    assert not again.created


def test_different_bytes_are_refused_and_the_first_kept(store: ArtifactStore) -> None:
    store.put_bytes(MOD, VER, "zip", b"first")
    with pytest.raises(ImmutableConflict) as err:
        store.put_bytes(MOD, VER, "zip", b"second")
    assert err.value.stored_sha256 == hashlib.sha256(b"first").hexdigest()
    assert err.value.offered_sha256 == hashlib.sha256(b"second").hexdigest()
    assert store.read_bytes(MOD, VER, "zip") == b"first"


def test_concurrent_writers_of_different_bytes_one_wins(store: ArtifactStore) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            store.put_bytes(MOD, "v9.9.9", "zip", f"writer {i}".encode() * 1000)
            outcomes.append(f"won {i}")
        except ImmutableConflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1 and outcomes.count("refused") == 7
    i = int(winners[0].split()[1])
    assert store.read_bytes(MOD, "v9.9.9", "zip") == f"writer {i}".encode() * 1000


def test_missing_file(store: ArtifactStore) -> None:
    assert store.stat(MOD, "v0.0.1", "zip") is None
    with pytest.raises(ArtifactMissing):
        store.open(MOD, "v0.0.1", "zip")


def test_list_is_replaced_whole(store: ArtifactStore) -> None:
    store.set_list(MOD, ["v1.0.0"])
    store.set_list(MOD, ["v1.0.0", "v1.2.0"])
    url = store.goproxy_url()
    assert url is not None
    if url.startswith("file://"):
        path = Path(url.removeprefix("file://")) / "depot.test/!mixed!case/!lib/@v/list"
        assert path.read_text() == "v1.0.0\nv1.2.0\n"
    else:  # a read-through GOPROXY in front of the store: the list is never cached
        import requests

        listed = requests.get(url + "/depot.test/!mixed!case/!lib/@v/list", timeout=10)
        assert listed.status_code == 200 and listed.text == "v1.0.0\nv1.2.0\n"


def test_the_list_reads_back_without_a_database(store: ArtifactStore) -> None:
    assert store.read_list(MOD) is None
    store.set_list(MOD, ["v1.0.0", "v1.2.0"])
    assert store.read_list(MOD) == ["v1.0.0", "v1.2.0"]
    store.set_list(MOD, [])
    assert store.read_list(MOD) == []


def test_keys_list_every_file_and_list_but_no_temporary_file(store: ArtifactStore) -> None:
    assert list(store.iter_keys()) == []
    store.put_bytes(MOD, VER, "mod", b"module depot.test/MixedCase/Lib\n")
    store.put_bytes(MOD, VER, "zip", b"zip bytes")
    store.put_bytes("depot.test/other", "v0.1.0", "info", b"{}")
    store.set_list(MOD, [VER])
    keys = {o.key: o.size for o in store.iter_keys()}
    assert keys == {
        "depot.test/!mixed!case/!lib/@v/v1.2.0.mod": len(b"module depot.test/MixedCase/Lib\n"),
        "depot.test/!mixed!case/!lib/@v/v1.2.0.zip": len(b"zip bytes"),
        "depot.test/!mixed!case/!lib/@v/list": len(b"v1.2.0\n"),
        "depot.test/other/@v/v0.1.0.info": 2,
    }
    with store.open_key("depot.test/!mixed!case/!lib/@v/v1.2.0.zip") as fh:
        assert fh.read() == b"zip bytes"
    assert store.leftovers() == []


def test_check_says_the_store_can_be_used(store: ArtifactStore) -> None:
    assert isinstance(store.check(), str)


def test_unknown_kind_is_refused(store: ArtifactStore) -> None:
    with pytest.raises(ValueError):
        store.put_bytes(MOD, VER, "exe", b"x")


def test_filesystem_never_shows_a_partial_file(tmp_path: Path) -> None:
    """Writes land in .tmp/ and appear under their name only whole."""
    store = FilesystemStore(tmp_path / "store")
    seen_partial = []
    data = b"z" * (3 << 20)
    target = tmp_path / "store" / "depot.test/!mixed!case/!lib/@v/v1.2.0.zip"
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if target.exists() and target.stat().st_size not in (0, len(data)):
                seen_partial.append(target.stat().st_size)
            if target.exists() and target.stat().st_size == 0:
                seen_partial.append(0)

    t = threading.Thread(target=watch)
    t.start()
    store.put_bytes(MOD, VER, "zip", data)
    stop.set()
    t.join()
    assert seen_partial == []
    assert list((tmp_path / "store" / ".tmp").iterdir()) == []


def test_filesystem_leftovers_are_listed_and_removable(tmp_path: Path) -> None:
    """What a writer killed mid-put leaves in .tmp/: never a key, listed, removable."""
    store = FilesystemStore(tmp_path / "store")
    (tmp_path / "store" / ".tmp" / "abc123").write_bytes(b"half a zip")
    assert [o.key for o in store.iter_keys()] == []
    [left] = store.leftovers()
    assert (left.name, left.size) == ("abc123", len(b"half a zip")) and left.age >= 0
    assert store.remove_leftover("abc123")
    assert not store.remove_leftover("abc123")
    assert store.leftovers() == []
    with pytest.raises(ValueError):
        store.remove_leftover("../escape")
